"""The fulfilment context's projections: the shipments read model."""
