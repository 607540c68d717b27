"""The written forms of each identifier: every way a phone's software spells it.

A :class:`Form` is bytes plus what may not touch them: an IMEI inside a longer
digit run is some other number, so numeric forms carry a digit
:class:`Boundary`. Encodings (:mod:`benches.analysis.detection.encodings`) are applied on
top of a form; a form never encodes anything itself.

Decisions:

- IMEISV: the 14 digits of TAC + serial followed by exactly two more digits,
  whatever they are (:class:`Suffix`): the software version changes with
  every update, so devices.yaml never lists it. One exception: when the first
  of the two is the IMEI's check digit, the 16 digits are the 15-digit IMEI
  plus one more digit, which the rack's tests call a longer number, not a hit.
- An ICCID is the value devices.yaml gives. A 19-digit value also counts with
  its Luhn check digit appended (``iccid-luhn``) and with the SIM's F filler
  (``iccid-f``). The first 19 digits of a 20-digit ICCID on their own are a
  prefix, not a hit: the rack's tests call that a near miss.
- BCD forms are the bytes the SIM stores (ETSI TS 102 221 §13.2 for EF_ICCID,
  3GPP TS 31.102 §4.2.2 for EF_IMSI): binary, so their encodings are the
  binary ones (raw, hex, base64, percent-escapes), not JSON escapes or digests.
- The IMEISV has no digest forms: a digest needs the version, which is unknown.
- Letters (a serial, a MAC) match in any case as plain text. Exact-case
  encodings (base64, digests) cannot fold case, so they are made of each of
  three variants: as written, lower case and upper case.
- A MAC's raw six bytes are not a form: 48 bits are below the 64-bit floor of
  a boundary-less pattern, and the phone sends them legitimately in every
  Ethernet header, ARP and DHCP packet on the bench's own network.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from benches.inventory.models import Identity

DIGITS = frozenset(b"0123456789")
HEX = frozenset(b"0123456789abcdefABCDEF")
ALNUM = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# 2-6-6-1 is how GSMA and phone labels group an IMEI (TAC 8 = 2 + 6, serial 6,
# check 1); 8-6-1 splits TAC, serial and check digit.
IMEI_GROUPS = {
    "imei-2-6-6-1": (2, 6, 6, 1),
    "imei-8-6-1": (8, 6, 1),
    "imei-2-6-6": (2, 6, 6),
}
SEPARATORS = (b"-", b" ")


@dataclass(frozen=True)
class Boundary:
    """Characters that may not stand next to a form: they would make it part of a longer one.

    With ``separators``, a separator followed by such a character does not
    end the form either ("35-209810-012345-2-7" is no IMEI).
    """

    before: frozenset[int]
    after: frozenset[int]
    separators: frozenset[int] = frozenset()

    def allows(self, before: list[int], after: list[int]) -> bool:
        """``before``: the decoded characters before the form, nearest first; ``after`` likewise."""
        return self._side(before, self.before) and self._side(after, self.after)

    def _side(self, chars: list[int], blocked: frozenset[int]) -> bool:
        if not chars:
            return True
        if chars[0] in blocked:
            return False
        return not (chars[0] in self.separators and len(chars) > 1 and chars[1] in blocked)


NUMBER = Boundary(DIGITS, DIGITS)


@dataclass(frozen=True)
class Suffix:
    """Digits that must follow a form, whatever they are: an IMEISV's software version."""

    length: int
    # First digits that make it another form. Empty for the IMEISV: any 16
    # digits that start with the phone's TAC+SNR are that phone's IMEISV, even
    # when the SV's first digit happens to equal the IMEI's check digit.
    refused: frozenset[int] = frozenset()


WORD = Boundary(ALNUM, ALNUM)


@dataclass(frozen=True)
class Form:
    kind: str  # "imei", "iccid", "imsi", "serial" or "wifi_mac"
    value: str  # the identifier as devices.yaml writes it
    name: str  # "imei-15", "iccid-bcd", ...
    data: bytes  # the form's bytes, in one letter case
    boundary: Boundary | None = None  # None: nothing is checked around it
    binary: bool = False  # raw bytes (BCD), not text
    codec: str = "ascii"  # how its characters are bytes: "ascii", "utf-16-le" or "utf-16-be"
    suffix: Suffix | None = None


def identifiers(identity: Identity) -> Iterator[tuple[str, str]]:
    """(kind, value) for every identifier of a phone; every IMEI of a multi-SIM phone."""
    for imei in identity.imei:
        yield "imei", imei
    others = {
        "iccid": identity.iccid,
        "imsi": identity.imsi,
        "serial": identity.serial,
        "wifi_mac": identity.wifi_mac,
    }
    for kind, value in others.items():
        if value:
            yield kind, value


def forms(kind: str, value: str) -> list[Form]:
    """Every form of one identifier, most specific first."""
    if kind == "imei" and _digits(value, 15):
        return _imei(value)
    if kind == "iccid" and value.isascii() and value.isdigit():
        return _iccid(value)
    if kind == "imsi" and value.isascii() and value.isdigit():
        return _imsi(value)
    if kind == "wifi_mac" and _mac_octets(value):
        return _mac(value)
    return _word(kind, value)


# --- IMEI -------------------------------------------------------------------


def _imei(value: str) -> list[Form]:
    base = value[:14]  # TAC + serial, without the check digit
    version = Suffix(2)
    found = [
        Form("imei", value, "imei-15", value.encode(), NUMBER),
        Form("imei", value, "imei-14", base.encode(), NUMBER),
        Form("imei", value, "imeisv", base.encode(), NUMBER, suffix=version),
    ]
    for separator in SEPARATORS:
        edge = Boundary(DIGITS, DIGITS, frozenset(separator))
        for name, sizes in IMEI_GROUPS.items():
            found.append(Form("imei", value, name, _grouped(value, sizes, separator), edge))
        sv = _grouped(base, (2, 6, 6), separator) + separator
        found.append(Form("imei", value, "imeisv-2-6-6-2", sv, edge, suffix=version))
    return found


def _grouped(digits: str, sizes: tuple[int, ...], separator: bytes) -> bytes:
    parts, position = [], 0
    for size in sizes:
        parts.append(digits[position : position + size].encode())
        position += size
    return separator.join(parts)


# --- ICCID and IMSI -----------------------------------------------------------


def _iccid(value: str) -> list[Form]:
    found = [Form("iccid", value, "iccid", value.encode(), NUMBER)]
    if len(value) == 20 and luhn_digit(value[:19]) == value[19]:
        # The issue asks for the ICCID "without the check digit" too; a shorter
        # prefix (the issuer's) never matches.
        found.append(Form("iccid", value, "iccid-19", value[:19].encode(), NUMBER))
    if len(value) % 2:
        # An odd-length ICCID is stored with an F filler; software that prints
        # the raw EF_ICCID shows it. Appending the Luhn digit gives 20 digits.
        with_check = value + luhn_digit(value)
        found.append(Form("iccid", value, "iccid-luhn", with_check.encode(), NUMBER))
        found.append(Form("iccid", value, "iccid-f", value.encode() + b"f", Boundary(DIGITS, HEX)))
        found.append(_bcd_form("iccid", value, "iccid-luhn-bcd", swapped_bcd(with_check)))
    found.append(_bcd_form("iccid", value, "iccid-bcd", swapped_bcd(value)))
    return found


def _imsi(value: str) -> list[Form]:
    return [
        Form("imsi", value, "imsi", value.encode(), NUMBER),
        _bcd_form("imsi", value, "imsi-bcd", ef_imsi(value)),
    ]


def _bcd_form(kind: str, value: str, name: str, data: bytes) -> Form:
    return Form(kind, value, name, data, binary=True)


def swapped_bcd(digits: str) -> bytes:
    """Two digits per byte, the first in the low nibble; an odd count ends with an F nibble.

    ETSI TS 102 221 §13.2 (EF_ICCID): "89358051…" is stored as 98 53 08 15 ….
    """
    nibbles = [int(d) for d in digits] + ([0xF] if len(digits) % 2 else [])
    return bytes(nibbles[i] | nibbles[i + 1] << 4 for i in range(0, len(nibbles), 2))


def ef_imsi(imsi: str) -> bytes:
    """The 9 bytes of EF_IMSI (3GPP TS 31.102 §4.2.2), as a SIM stores them.

    Byte 1 is the length of what follows (8). Then the mobile identity of
    3GPP TS 24.008 §10.5.1.4: the low nibble of byte 2 is the identity type
    IMSI (001) with bit 4 set when the digit count is odd (so 9 for the usual
    15 digits, 1 for 14), its high nibble the first digit; the other digits
    follow two per byte, low nibble first, an F filling the last nibble of an
    even count. 244051000000001 → 08 29 44 50 01 00 00 00 10.
    """
    first = int(imsi[0]) << 4 | (0x9 if len(imsi) % 2 else 0x1)
    rest = swapped_bcd(imsi[1:])
    body = bytes([first]) + rest
    return bytes([len(body)]) + body


def luhn_digit(digits: str) -> str:
    """The check digit that makes ``digits`` + it pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str(-total % 10)


# --- serial and MAC -------------------------------------------------------------


def _word(kind: str, value: str) -> list[Form]:
    """A serial (or anything else): any letter case, in ASCII and in UTF-16."""
    text = value.encode("utf-8")
    found = []
    for variant in _cases(text):
        found.append(Form(kind, value, kind, variant, WORD))
        for name, codec in (("utf16le", "utf-16-le"), ("utf16be", "utf-16-be")):
            wide = variant.decode("utf-8").encode(codec)
            found.append(Form(kind, value, f"{kind}-{name}", wide, WORD, codec=codec))
    return found


def _mac(value: str) -> list[Form]:
    octets = _mac_octets(value)
    edge = Boundary(HEX, HEX, frozenset(b":-"))
    found = []
    for variant in _cases(":".join(octets).encode()):
        hex_pairs = variant.split(b":")
        for name, separator in (("mac-colon", b":"), ("mac-dash", b"-"), ("mac-bare", b"")):
            found.append(Form("wifi_mac", value, name, separator.join(hex_pairs), edge))
    return found


def _cases(text: bytes) -> list[bytes]:
    """As written, lower and upper case, without repeats."""
    return list(dict.fromkeys((text, text.lower(), text.upper())))


def _mac_octets(value: str) -> list[str]:
    if re.fullmatch(r"[0-9A-Fa-f]{2}([:-]?)(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}", value) is None:
        return []
    return re.findall(r"[0-9a-f]{2}", value.lower())


def _digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()
