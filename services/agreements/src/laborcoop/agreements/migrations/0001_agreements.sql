-- Cooperation agreements. `terms` holds the revision in force (or the draft); the columns beside
-- it are copies of the terms kept for filtering. `amendment` is a revision under signature;
-- `signatures` belong to the proposal or the revision in force, `amendment_signatures` to it.
CREATE TABLE agreements (
    id             uuid        PRIMARY KEY,
    status         text        NOT NULL,
    revision       integer     NOT NULL,
    terms          jsonb       NOT NULL,
    amendment      jsonb,
    signatures     jsonb       NOT NULL DEFAULT '{}',
    amendment_signatures jsonb NOT NULL DEFAULT '{}',
    ever_proposed  boolean     NOT NULL DEFAULT false,
    initiator      char(6)     NOT NULL,
    kind           text        NOT NULL,
    parties        text[]      NOT NULL,
    areas          text[]      NOT NULL,
    linked_brands  uuid[]      NOT NULL,
    corridors      text[]      NOT NULL,
    effective_from date        NOT NULL,
    effective_to   date,
    version        integer     NOT NULL CHECK (version > 0),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX agreements_status ON agreements (status, id);
CREATE INDEX agreements_parties ON agreements USING gin (parties);
CREATE INDEX agreements_areas ON agreements USING gin (areas);
CREATE INDEX agreements_brands ON agreements USING gin (linked_brands);
CREATE INDEX agreements_corridors ON agreements USING gin (corridors);
-- What the scheduler looks for: signed agreements to activate, active ones to expire.
CREATE INDEX agreements_due ON agreements (status, effective_from, effective_to)
    WHERE status IN ('signed', 'active');

-- This service's copy of the registry's brands, kept from brand events (eventually consistent).
CREATE TABLE brand_copy (
    brand_id   uuid        PRIMARY KEY,
    name       text        NOT NULL,
    province   char(6)     NOT NULL,
    status     text        NOT NULL,
    version    integer     NOT NULL,
    updated_at timestamptz NOT NULL
);
