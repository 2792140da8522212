"""The local stack: starts Redis, the MongoDB-wire server, the gateway and the services."""
