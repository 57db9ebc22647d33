"""Running the cluster: the in-process :class:`Cluster` and the HTTPS server around it.

:class:`Cluster` wires the registry, the schemas, the store and the built-in
controllers (namespaces, garbage collection, CustomResourceDefinitions); code in the
same process (tests, the workload simulation) uses it directly. :func:`serve` puts the
HTTPS API in front of it with uvicorn, writes the kubeconfig and the port file, reports
readiness once the socket accepts connections, and shuts down cleanly on SIGINT or
SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import uvicorn

from tether.localcluster.admission import Clock, system_clock
from tether.localcluster.api import APIApp
from tether.localcluster.applying import Applier
from tether.localcluster.controllers import Controllers
from tether.localcluster.credentials import ensure_credentials, write_kubeconfig
from tether.localcluster.discovery import Discovery
from tether.localcluster.handlers import Handlers
from tether.localcluster.openapi import OpenAPIDocuments
from tether.localcluster.registry import Registry
from tether.localcluster.schema import SchemaRegistry
from tether.localcluster.simulation.settings import Settings
from tether.localcluster.simulation.simulation import Simulation
from tether.localcluster.storage import StorageError
from tether.localcluster.store import Store
from tether.localcluster.validating import SchemaAdmission

log = logging.getLogger(__name__)

#: The line printed once the server accepts connections (followed by the URL).
READY_LINE = "tether local cluster ready at"
PORT_FILE = "port"


class ServeError(Exception):
    """The server could not start: the port is taken, the data directory is in use."""


class Cluster:
    """A local cluster in this process: store, schemas and controllers."""

    def __init__(
        self,
        data_dir: Path,
        *,
        event_window: int = 20_000,
        clock: Clock = system_clock,
        simulation: Settings | None = None,
    ) -> None:
        """Open the cluster kept in ``data_dir``; call :meth:`start`.

        ``event_window`` is how many recent changes watches can resume from; ``clock``
        is where every timestamp the server writes comes from; ``simulation``, when
        given, runs the workload simulation with those timings.
        """
        self.data_dir = data_dir
        self.registry = Registry()
        self.schemas = SchemaRegistry()
        self.store = Store(data_dir, self.registry, event_window=event_window, clock=clock)
        self.store.add_admitter(SchemaAdmission(self.schemas))
        self.applier = Applier(self.store, self.schemas)
        self.controllers = Controllers(self.store, self.registry, self.schemas)
        self.simulation = (
            Simulation(self.store, self.registry, settings=simulation, clock=clock)
            if simulation is not None
            else None
        )

    async def start(self) -> None:
        """Load the stored state and start the controllers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        await self.store.start()
        await self.controllers.start()
        if self.simulation is not None:
            await self.simulation.start()

    async def close(self) -> None:
        """Stop the controllers and close the store (pending writes finish first)."""
        if self.simulation is not None:
            await self.simulation.close()
        await self.controllers.close()
        await self.store.close()


@dataclass(frozen=True)
class ServeConfig:
    """How to serve: where the data lives, where to listen, where the kubeconfig goes."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 6443
    kubeconfig: Path | None = None
    event_window: int = 20_000
    #: The workload simulation's timings; ``None`` serves the API alone.
    simulation: Settings | None = field(default_factory=Settings)

    @property
    def kubeconfig_path(self) -> Path:
        """The kubeconfig to write (``DATA_DIR/kubeconfig`` by default)."""
        return self.kubeconfig or self.data_dir / "kubeconfig"


class _Server(uvicorn.Server):
    """uvicorn's server, with SIGINT/SIGTERM ending :func:`serve` normally.

    uvicorn re-raises a captured signal once it stops, which would kill the process
    before the store closes; here a signal only asks the server to exit.
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Begin shutting down; end open watches so their connections can close."""
        super().handle_exit(sig, frame)
        self._on_exit()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ServeError(f"failed to listen on {host}:{port}: {error.strerror}") from error
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


async def serve(config: ServeConfig, ready: Callable[[str], None]) -> None:
    """Serve until SIGINT/SIGTERM; call ``ready(url)`` once connections are accepted."""
    creds = ensure_credentials(config.data_dir, config.host)
    try:
        cluster = Cluster(
            config.data_dir, event_window=config.event_window, simulation=config.simulation
        )
    except StorageError as error:
        raise ServeError(str(error)) from error
    await cluster.start()
    try:
        sock = _bind(config.host, config.port)
    except ServeError:
        await cluster.close()
        raise
    port = sock.getsockname()[1]
    host = f"[{config.host}]" if ":" in config.host else config.host
    url = f"https://{host}:{port}"
    app = APIApp(
        Handlers(cluster.store, cluster.registry, cluster.schemas, cluster.applier.apply),
        Discovery(cluster.registry),
        creds.token(),
        lambda: f"{host}:{port}",
        OpenAPIDocuments(cluster.schemas, lambda: list(cluster.registry)).serve,
    )
    server = _Server(
        uvicorn.Config(
            app,
            loop="none",
            http="httptools",
            lifespan="off",
            ssl_certfile=str(creds.server_cert),
            ssl_keyfile=str(creds.server_key),
            log_level="warning",
            access_log=False,
            # Clients connect directly, never through a proxy: X-Forwarded-* headers are
            # not to be trusted, and skipping the middleware that reads them saves a
            # coroutine per request. kube-apiserver sends no Server header either.
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        ),
        on_exit=cluster.store.end_watches,
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                await serving
                return
            await asyncio.sleep(0.01)
        write_kubeconfig(config.kubeconfig_path, creds, url)
        (config.data_dir / PORT_FILE).write_text(f"{port}\n")
        ready(url)
        await serving
    finally:
        await cluster.close()
        sock.close()
