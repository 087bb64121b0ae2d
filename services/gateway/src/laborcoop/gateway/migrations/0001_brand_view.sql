-- The gateway's read model of brands, projected from the registry's events.
CREATE TABLE brand_view (
    brand_id    uuid        PRIMARY KEY,
    name        text        NOT NULL,
    province    char(6)     NOT NULL,
    category    text        NOT NULL,
    status      text        NOT NULL,
    level       text,
    version     integer     NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX brand_view_province ON brand_view (province, brand_id);
