"""TLS for the emulator: a CA generated at start, a server certificate for 127.0.0.1/localhost, a CA bundle.

Clients trust the emulator through the standard ``REQUESTS_CA_BUNDLE``. These machines already point
that variable at the system bundle, so the emulator writes ``ca-bundle.pem`` = the existing bundle plus
its own CA (earlier emulator CAs in the existing bundle are dropped, so bundles do not pile up).
"""

import ipaddress
import os
import re
import ssl
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_MARKER = "# azbackup emulator CA (generated at start; safe to delete)"
_MARKED_BLOCK = re.compile(re.escape(CA_MARKER) + r"\s*-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\s*",
                           re.DOTALL)
_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "azbackup emulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path, data, mode=0o644):
    """Write atomically (temp file + rename) so a reader never sees half a file."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.chmod(temp, mode)
    os.replace(temp, path)


def existing_bundle_path():
    """The CA bundle clients use today: $REQUESTS_CA_BUNDLE, $SSL_CERT_FILE, the system bundle, or certifi's."""
    for variable in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = os.environ.get(variable)
        if value and Path(value).is_file():
            return Path(value)
    for candidate in _SYSTEM_BUNDLES:
        if Path(candidate).is_file():
            return Path(candidate)
    try:
        import certifi  # pylint: disable=import-outside-toplevel  # optional: only when no system bundle exists
    except ImportError:
        return None
    return Path(certifi.where())


def create_tls_files(state_dir):
    """Generate CA and server certificate in ``state_dir``; return an SSLContext for the server."""
    state_dir = Path(state_dir)
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("azbackup emulator CA")
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca_name)
        .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    server_pem = server_cert.public_bytes(serialization.Encoding.PEM)
    key_pem = server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    _write(state_dir / "ca.pem", ca_pem)
    _write(state_dir / "server.pem", server_pem + ca_pem)
    _write(state_dir / "server-key.pem", key_pem, mode=0o600)
    _write(state_dir / "ca-bundle.pem", _bundle(ca_pem))

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(state_dir / "server.pem"), str(state_dir / "server-key.pem"))
    return context


def _bundle(ca_pem):
    source = existing_bundle_path()
    existing = ""
    if source is not None:
        existing = _MARKED_BLOCK.sub("", source.read_text(encoding="utf-8", errors="replace"))
        if existing and not existing.endswith("\n"):
            existing += "\n"
    return (existing + CA_MARKER + "\n").encode() + ca_pem
