"""Projectors (pure folds from events to read-model changes) and their store adapters."""
