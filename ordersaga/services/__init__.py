"""Service layer: the use cases, written against repositories and the stream."""
