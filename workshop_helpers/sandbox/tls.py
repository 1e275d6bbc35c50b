"""HTTPS for the sandbox: a local certificate authority made with trustme.

The official SDKs always speak https, so the sandbox must too. On first start it makes a
private CA and one server certificate signed by it, and keeps both in the state folder.
The certificate names localhost (the sandbox's own port) and the Vonage API hosts (what
its proxy answers for; see proxy.py). Clients trust the sandbox by trusting that one CA
file, per process (`curl --cacert ca.pem`, or `REQUESTS_CA_BUNDLE=ca-bundle.pem` for
anything built on requests, like the SDK); it is never added to a system trust store.

The CA's private key is never written down: once the certificate is issued, nobody can
sign another one with this CA. trustme issues the extensions strict clients demand
(Python 3.13 refuses a leaf with no Authority Key Identifier): key usage, SAN, AKI, SKI.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

import certifi
import trustme
from cryptography import x509

from .private_file import write_private

HOSTNAMES = (
    "localhost", "127.0.0.1", "::1",
    # The hosts the SDKs use: api.nexmo.com, api.vonage.com and the regional api-*
    # hosts (a wildcard covers one label, so api-us-3.vonage.com matches *.vonage.com).
    "api.nexmo.com", "api.vonage.com", "*.nexmo.com", "*.vonage.com",
)


class LocalCA:
    """The CA certificate, the server's certificate, and an SSL context that serves it."""

    def __init__(self, state_dir: Path):
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        self.ca_path = state_dir / "ca.pem"
        self.bundle_path = state_dir / "ca-bundle.pem"
        self.server_pem_path = state_dir / "server.pem"
        if not self._usable():
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

    def _usable(self) -> bool:
        """Whether the kept certificate can be served: it parses, the kept CA issued it,
        and it names every host in HOSTNAMES (one made by an older kit named localhost
        only). Anything else is made again: it is derived data, and nothing is lost."""
        try:
            leaf = x509.load_pem_x509_certificates(self.server_pem_path.read_bytes())[0]
            (ca,) = x509.load_pem_x509_certificates(self.ca_path.read_bytes())
            issued_by_ca = (
                leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
                == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier
            )
            names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (OSError, ValueError, x509.ExtensionNotFound):
            return False
        have = set(names.get_values_for_type(x509.DNSName))
        have |= {str(address) for address in names.get_values_for_type(x509.IPAddress)}
        return issued_by_ca and all(_canonical(name) in have for name in HOSTNAMES)

    def _create(self) -> None:
        ca = trustme.CA(organization_name="Voice API Workshop sandbox")
        server = ca.issue_cert(*HOSTNAMES)
        # The CA first, the server's certificate last: an interrupted run leaves no
        # server.pem, or one the CA did not issue, and the next start makes both again.
        self.ca_path.write_bytes(ca.cert_pem.bytes())
        self.bundle_path.unlink(missing_ok=True)
        write_private(self.server_pem_path, server.private_key_and_cert_chain_pem.bytes())


def _canonical(name: str) -> str:
    """An IP address as the certificate stores it ("::1"), a host name as it is."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name
