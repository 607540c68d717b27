"""Certificates for the virtual rack: its public CA, the endpoints' certificates it signs."""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def write_self_signed(host: str, directory: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for `host`, signed by its own key, owner-readable only."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = _leaf(host, key, _common_name(host), key)
    return _write_pair(host, directory, certificate.public_bytes(serialization.Encoding.PEM), key)


def _common_name(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def _leaf(
    host: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    """A week's server certificate for `host` (its key `key`), signed by `signer`."""
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_common_name(host))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(signer, hashes.SHA256())
    )


def _write_pair(
    host: str, directory: Path, chain_pem: bytes, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    """`host.crt` (the chain) and `host.key` (created owner-only before the key goes in)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{host}.crt", directory / f"{host}.key"
    cert_path.write_bytes(chain_pem)
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class RackAuthority:
    """The virtual rack's public CA: it signs every endpoint's certificate, and every virtual
    phone's system store holds it, as a real phone's holds the web's public roots."""

    def __init__(self, name: str = "Virtual Rack Public Root CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = _common_name(name)
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def android_name(self) -> str:
        """Its file name in an Android CA store: `<subject_hash_old>.0` (the MD5 of the
        DER subject, first four bytes little-endian), as the phone's own store names it."""
        digest = hashlib.md5(self.certificate.subject.public_bytes(), usedforsecurity=False)
        return f"{int.from_bytes(digest.digest()[:4], 'little'):08x}.0"

    def issue(self, host: str, directory: Path) -> tuple[Path, Path]:
        """(certificate chain, key) PEM files for `host`, signed by this CA, key owner-only."""
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = _leaf(host, key, self.certificate.subject, self.key)
        chain = certificate.public_bytes(serialization.Encoding.PEM) + self.pem()
        return _write_pair(host, directory, chain, key)
