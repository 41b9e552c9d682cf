"""The ordering context's projections: the orders read model."""
