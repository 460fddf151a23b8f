"""The local S3 server's only door: ``weed`` in a private network namespace, S3 forwarded to the host.

``weed mini`` serves S3 plus master, volume, filer and admin HTTP ports and a gRPC twin of each.
SeaweedFS can sign the volume and filer APIs (JWT) and its gRPC (mutual TLS), but the master's
administrative HTTP endpoints (``/col/delete`` deletes a bucket's data, ``/submit`` stores blobs)
are guarded only by a client-address white list, which on a loopback interface admits every
local process or none (the server's own uploads arrive from 127.0.0.1 too). So this supervisor
starts ``weed`` inside a network namespace of its own (``unshare --net``, as root or in a user
namespace), where all of those ports live on a loopback nobody else can reach, and forwards one
TCP port on the host's 127.0.0.1 to the S3 gateway's unix socket. Nothing but S3, with its
credentials, is reachable.

Run as ``python -m distillery.remote.gateway --port P --socket PATH -- <weed command>``; it exits
when ``weed`` does, and stops ``weed`` on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
from functools import cache
from pathlib import Path

CHUNK = 256 * 1024
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
PR_SET_PDEATHSIG = 1


def unshare_command() -> list[str]:
    """``unshare`` for a new network namespace; a user namespace too when not root."""
    return ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--net", "--map-root-user"]


@cache
def namespaces_available() -> bool:
    """Whether this machine lets us create a network namespace (containers may forbid it)."""
    try:
        return subprocess.run([*unshare_command(), "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def isolated(command: list[str]) -> list[str]:
    """``command`` run in a fresh network namespace whose loopback is brought up first."""
    return [*unshare_command(), sys.executable, "-m", "distillery.remote.gateway", "--loopback-then", "--", *command]


def bring_loopback_up() -> None:
    """A new network namespace starts with ``lo`` down; raise it (no ``ip`` binary needed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()


async def _forward(socket_path: str, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    try:
        server_reader, server_writer = await asyncio.open_unix_connection(socket_path)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(_pipe(client_reader, server_writer), _pipe(server_reader, client_writer))
    for writer in (client_writer, server_writer):
        writer.close()


def _die_with_parent() -> None:
    """In the child before exec: a SIGKILL of this supervisor must not leave ``weed`` running."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


async def serve(port: int, socket_path: str, command: list[str]) -> int:
    """Start ``command``, forward 127.0.0.1:``port`` to ``socket_path`` until the command exits."""
    child = await asyncio.create_subprocess_exec(*command, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, child.terminate)
    server = await asyncio.start_server(lambda r, w: _forward(socket_path, r, w), "127.0.0.1", port,
                                        reuse_address=True)
    async with server:
        code = await child.wait()
    Path(socket_path).unlink(missing_ok=True)
    return code


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m distillery.remote.gateway", description=__doc__)
    parser.add_argument("--port", type=int)
    parser.add_argument("--socket")
    parser.add_argument("--loopback-then", action="store_true", help="inside the namespace: raise lo, exec")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.loopback_then:
        bring_loopback_up()
        os.execv(command[0], command)
    sys.exit(asyncio.run(serve(args.port, args.socket, command)))


if __name__ == "__main__":
    main()
