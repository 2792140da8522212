"""The local stack: starts Redis, the MongoDB-wire server, the gateway and the services."""

# Every port `make up` listens on, each chosen by its variable (a taken one is replaced by a free
# one); a second stack, as the tests and the benchmark start, sets them all.
PORT_VARIABLES = (
    "REDIS_PORT",
    "MONGO_PORT",
    "GATEWAY_PORT",
    "NOTIFY_PORT",
    "FRONTEND_PORT",
    "PROMETHEUS_PORT",
)
