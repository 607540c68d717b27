"""How Android names a CA file in its store: `<subject_hash_old>.0`.

subject_hash_old is OpenSSL's pre-1.0 hash (`openssl x509 -subject_hash_old`):
the first four bytes of the MD5 of the DER subject, read little-endian.
"""

from __future__ import annotations

import hashlib

from cryptography import x509


class CertificateUnreadable(ValueError):
    pass


def subject_hash_old(pem: bytes) -> str:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as error:
        raise CertificateUnreadable(f"not a PEM certificate: {error}") from None
    digest = hashlib.md5(certificate.subject.public_bytes(), usedforsecurity=False).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def android_ca_name(pem: bytes) -> str:
    return f"{subject_hash_old(pem)}.0"
