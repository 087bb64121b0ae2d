-- A subscription's share of a claim (LABORCOOP_WEBHOOK_MAX_IN_FLIGHT_PER_SUBSCRIPTION): the
-- sender takes each active subscription's first due rows in delivery order, and counts the
-- rows it has under a claim. A claim is cleared when its outcome is recorded, so the second
-- index holds the attempts under way (and the leases of a process that died, until their rows
-- are claimed again).
CREATE INDEX webhook_deliveries_subscription_due
    ON webhook_deliveries (subscription_id, next_attempt_at, position, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (subscription_id, next_attempt_at)
    WHERE state = 'pending' AND claim IS NOT NULL;
