"""A real TCP endpoint in front of PostgreSQL that refuses the first connections, as RDS Proxy does while its
target registers: it answers the startup message with a PostgreSQL ErrorResponse carrying the given SQLSTATE,
then forwards later connections byte for byte to the real server."""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

from tests.support.tcp_proxy import pump

SSL_REQUEST = 80877103


def error_response(sqlstate: str, message: str) -> bytes:
    """A FATAL ErrorResponse message of the PostgreSQL wire protocol (v3)."""
    parts = ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    fields = b"".join(kind + value.encode() + b"\0" for kind, value in parts)
    payload = fields + b"\0"
    return b"E" + struct.pack("!I", len(payload) + 4) + payload


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


@dataclass
class PostgresGate:
    """Refuses one connection per entry of `refusals` (its SQLSTATE), in order; then forwards to `upstream_port`."""

    upstream_port: int
    refusals: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    forwarded: int = 0
    _server: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.getsockname()[1]

    def start(self) -> PostgresGate:
        self._server = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, name="pg-gate", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # closed by stop()
                return
            with self._lock:
                sqlstate = self.refusals.pop(0) if self.refusals else None
            if sqlstate is None:
                self.forwarded += 1
                threading.Thread(target=self._forward, args=(client,), name="pg-gate-forward", daemon=True).start()
            else:
                self._refuse(client, sqlstate)

    def _refuse(self, client: socket.socket, sqlstate: str) -> None:
        with client:
            try:
                while True:
                    (length,) = struct.unpack("!I", _read_exact(client, 4))
                    message = _read_exact(client, length - 4)
                    # pg8000 first asks for TLS (SSLRequest); a server without it answers "N", then the
                    # startup message (user, database) follows.
                    if length == 8 and struct.unpack("!I", message)[0] == SSL_REQUEST:
                        client.sendall(b"N")
                        continue
                    break
                client.sendall(error_response(sqlstate, f"refused by the gate ({sqlstate})"))
            except OSError:
                pass
        self.refused.append(sqlstate)

    def _forward(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        back = threading.Thread(target=pump, args=(upstream, client), name="pg-gate-forward", daemon=True)
        back.start()
        pump(client, upstream)
        back.join()
        client.close()
        upstream.close()
