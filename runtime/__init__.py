"""Plumbing every layer uses: settings, auth, problems, HTTP middleware, cache, progress,
signals, logging. It imports only schemas/; the composition root is tanqory/."""
