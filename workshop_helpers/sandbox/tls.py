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
import logging
import os
import ssl
from pathlib import Path

import certifi
import trustme
from cryptography import x509

from .. import config
from .private_file import SandboxStateError, write_private

log = logging.getLogger(__name__)

HOSTNAMES = (
    "localhost", "127.0.0.1", "::1",
    # The hosts the SDKs use: api.nexmo.com, api.vonage.com and the regional api-*
    # hosts (a wildcard covers one label, so api-us-3.vonage.com matches *.vonage.com).
    "api.nexmo.com", "api.vonage.com", "*.nexmo.com", "*.vonage.com",
)


class LocalCA:
    """The CA certificate, the server's certificate, and an SSL context that serves it.

    All three files are derived data: made again whenever they cannot be used, since the
    CA's key is never kept (so no other file can depend on anything but ca.pem itself) and
    clients trust it per process, by its path, which stays the same. A CA made to replace
    one that was there is said (`notices`, and a WARNING), for programs that loaded the old
    one and keep running; the bundle is rebuilt silently.
    """

    def __init__(self, state_dir: Path):
        state_dir = Path(state_dir)
        self.ca_path = state_dir / "ca.pem"
        self.bundle_path = state_dir / "ca-bundle.pem"
        self.server_pem_path = state_dir / "server.pem"
        #: What this start remade that a client might notice, as sentences to print.
        self.notices: list[str] = []
        try:
            state_dir.mkdir(parents=True, exist_ok=True, mode=config.PRIVATE_DIR_MODE)
            had = [path.name for path in (self.ca_path, self.server_pem_path) if os.path.lexists(path)]
            problem = self._problem()
            if problem:
                self._create()
                if had:
                    self._notice(problem)
            self._write_bundle()
        except OSError as error:  # a file that is a folder, a folder that cannot be written
            raise SandboxStateError(
                f"The sandbox cannot make its certificates in {state_dir} "
                f"({error.strerror or error}{': ' + str(error.filename) if error.filename else ''}): "
                "ca.pem, server.pem and ca-bundle.pem are made again whenever they are deleted, so "
                "delete whichever is in the way (or make the folder writable) and start again."
            ) from None

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server_pem_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the sandbox (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    def _notice(self, problem: str) -> None:
        text = (f"{problem}, so the sandbox made a new CA and server certificate (in "
                f"{self.ca_path.parent}; they are made again whenever they cannot be used). Clients "
                "that read ca.pem or ca-bundle.pem as they start trust the new one; restart any that "
                "were running (Node reads NODE_EXTRA_CA_CERTS only as it starts), and give the new "
                "ca.pem to any that keep a copy of the old one.")
        self.notices.append(text)
        log.warning("%s", text)

    def _problem(self) -> str | None:
        """Why the kept certificates cannot be served, or None: the server's certificate
        and key must load, the kept CA must have issued it, and it must name every host in
        HOSTNAMES (one made by an older kit named localhost only)."""
        for path in (self.ca_path, self.server_pem_path):
            if not path.is_file():
                return f"{path} was missing"
        try:
            (ca,) = x509.load_pem_x509_certificates(self.ca_path.read_bytes())
        except (OSError, ValueError):
            return f"{self.ca_path} could not be read (cut short, or changed)"
        try:
            leaf = x509.load_pem_x509_certificates(self.server_pem_path.read_bytes())[0]
        except (OSError, ValueError):
            return f"{self.server_pem_path} could not be read (cut short, or changed)"
        try:
            self.server_context()  # the key is there, and it is the certificate's own
            issued_by_ca = (
                leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
                == ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.key_identifier
            )
            names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (OSError, ValueError, x509.ExtensionNotFound):  # ssl.SSLError is an OSError
            return f"{self.server_pem_path} does not hold a usable certificate and key"
        if not issued_by_ca:
            return f"{self.ca_path} did not issue {self.server_pem_path}"
        have = set(names.get_values_for_type(x509.DNSName))
        have |= {str(address) for address in names.get_values_for_type(x509.IPAddress)}
        if not all(_canonical(name) in have for name in HOSTNAMES):
            return f"{self.server_pem_path} was made by an older kit (it names fewer hosts)"
        return None

    def _create(self) -> None:
        ca = trustme.CA(organization_name="Voice API Workshop sandbox")
        server = ca.issue_cert(*HOSTNAMES)
        # The CA first, the server's certificate last: an interrupted run leaves no
        # server.pem, or one the CA did not issue, and the next start makes both again.
        write_private(self.ca_path, ca.cert_pem.bytes())
        write_private(self.server_pem_path, server.private_key_and_cert_chain_pem.bytes())

    def _write_bundle(self) -> None:
        """The public CAs plus ours (trusting this file keeps real https working too):
        written again whenever it is not exactly that, a bundle cut short or one made with
        an older CA or an older certifi."""
        # As bytes: PEM is ASCII, and a stray byte must not depend on this machine's locale.
        wanted = Path(certifi.where()).read_bytes().rstrip() + b"\n" + self.ca_path.read_bytes()
        try:
            if self.bundle_path.read_bytes() == wanted:
                return
        except OSError:
            pass
        write_private(self.bundle_path, wanted)


def _canonical(name: str) -> str:
    """An IP address as the certificate stores it ("::1"), a host name as it is."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name
