"""HTTPS for ``mpsim.serve(tls=True)``: a local certificate authority and a server certificate from it.

Some clients will not talk plain HTTP (the Node client with a secret or service account; the Python
client retries only over HTTPS), so the server can speak TLS with a certificate for loopback and
Mixpanel's own host names, signed by a CA made on this machine (``trustme``). Clients trust it by
its file (``ca_path``); nothing is installed system-wide. Keep the CA in a folder of your choice
(``tls_dir=``) to trust it once and reuse it across runs.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .wire import HOSTS

#: Names the server certificate is valid for: loopback and every Mixpanel ingestion host (for hosts-file use).
CERT_NAMES = ("127.0.0.1", "::1", "localhost", *HOSTS)


@dataclass
class LocalTLS:
    """A local CA and a server certificate, on disk, with the server's ``ssl.SSLContext``."""

    directory: Path
    ca_path: Path
    cert_path: Path
    key_path: Path
    context: ssl.SSLContext
    temporary: bool

    def cleanup(self) -> None:
        """Remove the files when they were made in a temporary folder."""
        if self.temporary:
            shutil.rmtree(self.directory, ignore_errors=True)

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl.SSLContext`` for a client that trusts this CA only."""
        return ssl.create_default_context(cafile=str(self.ca_path))


def _trustme() -> Any:
    try:
        import trustme
    except ImportError:  # pragma: no cover - trustme is a dependency of the tls extra and of the test extra
        raise ImportError("serve(tls=True) needs trustme: pip install 'mpsim[tls]'") from None
    return trustme


def local_tls(tls_dir: str | Path | None = None) -> LocalTLS:
    """Make (or, in ``tls_dir``, reuse) a CA and issue a server certificate for :data:`CERT_NAMES`.

    In ``tls_dir`` the CA is kept as ``ca.pem`` + ``ca.key`` and reused when present, so a browser
    or system that trusted it once keeps trusting it; without ``tls_dir`` everything lives in a
    temporary folder removed when the server stops.
    """
    trustme = _trustme()
    temporary = tls_dir is None
    directory = Path(tempfile.mkdtemp(prefix="mpsim-tls-")) if tls_dir is None else Path(tls_dir)
    if not temporary:
        if directory.exists() and not directory.is_dir():
            raise ValueError(f"tls_dir must be a folder, not the file {str(directory)!r}")
        directory.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key = directory / "ca.pem", directory / "ca.key"
    if ca_path.exists() and ca_key.exists():
        try:
            ca = trustme.CA.from_pem(ca_path.read_bytes(), ca_key.read_bytes())
        except ValueError as exc:
            raise ValueError(f"tls_dir {str(directory)!r}: ca.pem/ca.key are not a CA certificate and key: {exc}") \
                from None
    else:
        ca = trustme.CA(organization_name="mpsim local CA")
        ca.cert_pem.write_to_path(str(ca_path))
        ca.private_key_pem.write_to_path(str(ca_key))
        ca_key.chmod(0o600)
    cert = ca.issue_cert(*CERT_NAMES)
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    with cert_path.open("wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    cert.private_key_pem.write_to_path(str(key_path))
    key_path.chmod(0o600)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_path), str(key_path))
    return LocalTLS(directory, ca_path, cert_path, key_path, context, temporary)
