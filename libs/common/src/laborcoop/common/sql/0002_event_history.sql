-- Every event of every aggregate this service owns, kept for the aggregate's history endpoint
-- (the outbox forgets rows once they are relayed).
CREATE TABLE event_history (
    subject   uuid        NOT NULL,
    version   integer     NOT NULL,
    event_id  uuid        NOT NULL UNIQUE,
    type      text        NOT NULL,
    time      timestamptz NOT NULL,
    data      jsonb       NOT NULL,
    PRIMARY KEY (subject, version)
);
