"""The local development stack: PostgreSQL, Kafka and the four services as processes (dev only)."""
