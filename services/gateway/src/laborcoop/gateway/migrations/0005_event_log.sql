-- The gateway's own log of every event of every topic (laborcoop.gateway.events.log), from which
-- webhook deliveries and the event stream are served: a restart or a replica loses nothing, and
-- a subscriber resumes from a position.
--
-- `position` orders the log. It is assigned under a transaction-level advisory lock taken by
-- every writer, so positions become visible in the order they were assigned: a reader that has
-- seen position N never later finds a row below N (no gap fills in behind a cursor). Events of
-- one subject arrive in order from one partition, so they take increasing positions.
-- `envelope` is the CloudEvent as JSON text, sent to subscribers as it is (never personal data:
-- events carry none). `provinces` are the event's `provinces` attribute, the audience filter.
CREATE TABLE event_log (
    position   bigint      PRIMARY KEY,
    event_id   text        NOT NULL UNIQUE,
    type       text        NOT NULL,
    subject    text        NOT NULL,
    provinces  text[]      NOT NULL,
    time       timestamptz NOT NULL,
    envelope   text        NOT NULL,
    logged_at  timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE event_log_position AS bigint;

-- Backfill from a time (`since=`, replay since a time), and pruning by age.
CREATE INDEX event_log_time ON event_log (time, position);
