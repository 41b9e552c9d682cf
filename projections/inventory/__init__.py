"""The inventory context's projections: stock levels and their movements."""
