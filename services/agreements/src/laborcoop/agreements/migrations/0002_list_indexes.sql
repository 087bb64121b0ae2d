-- The list filters of GET /v1/agreements (see repository.search_query). `kind` gets an index in
-- cursor order (kind, id), like `status` in 0001; the arrays already have GIN indexes.

CREATE INDEX agreements_kind ON agreements (kind, id);

-- One end of a corridor ('origin>destination'): the origins, or the destinations, of an
-- agreement's corridors, as arrays that a GIN index serves for containment (@>).
CREATE FUNCTION corridor_origins(corridors text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(split_part(c, '>', 1)), '{}') FROM unnest(corridors) AS c $$;
CREATE FUNCTION corridor_destinations(corridors text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(split_part(c, '>', 2)), '{}') FROM unnest(corridors) AS c $$;
CREATE INDEX agreements_corridor_origins ON agreements USING gin (corridor_origins(corridors));
CREATE INDEX agreements_corridor_destinations
    ON agreements USING gin (corridor_destinations(corridors));

-- `active_on`: the days an agreement that was public is or was in force (end date included).
CREATE INDEX agreements_in_force ON agreements
    USING gist (daterange(effective_from, effective_to, '[]'))
    WHERE status IN ('active', 'expired', 'terminated');
