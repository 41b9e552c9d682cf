"""The command HTTP API: endpoints that translate HTTP into commands."""
