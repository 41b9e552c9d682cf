"""Pydantic contracts shared by the write and read sides. No I/O lives here."""
