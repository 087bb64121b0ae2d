-- The list filters of GET /v1/brands in cursor order (filter, then id), beside those of 0001
-- (status, category, and the GIN index of occupations). `q` (a substring of the name) has no
-- index: see repository.search_query.
CREATE INDEX brands_province ON brands (province, id);
CREATE INDEX brands_level ON brands (level, id);
