"""The servers' default ports: the settings' defaults, and what `make up` starts them on.

Plain numbers, so that `make up`'s supervisor can read them without loading pydantic (~13 MB
in a process that uses nothing else of it).
"""

from __future__ import annotations

GATEWAY_PORT = 8080
NOTIFY_PORT = 8081
FRONTEND_PORT = 3000

# By the environment variable that chooses each port.
DEFAULT_PORTS = {
    "GATEWAY_PORT": GATEWAY_PORT,
    "NOTIFY_PORT": NOTIFY_PORT,
    "FRONTEND_PORT": FRONTEND_PORT,
}
