-- Job demands posted by receiving provinces for employers (organisations: no personal data).
CREATE TABLE demands (
    id                   uuid        PRIMARY KEY,
    province             char(6)     NOT NULL,
    kind                 text        NOT NULL,
    status               text        NOT NULL,
    employer_name        text        NOT NULL,
    employer_credit_code char(18)    NOT NULL,
    occupation           text        NOT NULL,
    headcount            integer     NOT NULL CHECK (headcount > 0),
    accepted             integer     NOT NULL DEFAULT 0 CHECK (accepted >= 0),
    wage_min             integer     NOT NULL,
    wage_max             integer     NOT NULL,
    city_code            char(6)     NOT NULL,
    start_date           date        NOT NULL,
    end_date             date,
    open_until           date        NOT NULL,
    preferred_brands     uuid[]      NOT NULL,
    closed_reason        text,
    version              integer     NOT NULL CHECK (version > 0),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX demands_province ON demands (province, id);
CREATE INDEX demands_status ON demands (status, id);
CREATE INDEX demands_occupation ON demands (occupation, id);
CREATE INDEX demands_brands ON demands USING gin (preferred_brands);
-- The reverse matching (open demands for a worker) and the expiry pass.
CREATE INDEX demands_open ON demands (occupation, province) WHERE status = 'open';
CREATE INDEX demands_due ON demands (open_until) WHERE status = 'open';

-- Placements: a worker on a demand, counted against an agreement's corridor (or outside any).
CREATE TABLE placements (
    id                uuid        PRIMARY KEY,
    worker_id         uuid        NOT NULL REFERENCES workers (id),
    demand_id         uuid        NOT NULL REFERENCES demands (id),
    origin            char(6)     NOT NULL,
    destination       char(6)     NOT NULL,
    agreement_id      uuid,
    outside_agreement boolean     NOT NULL,
    beyond_target     boolean     NOT NULL,
    brand_id          uuid,
    occupation        text        NOT NULL,
    status            text        NOT NULL,
    proposed_on       date        NOT NULL,
    onboarded_on      date,
    retained_3m_on    date,
    retained_6m_on    date,
    ended_on          date,
    end_reason        text,
    follow_up         text,
    follow_up_note    text,
    version           integer     NOT NULL CHECK (version > 0),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
-- A worker has at most one live placement: the database decides between concurrent proposals.
CREATE UNIQUE INDEX placements_one_live_per_worker ON placements (worker_id)
    WHERE status IN ('proposed', 'accepted', 'onboarded');
CREATE INDEX placements_worker ON placements (worker_id, destination);
CREATE INDEX placements_demand ON placements (demand_id, id);
CREATE INDEX placements_corridor ON placements (origin, destination, id);
CREATE INDEX placements_destination ON placements (destination, id);
CREATE INDEX placements_status ON placements (status, id);
CREATE INDEX placements_brand ON placements (brand_id, id);
CREATE INDEX placements_agreement ON placements (agreement_id, proposed_on);
