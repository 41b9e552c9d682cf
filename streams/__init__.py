"""Everything that moves events: the relay, topics, the Faust worker, the in-process runner."""
