"""Cross-cutting concerns: settings, auth, HTTP plumbing, wiring per mode, the CLI."""
