-- This service's copy of the cooperation agreements, kept from the agreements' events
-- (laborcoop.placements.consumers.AGREEMENTS): the status, the kind, the terms as they stand
-- (in force once active; an amendment under signature is not taken), their revision, and the
-- corridors ('origin>destination') the terms cover (laborcoop.placements.corridors says which).
-- `version` is the agreement's (the events' sequence): an event not newer changes nothing.
CREATE TABLE agreement_copy (
    agreement_id uuid        PRIMARY KEY,
    status       text        NOT NULL,
    kind         text        NOT NULL,
    revision     integer     NOT NULL,
    terms        jsonb       NOT NULL,
    corridors    text[]      NOT NULL,
    version      integer     NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- One end of a corridor: the origins, or the destinations, of an agreement's corridors, as
-- arrays that a GIN index serves for containment (@>).
CREATE FUNCTION corridor_origins(corridors text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(split_part(c, '>', 1)), '{}') FROM unnest(corridors) AS c $$;
CREATE FUNCTION corridor_destinations(corridors text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(split_part(c, '>', 2)), '{}') FROM unnest(corridors) AS c $$;

-- Only active agreements cover a corridor: the corridor itself (covering_agreements), or one
-- end of it (covered_origins, covered_destinations).
CREATE INDEX agreement_copy_corridors ON agreement_copy USING gin (corridors)
    WHERE status = 'active';
CREATE INDEX agreement_copy_origins ON agreement_copy USING gin (corridor_origins(corridors))
    WHERE status = 'active';
CREATE INDEX agreement_copy_destinations
    ON agreement_copy USING gin (corridor_destinations(corridors))
    WHERE status = 'active';

-- Matching a demand (laborcoop.placements.matching.repository): the available workers of the
-- covered origins whose occupations are the demand's, or of its group. `worker_matching` is an
-- index the database keeps, as it keeps any index: one narrow row per available worker and key,
-- `<origin>/<occupation d-dd-dd-dd>` and `<origin>/<group d-dd>` (matching_keys), written by the
-- triggers below in the statement that changes the worker. The candidates of a demand are an
-- index-only scan of `worker_matching_key` (the rows of the covered origins with the
-- occupation, with what the coarse order needs), cut at the limit, then one primary-key look-up
-- per candidate: the work grows with the candidates, not with the table, and never reads the
-- wide worker rows it does not answer with.
CREATE FUNCTION matching_keys(origin text, occupations text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(DISTINCT k), '{}')
          FROM unnest(occupations) AS o,
               LATERAL (VALUES (origin || '/' || o), (origin || '/' || left(o, 4))) AS keys (k) $$;

CREATE TABLE worker_matching (
    worker_id uuid    NOT NULL,
    key       text    NOT NULL,
    brand_id  uuid,
    wage_min  integer,
    wage_max  integer,
    PRIMARY KEY (worker_id, key)
);
CREATE INDEX worker_matching_key ON worker_matching (key)
    INCLUDE (brand_id, wage_min, wage_max, worker_id);

CREATE FUNCTION worker_matching_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO worker_matching (worker_id, key, brand_id, wage_min, wage_max)
    SELECT w.id, k, w.brand_id, w.wage_min, w.wage_max
    FROM added AS w, unnest(matching_keys(w.origin, w.occupations)) AS k
    WHERE w.availability = 'available';
    RETURN NULL;
END $$;

-- An update rewrites the keys of the workers whose matching attributes changed, only those.
CREATE FUNCTION worker_matching_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM worker_matching AS m
    USING new_workers AS n JOIN old_workers AS o USING (id)
    WHERE m.worker_id = n.id
      AND (n.origin, n.occupations, n.availability, n.brand_id, n.wage_min, n.wage_max)
          IS DISTINCT FROM (o.origin, o.occupations, o.availability, o.brand_id, o.wage_min,
                            o.wage_max);
    INSERT INTO worker_matching (worker_id, key, brand_id, wage_min, wage_max)
    SELECT n.id, k, n.brand_id, n.wage_min, n.wage_max
    FROM new_workers AS n JOIN old_workers AS o USING (id),
         unnest(matching_keys(n.origin, n.occupations)) AS k
    WHERE n.availability = 'available'
      AND (n.origin, n.occupations, n.availability, n.brand_id, n.wage_min, n.wage_max)
          IS DISTINCT FROM (o.origin, o.occupations, o.availability, o.brand_id, o.wage_min,
                            o.wage_max);
    RETURN NULL;
END $$;

CREATE FUNCTION worker_matching_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM worker_matching AS m USING removed AS w WHERE m.worker_id = w.id;
    RETURN NULL;
END $$;

CREATE TRIGGER worker_matching_add AFTER INSERT ON workers
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION worker_matching_add();
CREATE TRIGGER worker_matching_change AFTER UPDATE ON workers
    REFERENCING OLD TABLE AS old_workers NEW TABLE AS new_workers
    FOR EACH STATEMENT EXECUTE FUNCTION worker_matching_change();
CREATE TRIGGER worker_matching_remove AFTER DELETE ON workers
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION worker_matching_remove();

-- The workers registered before this migration.
INSERT INTO worker_matching (worker_id, key, brand_id, wage_min, wage_max)
SELECT w.id, k, w.brand_id, w.wage_min, w.wage_max
FROM workers AS w, unnest(matching_keys(w.origin, w.occupations)) AS k
WHERE w.availability = 'available';

-- Matching a worker: the open demands of the covered destinations with one of the worker's
-- occupations (demands_open of 0002), or of one of their groups (`d-dd`).
CREATE INDEX demands_open_groups ON demands (left(occupation, 4), province)
    WHERE status = 'open';
