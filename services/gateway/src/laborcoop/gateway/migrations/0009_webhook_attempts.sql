-- Every attempt of a delivery, as its outcome was recorded (the delivery row keeps only the last
-- one): when, the status code, the latency and the error. Written by the statement that records
-- the outcome, only for an attempt whose claim still held; pruned with its delivery.
CREATE TABLE webhook_attempts (
    delivery_id  bigint      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    at           timestamptz NOT NULL,
    status       integer,
    latency_ms   integer     NOT NULL,
    error        text,
    PRIMARY KEY (delivery_id, attempt)
);
