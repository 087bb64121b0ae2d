-- The other filters of the gateway's GET /v1/brands in cursor order (filter, then brand_id),
-- beside brand_view_province of 0001: see repository.brands_query.
CREATE INDEX brand_view_category ON brand_view (category, brand_id);
CREATE INDEX brand_view_status ON brand_view (status, brand_id);
CREATE INDEX brand_view_level ON brand_view (level, brand_id);
