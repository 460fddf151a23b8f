"""The local S3 server lets nobody read or write objects without the S3 credentials, on any port.

Each test starts its own server, stores an object through S3 with the credentials, then tries, as a
stranger on this machine would, every port the server's processes listen on and every port weed is
configured with: HTTP reads, writes and deletes on the filer, volume, master and admin paths, and
weed's own gRPC client. The object must come back unchanged.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import time

import psutil
import pytest

from distillery.remote import gateway
from distillery.remote import server as server_module
from distillery.remote.client import make_client
from distillery.remote.server import GRPC_OFFSET, LocalS3, host_ports

KEY = "pretrained_models/fam/x/model.safetensors"
BODY = b"the real weights" * 64


def _request(port: int, method: str, path: str, body: bytes | None = None) -> int | None:
    """The HTTP status a stranger gets, or None when nothing accepts the connection (4xx/5xx: refused)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers={"Accept": "application/json"})
        return conn.getresponse().status
    except (ConnectionError, OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _listening_ports(pid: int) -> set[int]:
    """TCP ports in LISTEN state, seen from this (the host's) network namespace, owned by ``pid``'s tree."""
    tree = {pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))}
    return {c.laddr.port for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.pid in tree}


def _listening_ports_once_up(pid: int, expected: set[int], timeout: float = 60.0) -> set[int]:
    """``_listening_ports`` after every ``expected`` port listens or ``timeout`` seconds pass: the S3
    port answers first, and on a loaded machine weed's admin server has bound its port seconds later."""
    deadline = time.monotonic() + timeout
    while not expected <= (listening := _listening_ports(pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return listening


def _stranger_attempts(port: int) -> dict[str, int | None]:
    paths = [f"/buckets/models/{KEY}", f"/models/{KEY}", "/buckets/models/pretrained_models/",
             "/dir/assign", "/col/delete?collection=models", "/submit"]
    attempts = {}
    for path in paths:
        attempts[f"GET {path}"] = _request(port, "GET", path)
        attempts[f"PUT {path}"] = _request(port, "PUT", path, b"tampered")
        attempts[f"POST {path}"] = _request(port, "POST", path, b"tampered")
        attempts[f"DELETE {path}"] = _request(port, "DELETE", path)
    return attempts


def _weed_grpc_write(filer_port: int, tmp_path) -> None:
    """weed's own client writes through the filer's gRPC API (no S3 credentials involved)."""
    payload = tmp_path / "model.safetensors"
    payload.write_bytes(b"tampered")
    subprocess.run([server_module.find_weed(), "filer.copy", str(payload),
                    f"http://127.0.0.1:{filer_port}/buckets/models/pretrained_models/fam/x/"],
                   capture_output=True, timeout=30, check=False)


@contextlib.contextmanager
def _server_with_object(tmp_path):
    local = LocalS3.on_free_port(tmp_path / "s3")
    settings = local.start()
    s3 = make_client(settings)
    s3.put_object(Bucket="models", Key=KEY, Body=BODY)
    try:
        yield local, s3
        assert s3.get_object(Bucket="models", Key=KEY)["Body"].read() == BODY
        versions = s3.list_object_versions(Bucket="models", Prefix=KEY).get("Versions", [])
        assert len(versions) == 1, "a stranger stored a new version of the object"
    finally:
        local.stop()


@pytest.mark.skipif(not gateway.namespaces_available(), reason="this machine forbids network namespaces")
def test_only_the_s3_port_is_reachable_and_it_refuses_strangers(tmp_path) -> None:
    with _server_with_object(tmp_path) as (local, _):
        listening = _listening_ports(local.running_pid())
        assert listening == {local.s3_port}
        for port in sorted(listening | set(host_ports(local.ports))):
            accepted = {what: status for what, status in _stranger_attempts(port).items()
                        if status is not None and status < 400}
            assert not accepted, f"port {port} accepted a stranger: {accepted}"
        _weed_grpc_write(local.ports["filer"], tmp_path)


def test_without_namespaces_filer_volume_and_grpc_still_refuse_strangers(tmp_path, monkeypatch) -> None:
    """The fallback where containers forbid namespaces: SeaweedFS's JWT and mutual TLS alone.

    Today's main served every object to ``GET /buckets/...`` on the filer port and took a multipart
    POST over it; weed's gRPC client wrote entries. The master's administrative endpoints are the
    documented gap of this mode (README, Troubleshooting), so they are not asserted here.
    """
    monkeypatch.setattr(server_module.gateway, "namespaces_available", lambda: False)
    with _server_with_object(tmp_path) as (local, _):
        listening = _listening_ports_once_up(local.running_pid(), set(host_ports(local.ports)))
        assert set(host_ports(local.ports)) <= listening
        for component in ("filer", "volume", "admin"):
            for port in (local.ports[component], local.ports[component] + GRPC_OFFSET):
                accepted = {what: status for what, status in _stranger_attempts(port).items()
                            if status is not None and status < 400}
                assert not accepted, f"{component} port {port} accepted a stranger: {accepted}"
        assignment = _assign(local.ports["master"])
        assert _request(local.ports["volume"], "POST", f"/{assignment['fid']}", b"tampered") >= 400
        _weed_grpc_write(local.ports["filer"], tmp_path)


def _assign(master_port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", master_port, timeout=5)
    conn.request("GET", "/dir/assign")
    return json.loads(conn.getresponse().read())
