-- Idempotency keys belong to the whole principal, not only to the token's subject: a replay is
-- only for the same client acting for the same province with the same roles, so another
-- principal reusing a key runs the command under its own authorization instead of reading the
-- stored answer. Keys stored before this have principal '' and simply expire; the default keeps
-- a replica still running the previous release working while a rolling upgrade finishes.
ALTER TABLE idempotency_keys ADD COLUMN principal text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (client_id, principal, key);
