"""Orders FaaS shared package: the order domain, its events, and the adapters of every function."""
