class PoisonEvent(Exception):
    """An event this projector cannot apply, however often it is retried."""
