"""Ports for a second stack: one free loopback port per variable, never the same one twice."""

from __future__ import annotations

import socket

from devstack import PORT_VARIABLES
from devstack.processes import free_ports


def test_every_port_variable_gets_a_port_of_its_own_that_can_be_bound() -> None:
    ports = free_ports(PORT_VARIABLES)

    assert set(ports) == set(PORT_VARIABLES)
    assert len(set(ports.values())) == len(PORT_VARIABLES)
    for port in ports.values():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
