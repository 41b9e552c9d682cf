"""The payments context's write side: one payment per order, through a provider."""
