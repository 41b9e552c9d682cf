"""The thin query API: read models, cache and read-your-writes."""
