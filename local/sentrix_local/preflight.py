"""What `make dev` checks before it starts anything: every port free, each refusal one sentence."""

from __future__ import annotations

import socket
from typing import Any


class StackError(RuntimeError):
    """Why the stack cannot start, in words a newcomer can act on (printed without a traceback)."""


# Each port of the stack and the variable that moves it.
PORT_VARIABLES = {
    "gateway_port": "SENTRIX_GATEWAY_PORT",
    "moto_port": "SENTRIX_MOTO_PORT",
    "yolo_port": "SENTRIX_YOLO_PORT",
    "pg_port": "SENTRIX_PG_PORT",
}


def preflight(config: Any, *, postgres_ours: bool = False, standin: bool = True) -> None:
    """Refuse to start, before anything runs, when a port the stack needs is taken."""
    for attribute, variable in PORT_VARIABLES.items():
        port = getattr(config, attribute)
        if attribute == "pg_port" and postgres_ours:
            continue  # our own cluster, left running by `make migrate` or a killed stack: reused
        if attribute == "yolo_port" and not standin:
            continue  # another YOLO host is used (YOLO_SERVICE_URL): the stand-in's port is not needed
        if port_in_use(port):
            raise StackError(
                f"port {port} ({variable}) is in use: stop what listens there, or choose another port, "
                f"e.g. `{variable}={port + 1} make dev`"
            )


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        # As the servers bind: a port whose last connections linger in TIME_WAIT is free, a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False
