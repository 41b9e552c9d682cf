"""The ordering context's write side: orders and their state machine."""
