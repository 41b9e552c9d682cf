"""Analytics facts and rollups (ADR 0011): pure functions from events to fact rows, the
tables they go to, and the rollups ClickHouse keeps from them."""
