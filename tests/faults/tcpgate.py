"""A loopback TCP address that can go away and come back: a forwarder with a switch.

A server that goes down and comes back listens on the same address again. The test
Git server's smart-HTTP endpoint picks a new port each time it starts, so the fault
tests put :class:`TCPGate` in front of it: clients use the gate's fixed port, the gate
forwards each connection to wherever the server listens now (``upstream()`` is asked
per connection), and :meth:`TCPGate.close` makes the address refuse connections (and
cuts those in flight) until :meth:`TCPGate.open` listens on it again.
:meth:`TCPGate.cut_after` arms the gate to do the same by itself in the middle of a
transfer, once so many bytes came back from the server.

Threads, not the test's event loop, move the bytes: the controller under test shares
that loop, and a fetch must not depend on it being free.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

#: How often the accepting thread looks whether the gate was closed.
_ACCEPT_POLL = 0.05


class TCPGate:
    """Forward ``127.0.0.1:<port>`` to ``127.0.0.1:<upstream()>`` while open."""

    def __init__(self, upstream: Callable[[], int]) -> None:
        self.upstream = upstream
        #: The gate's port: chosen at the first :meth:`open`, kept afterwards.
        self.port = 0
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._budget: int | None = None
        self._cut = threading.Event()

    def open(self) -> TCPGate:
        """Listen (again) on the gate's port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(_ACCEPT_POLL)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        self._spawn(self._accept, listener)
        return self

    def close(self) -> None:
        """Refuse new connections and cut every open one."""
        self._disconnect()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(timeout=5)
        self._threads = [t for t in self._threads if t.is_alive()]

    def cut_after(self, byte_count: int) -> threading.Event:
        """Close by itself once ``byte_count`` more bytes came from upstream.

        Returns an event that is set when the gate has cut; :meth:`close` it afterwards
        (to wait for its threads) and :meth:`open` it to come back.
        """
        with self._lock:
            self._budget = byte_count
            self._cut = threading.Event()
            return self._cut

    def _disconnect(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _came_back(self, size: int) -> None:
        """Count bytes from upstream; cut when an armed budget is spent."""
        with self._lock:
            if self._budget is None:
                return
            self._budget -= size
            if self._budget > 0:
                return
            self._budget = None
            cut = self._cut
        self._disconnect()
        cut.set()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream()), timeout=5)
            except OSError:
                client.close()  # nothing listens upstream: the client sees the cut
                continue
            with self._lock:
                self._connections |= {client, server}
            self._spawn(self._forward, client, server)

    def _forward(self, client: socket.socket, server: socket.socket) -> None:
        """Move bytes both ways until both sides are done, then close both."""
        client.settimeout(None)
        server.settimeout(None)
        answer = threading.Thread(target=_pump, args=(server, client, self._came_back), daemon=True)
        answer.start()
        _pump(client, server)
        answer.join()
        with self._lock:
            self._connections -= {client, server}
        client.close()
        server.close()


def _pump(
    source: socket.socket, sink: socket.socket, count: Callable[[int], None] | None = None
) -> None:
    """Copy ``source`` to ``sink`` until ``source`` ends or either side is cut."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
            if count is not None:
                count(len(data))
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
