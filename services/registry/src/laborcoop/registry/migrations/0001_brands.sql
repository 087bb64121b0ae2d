-- The register of labour brands. One row per brand; `version` counts its changes.
CREATE TABLE brands (
    id                uuid        PRIMARY KEY,
    province          char(6)     NOT NULL,
    name              text        NOT NULL,
    city_code         char(6),
    category          text        NOT NULL,
    ownership         text,
    occupations       text[]      NOT NULL DEFAULT '{}',
    industry_section  char(1),
    industry_division char(2),
    description       text,
    operator          text,
    development_stage text,
    status            text        NOT NULL,
    level             text,
    suspended_by      text,
    version           integer     NOT NULL CHECK (version > 0),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT brands_name_unique_in_province UNIQUE (province, name)
);
CREATE INDEX brands_status ON brands (status, id);
CREATE INDEX brands_category ON brands (category, id);
CREATE INDEX brands_occupations ON brands USING gin (occupations);

-- Indicator reports: the current report of each period, and every revision of it.
CREATE TABLE brand_indicators (
    brand_id    uuid        NOT NULL REFERENCES brands (id),
    period      text        NOT NULL,
    revision    integer     NOT NULL,
    figures     jsonb       NOT NULL,
    source      text,
    reported_at timestamptz NOT NULL,
    PRIMARY KEY (brand_id, period, revision)
);
