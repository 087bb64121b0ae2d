-- Webhook subscriptions and their deliveries (laborcoop.gateway.subscriptions, ADR 0015).
--
-- A subscription belongs to the client that created it. Its audience is fixed at creation from
-- the client's token: its province (`province`), or every event for the ministry (`everything`);
-- `types` and `provinces` are the subscriber's own filters, which only narrow that audience.
-- `secret` (and `previous_secret` during a rotation's overlap) is the signing secret sealed with
-- AES-GCM under LABORCOOP_WEBHOOK_SECRET_KEY, never stored in the clear.
-- `log_cursor` is the event-log position the fan-out has read up to for this subscription.
CREATE TABLE subscriptions (
    id                     uuid        PRIMARY KEY,
    client_id              text        NOT NULL,
    province               text,
    everything             boolean     NOT NULL,
    url                    text        NOT NULL,
    types                  text[]      NOT NULL,
    provinces              text[]      NOT NULL,
    status                 text        NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
    disabled_reason        text,
    secret                 text        NOT NULL,
    previous_secret        text,
    previous_secret_until  timestamptz,
    log_cursor             bigint      NOT NULL,
    failing_since          timestamptz,
    version                integer     NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);

CREATE INDEX subscriptions_client ON subscriptions (client_id, id);

-- One row per event to deliver to one subscription (a replay adds new rows). Rows of one
-- subscription and subject are attempted in `id` order, one at a time; `next_attempt_at` is also
-- the lease of a claimed row (pushed past the attempt's timeout when claimed), so a process that
-- dies mid-attempt leaves the row due again later, and `claim` fences out a late outcome.
CREATE TABLE webhook_deliveries (
    id               bigserial   PRIMARY KEY,
    subscription_id  uuid        NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    position         bigint      NOT NULL,  -- of the event in event_log
    event_id         text        NOT NULL,
    subject          text        NOT NULL,
    replay           boolean     NOT NULL DEFAULT false,
    state            text        NOT NULL DEFAULT 'pending'
                                 CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    claim            uuid,
    last_attempt_at  timestamptz,
    last_status      integer,
    last_latency_ms  integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);

-- The sender's claim: due pending rows, and "is an earlier row of this subject still pending".
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, position, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (subscription_id, subject, id)
    WHERE state = 'pending';
-- The delivery log, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, id DESC);
