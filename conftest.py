"""Root conftest: every test gets the fixtures of laborcoop.testing (real PostgreSQL and Kafka)."""

pytest_plugins = ["laborcoop.testing.fixtures"]
