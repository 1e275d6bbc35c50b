"""HTTPS for the sandbox: a local certificate authority made with trustme.

The official SDK always speaks https, so the sandbox must too. On first start it makes a
private CA and a certificate for localhost signed by it, and keeps both in the state
folder; clients trust the sandbox by trusting that one CA file (`curl --cacert ca.pem`,
or `REQUESTS_CA_BUNDLE=ca-bundle.pem` for anything built on requests, like the SDK).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import trustme

HOSTNAMES = ("localhost", "127.0.0.1", "::1")


class LocalCA:
    """The CA certificate, the server's certificate, and an SSL context that serves it."""

    def __init__(self, state_dir: Path):
        state_dir = Path(state_dir)
        self.ca_path = state_dir / "ca.pem"
        self.bundle_path = state_dir / "ca-bundle.pem"
        self.server_pem_path = state_dir / "server.pem"
        if not (self.ca_path.exists() and self.server_pem_path.exists()):
            self._create()
        if not self.bundle_path.exists():
            # The public CAs plus ours: trusting this file keeps real https working too.
            public = Path(certifi.where()).read_text()
            self.bundle_path.write_text(public.rstrip() + "\n" + self.ca_path.read_text())

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_pem_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the sandbox (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    def _create(self) -> None:
        ca = trustme.CA(organization_name="Voice API Workshop sandbox")
        server = ca.issue_cert(*HOSTNAMES)
        server.private_key_and_cert_chain_pem.write_to_path(str(self.server_pem_path))
        self.server_pem_path.chmod(0o600)
        ca.cert_pem.write_to_path(str(self.ca_path))
        self.bundle_path.unlink(missing_ok=True)
