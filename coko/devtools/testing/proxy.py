"""A TCP / Unix-socket proxy that can pull the plug: fault injection for tests.

Put it between a client and a real server (PostgreSQL, Redis, anything over a
stream socket) and the client sees the server die and come back::

    proxy = FaultProxy(upstream="/work/main/var/run/redis.sock",
                       listen="/tmp/x/redis.sock").start()
    ...                 # clients connect to /tmp/x/redis.sock
    proxy.cut()         # every live connection is dropped, new ones are refused
    proxy.restore()     # connections are accepted (and forwarded) again
    proxy.stop()

``upstream`` and ``listen`` are a Unix socket path (``str`` / ``Path``) or a
``(host, port)`` pair; listening on port 0 picks a free port (see ``address``).
While cut, nothing listens: a TCP client gets "connection refused", a Unix-socket
client too (the socket file stays, as a crashed server leaves it). Live TCP
connections are reset (RST), Unix ones see the end of the stream. ``restore()``
listens again on the same address.

Standard library only: one accept thread, two pump threads per connection.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from pathlib import Path

Address = str | os.PathLike | tuple[str, int]


def _family(address: Address) -> int:
    return socket.AF_INET6 if isinstance(address, tuple) and ":" in address[0] else (
        socket.AF_INET if isinstance(address, tuple) else socket.AF_UNIX)


def _sockaddr(address: Address):
    return address if isinstance(address, tuple) else os.fspath(address)


class FaultProxy:
    """Forwards ``listen`` to ``upstream`` until ``cut()``; ``restore()`` undoes it."""

    def __init__(self, *, upstream: Address, listen: Address = ("127.0.0.1", 0)) -> None:
        self.upstream = upstream
        self._listen = listen
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._stopped = False
        self.accepted = 0  # connections forwarded so far (a client's reconnects count)

    # --- control -------------------------------------------------------------------
    @property
    def address(self) -> Address:
        """Where clients connect (the actual port when listening on port 0)."""
        return self._listen

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    @property
    def live_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def start(self) -> "FaultProxy":
        self._bind()
        return self

    def cut(self) -> None:
        """Drop every live connection and refuse new ones, like a server that died."""
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, set()
        if listener is not None:
            _close(listener)  # refused from now on (shutdown first: accept() holds it open)
        for client, server in pairs:
            _reset(client)
            _close(server)

    def restore(self) -> None:
        """Accept and forward connections again, on the same address."""
        if self._listener is None and not self._stopped:
            self._bind()

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        if not isinstance(self._listen, tuple):
            Path(self._listen).unlink(missing_ok=True)

    def __enter__(self) -> "FaultProxy":
        return self.start() if self._listener is None else self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- machinery ---------------------------------------------------------------------
    def _bind(self) -> None:
        listener = socket.socket(_family(self._listen), socket.SOCK_STREAM)
        if isinstance(self._listen, tuple):
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        else:
            Path(self._listen).unlink(missing_ok=True)
        listener.bind(_sockaddr(self._listen))
        listener.listen(64)
        listener.settimeout(0.05)
        if isinstance(self._listen, tuple):
            self._listen = listener.getsockname()[:2]  # port 0 → the port it got
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True,
                         name=f"fault-proxy-accept-{self._listen}").start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by cut()
            client.settimeout(None)
            try:
                server = socket.socket(_family(self.upstream), socket.SOCK_STREAM)
                server.connect(_sockaddr(self.upstream))
            except OSError:
                _reset(client)  # the upstream itself is down: so are we
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _reset(client)
                    _close(server)
                    continue
                pair = (client, server)
                self._pairs.add(pair)
                self.accepted += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(pair, source, target), daemon=True,
                                 name="fault-proxy-pump").start()

    def _pump(self, pair, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        # One side is gone: so is the whole connection (no half-open relays).
        with self._lock:
            mine = pair in self._pairs
            self._pairs.discard(pair)
        if mine:
            for sock in pair:
                _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv() on it
    except OSError:
        pass
    sock.close()


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` abruptly: an RST for TCP (SO_LINGER 0), end of stream for Unix."""
    if sock.family == socket.AF_UNIX:
        _close(sock)
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Wake a pump blocked in recv() on it without sending a FIN (SHUT_WR would):
        # the socket is released, and the RST sent, once that call has returned.
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    sock.close()
