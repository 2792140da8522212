"""Adapters: settings, MongoDB repositories and the Redis stream client."""
