"""Locking the embedded SeaweedFS server down to its S3 port and credentials.

``weed mini`` listens on more than the S3 port: master, volume, filer and admin each serve HTTP, and
each has a gRPC twin (port + 10000). Out of the box, the filer's HTTP API lists, reads and replaces
any object, and its gRPC API writes entries, all without the S3 credentials: whoever reaches the
machine's loopback could swap weights and their ``checksums.json`` together. SeaweedFS's own
security settings close each door:

- JWT signing keys for volume reads and writes (``jwt.signing``, ``jwt.signing.read``) and for the
  filer's HTTP API (``jwt.filer_signing``, ``jwt.filer_signing.read``): random per launch, known only
  to the server process, so every HTTP read or write outside S3 is refused ("wrong jwt", 401);
- mutual TLS on every gRPC port (``grpc.*``) with a certificate authority made on the first start:
  a client without the server's client certificate cannot complete the handshake;

All of it reaches the server as environment variables (SeaweedFS maps ``WEED_JWT_SIGNING_KEY`` to
``jwt.signing.key``), never as a file in the work tree beside the data.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from pathlib import Path

TLS_DIR = "tls"
GRPC_COMPONENTS = ("master", "volume", "filer", "s3", "admin", "worker", "msg_broker", "msg_agent", "mq")


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def ensure_certificates(state_dir: Path) -> dict[str, Path]:
    """A CA and one certificate (server and client use) under ``state_dir/tls``, made once."""
    folder = state_dir / TLS_DIR
    files = {"ca": folder / "ca.crt", "cert": folder / "weed.crt", "key": folder / "weed.key"}
    if all(path.is_file() for path in files.values()):
        return files
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "distillery local S3 CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "distillery-weed")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files["ca"].write_bytes(ca_cert.public_bytes(pem))
    files["cert"].write_bytes(cert.public_bytes(pem))
    _write_private(files["key"], key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return files  # the CA key is never written: nobody can issue another trusted certificate


def security_environment(state_dir: Path) -> dict[str, str]:
    """The ``WEED_*`` variables that turn SeaweedFS's security settings on for one launch."""
    tls = ensure_certificates(state_dir)
    env = {f"WEED_JWT_{name}_KEY": secrets.token_urlsafe(32)
           for name in ("SIGNING", "SIGNING_READ", "FILER_SIGNING", "FILER_SIGNING_READ")}
    env["WEED_GRPC_CA"] = str(tls["ca"].resolve())
    for component in (*GRPC_COMPONENTS, "client"):
        env[f"WEED_GRPC_{component.upper()}_CERT"] = str(tls["cert"].resolve())
        env[f"WEED_GRPC_{component.upper()}_KEY"] = str(tls["key"].resolve())
    return env
