"""The inventory context's write side: one stock item per product."""
