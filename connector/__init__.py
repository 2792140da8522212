"""The Redis Streams connector: invokes the functions subscribed to each saga event."""
