"""The write side: aggregates, command handlers (Applications) and the command HTTP API."""
