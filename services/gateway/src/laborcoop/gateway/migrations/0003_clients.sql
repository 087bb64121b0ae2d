-- The OAuth clients of provincial systems (laborcoop.gateway.identity): created, rotated and
-- disabled by `laborcoop-gateway clients …`, authenticated by POST /v1/oauth/token. Secrets are
-- kept only as argon2id hashes; the previous one authenticates until its deadline after a
-- rotation. Read by id only (the list pages by the primary key).
CREATE TABLE clients (
    id                          uuid        PRIMARY KEY,
    name                        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    province                    char(6)     CHECK (province ~ '^[0-9]{6}$'),
    roles                       text[]      NOT NULL CHECK (cardinality(roles) > 0),
    secret_hash                 text        NOT NULL,
    previous_secret_hash        text,
    previous_secret_expires_at  timestamptz,
    disabled_at                 timestamptz,
    version                     integer     NOT NULL,
    created_at                  timestamptz NOT NULL,
    updated_at                  timestamptz NOT NULL,
    CONSTRAINT clients_previous_secret_has_deadline
        CHECK ((previous_secret_hash IS NULL) = (previous_secret_expires_at IS NULL)),
    CONSTRAINT clients_province_role_names_province
        CHECK (province IS NOT NULL OR NOT ('province' = ANY (roles)))
);
