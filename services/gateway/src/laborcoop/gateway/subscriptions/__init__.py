"""Webhook subscriptions: signed deliveries of the event log to partner systems (ADR 0015)."""
