"""Everything that moves events: the relay, topics, the Kafka workers, the in-process runner."""
