"""Kafka clients: producer holder, topic setup and the consumer loop."""
