-- Worker records, kept by their origin province. Personal data is stored sealed only (AES-256-GCM,
-- `<key id>:<nonce and ciphertext>`, see laborcoop.placements.protection): `name`, `resident_id`,
-- `phone`, `poverty_alleviation`. `id_index` is the blind index (HMAC-SHA256) of the ID number:
-- one record per person, found without opening anything. `sealed_with` is the key id of the
-- row's sealed values, for `rotate-keys`.
CREATE TABLE workers (
    id                  uuid        PRIMARY KEY,
    origin              char(6)     NOT NULL,
    county              char(6)     NOT NULL,
    sex                 text        NOT NULL,
    birth_year          integer     NOT NULL,
    name                text        NOT NULL,
    resident_id         text        NOT NULL,
    phone               text        NOT NULL,
    poverty_alleviation text        NOT NULL,
    id_index            bytea       NOT NULL,
    education           text        NOT NULL,
    occupations         text[]      NOT NULL,
    certificates        jsonb       NOT NULL DEFAULT '[]',
    brand_id            uuid,
    wage_min            integer,
    wage_max            integer,
    availability        text        NOT NULL,
    consents            jsonb       NOT NULL DEFAULT '[]',
    sealed_with         text        NOT NULL,
    version             integer     NOT NULL CHECK (version > 0),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT workers_one_record_per_person UNIQUE (id_index)
);
-- List filters, in cursor order (a province lists only its own workers).
CREATE INDEX workers_origin ON workers (origin, id);
CREATE INDEX workers_origin_availability ON workers (origin, availability, id);
CREATE INDEX workers_origin_brand ON workers (origin, brand_id, id);
CREATE INDEX workers_occupations ON workers USING gin (occupations);
-- What `rotate-keys` looks for: rows not yet under the current key.
CREATE INDEX workers_sealed_with ON workers (sealed_with, id);

-- Every read of personal data in the clear (PIPL Art. 51): who, which worker, which fields,
-- when and why. The worker's origin province reads it (GET /v1/workers/{id}/reads).
CREATE TABLE personal_data_reads (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker_id  uuid        NOT NULL,
    origin     char(6)     NOT NULL,
    client_id  text        NOT NULL,
    province   char(6),
    fields     text[]      NOT NULL,
    purpose    text        NOT NULL,
    read_at    timestamptz NOT NULL
);
CREATE INDEX personal_data_reads_worker ON personal_data_reads (worker_id, id);

-- One canary per key id ever used: a known value sealed with that key, so that start-up proves
-- each configured key opens what it sealed before (a wrong key refuses to serve).
CREATE TABLE personal_data_keys (
    key_id     text        PRIMARY KEY,
    canary     text        NOT NULL,
    created_at timestamptz NOT NULL
);

-- This service's copy of the registry's brands (a worker's brand must be one of its province's).
CREATE TABLE brand_copy (
    brand_id   uuid        PRIMARY KEY,
    name       text        NOT NULL,
    province   char(6)     NOT NULL,
    status     text        NOT NULL,
    version    integer     NOT NULL,
    updated_at timestamptz NOT NULL
);
