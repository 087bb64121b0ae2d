-- The gateway's read models of every topic (laborcoop.gateway.views.projections), answered by
-- its views (laborcoop.gateway.views.api). Each row keeps its aggregate's `version` (the events'
-- sequence): an event not newer changes nothing. `updated_at` is the time of the newest event
-- applied, and its index answers "how far behind" cheaply (max per table).

-- Every view answers the time of the newest brand event applied.
CREATE INDEX brand_view_updated_at ON brand_view (updated_at);

-- Indicators of a brand per period, the latest report of each (group gateway.projections).
-- `version` is the brand's version at the report: a report not newer than the one held changes
-- nothing. A figure not reported is NULL, never zero.
CREATE TABLE brand_indicator_view (
    brand_id                  uuid             NOT NULL,
    period                    text             NOT NULL,
    revision                  integer          NOT NULL,
    practitioners             bigint,
    jobs_created              bigint,
    people_trained            bigint,
    labour_income_yuan        bigint,
    output_value_yuan         bigint,
    average_monthly_wage_yuan bigint,
    skilled_share             double precision,
    satisfaction              double precision,
    source                    text,
    version                   integer          NOT NULL,
    reported_at               timestamptz      NOT NULL,
    PRIMARY KEY (brand_id, period)
);

-- One end of a corridor ('origin>destination'): its origins, or destinations, as arrays that a
-- GIN index serves for containment (@>). The same functions as the agreements service's.
CREATE FUNCTION corridor_origins(corridors text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(split_part(c, '>', 1)), '{}') FROM unnest(corridors) AS c $$;
CREATE FUNCTION corridor_destinations(corridors text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(split_part(c, '>', 2)), '{}') FROM unnest(corridors) AS c $$;

-- Agreements (group gateway.agreements): the terms as they stand (in force once active; an
-- amendment under signature is not taken), with their columns for the list's filters.
-- `target_corridors` are the targets' corridors (the agreements service's `origin` and
-- `destination` filters); `corridors` every corridor the terms name, targets and party pairs
-- (laborcoop.contracts.corridors: what an active agreement covers).
CREATE TABLE agreement_view (
    agreement_id      uuid        PRIMARY KEY,
    status            text        NOT NULL,
    kind              text        NOT NULL,
    title             text        NOT NULL,
    initiator         char(6)     NOT NULL,
    parties           text[]      NOT NULL,
    areas             text[]      NOT NULL,
    linked_brands     uuid[]      NOT NULL,
    target_corridors  text[]      NOT NULL,
    corridors         text[]      NOT NULL,
    effective_from    date        NOT NULL,
    effective_to      date,
    revision          integer     NOT NULL,
    terms             jsonb       NOT NULL,
    version           integer     NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
-- The list's filters (laborcoop.gateway.views.repository.agreements_query): equality in cursor
-- order, containment by GIN, `active_on` by GiST over the days in force.
CREATE INDEX agreement_view_kind ON agreement_view (kind, agreement_id);
CREATE INDEX agreement_view_status ON agreement_view (status, agreement_id);
CREATE INDEX agreement_view_parties ON agreement_view USING gin (parties);
CREATE INDEX agreement_view_areas ON agreement_view USING gin (areas);
CREATE INDEX agreement_view_brands ON agreement_view USING gin (linked_brands);
CREATE INDEX agreement_view_target_corridors ON agreement_view USING gin (target_corridors);
CREATE INDEX agreement_view_target_origins
    ON agreement_view USING gin (corridor_origins(target_corridors));
CREATE INDEX agreement_view_target_destinations
    ON agreement_view USING gin (corridor_destinations(target_corridors));
CREATE INDEX agreement_view_in_force ON agreement_view
    USING gist (daterange(effective_from, effective_to, '[]'))
    WHERE status IN ('active', 'expired', 'terminated');
-- The corridor view: the active agreements covering a corridor.
CREATE INDEX agreement_view_covering ON agreement_view USING gin (corridors)
    WHERE status = 'active';
CREATE INDEX agreement_view_updated_at ON agreement_view (updated_at);

-- Demands (group gateway.demands): offers of work of an organisation, no personal data.
CREATE TABLE demand_view (
    demand_id            uuid        PRIMARY KEY,
    province             char(6)     NOT NULL,
    kind                 text        NOT NULL,
    status               text        NOT NULL,
    employer_name        text        NOT NULL,
    employer_credit_code text        NOT NULL,
    occupation           text        NOT NULL,
    headcount            integer     NOT NULL,
    wage_min             integer     NOT NULL,
    wage_max             integer     NOT NULL,
    city_code            text        NOT NULL,
    start_date           date        NOT NULL,
    end_date             date,
    preferred_brands     uuid[]      NOT NULL,
    closed_reason        text,
    version              integer     NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX demand_view_province ON demand_view (province, demand_id);
CREATE INDEX demand_view_status ON demand_view (status, demand_id);
CREATE INDEX demand_view_occupation ON demand_view (occupation, demand_id);
CREATE INDEX demand_view_brands ON demand_view USING gin (preferred_brands);
CREATE INDEX demand_view_updated_at ON demand_view (updated_at);

-- Workers (group gateway.workers): the opaque id and the non-identifying attributes the events
-- carry, kept only to count workers by origin, brand and availability; never personal data.
CREATE TABLE worker_view (
    worker_id    uuid        PRIMARY KEY,
    origin       char(6)     NOT NULL,
    availability text        NOT NULL,
    brand_id     uuid,
    version      integer     NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX worker_view_origin ON worker_view (origin, availability);
CREATE INDEX worker_view_brand ON worker_view (brand_id, availability) WHERE brand_id IS NOT NULL;
CREATE INDEX worker_view_updated_at ON worker_view (updated_at);

-- Placements (group gateway.placements). Times of the events without a date of their own
-- (`proposed_at`, `accepted_at`, `terminated_at`) are kept as instants; the views make calendar
-- days of them in LABORCOOP_TIMEZONE, as the placements service does.
CREATE TABLE placement_view (
    placement_id   uuid        PRIMARY KEY,
    worker_id      uuid        NOT NULL,
    demand_id      uuid        NOT NULL,
    origin         char(6)     NOT NULL,
    destination    char(6)     NOT NULL,
    agreement_id   uuid,
    brand_id       uuid,
    occupation     text        NOT NULL,
    beyond_target  boolean     NOT NULL,
    status         text        NOT NULL,
    proposed_at    timestamptz NOT NULL,
    accepted_at    timestamptz,
    onboarded_on   date,
    retained_3m_on date,
    retained_6m_on date,
    completed_on   date,
    terminated_at  timestamptz,
    returned_on    date,
    end_reason     text,
    follow_up      text,
    follow_up_note text,
    version        integer     NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- The list's filters in cursor order (laborcoop.gateway.views.repository.placements_query) and
-- the aggregates of the overviews, corridors and brand impact.
CREATE INDEX placement_view_corridor ON placement_view (origin, destination, placement_id);
CREATE INDEX placement_view_destination ON placement_view (destination, placement_id);
CREATE INDEX placement_view_status ON placement_view (status, placement_id);
CREATE INDEX placement_view_brand ON placement_view (brand_id, placement_id);
CREATE INDEX placement_view_agreement ON placement_view (agreement_id, placement_id);
CREATE INDEX placement_view_proposed_at ON placement_view (proposed_at);
CREATE INDEX placement_view_updated_at ON placement_view (updated_at);

-- How far each view's consumer group is behind its topic: records published and not yet
-- committed by the group, measured every LABORCOOP_VIEW_LAG_INTERVAL_S by each gateway process
-- that runs workers (laborcoop.gateway.views.lag).
CREATE TABLE view_lag (
    topic          text        PRIMARY KEY,
    consumer_group text        NOT NULL,
    lag            bigint      NOT NULL,
    measured_at    timestamptz NOT NULL
);
