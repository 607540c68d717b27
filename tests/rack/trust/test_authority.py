"""Android's CA file name for a certificate is OpenSSL's subject_hash_old, and the virtual
rack names its own CA the same way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benches.rack.trust.authority import CertificateUnreadable, android_ca_name, subject_hash_old
from benches.sim.network.certs import RackAuthority
from tests.support.tools import require_tool


def test_subject_hash_old_is_openssls(tmp_path: Path) -> None:
    authority = RackAuthority("Bench Interception CA")
    pem = tmp_path / "ca.pem"
    pem.write_bytes(authority.pem())
    openssl = subprocess.run(
        [
            require_tool("openssl", "openssl"),
            "x509",
            "-noout",
            "-subject_hash_old",
            "-in",
            str(pem),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert subject_hash_old(authority.pem()) == openssl.stdout.strip()
    assert android_ca_name(authority.pem()) == authority.android_name()


def test_a_file_that_is_not_a_certificate_is_one_line() -> None:
    with pytest.raises(CertificateUnreadable, match="^not a PEM certificate"):
        subject_hash_old(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
