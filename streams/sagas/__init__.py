"""Process managers: they consume events of one context and send commands to another.

Every command a saga sends is idempotent by construction (the receiver recognises a
repeat), so a redelivered event changes nothing. Sagas run on live events only: a
rebuild of the projections never runs them.
"""
