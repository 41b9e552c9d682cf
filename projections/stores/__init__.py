"""Store adapters: MongoDB or SQLite for read models, ClickHouse or chDB for analytics."""
