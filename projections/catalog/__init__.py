"""The catalog context's projections: products and categories."""
