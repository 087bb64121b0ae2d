CREATE TABLE brands (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    province    char(6)     NOT NULL,
    category    text        NOT NULL,
    version     integer     NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT brands_name_unique_in_province UNIQUE (province, name)
);
