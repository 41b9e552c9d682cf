"""The payments context's projections: the payments read model."""
