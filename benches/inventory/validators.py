"""Checks of single values: identifiers, addresses, names.

Each check takes the text from the YAML file and returns it normalised, or
raises ``InvalidValue`` with a message that names the value. They know
nothing about YAML, files or lines; the loader adds those.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

Check = Callable[[str], str]

LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")

_DIGITS = re.compile(r"[0-9]+")
_MAC = re.compile(r"[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}", re.IGNORECASE)
_SHA256 = re.compile(r"[0-9a-f]{64}", re.IGNORECASE)
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# ITU E.212: geographic codes are 2xx-7xx; 001 is the test network, 901/902
# are international, 999 is for private networks (private LTE benches use it).
_NON_GEOGRAPHIC_MCCS = frozenset({"001", "901", "902", "999"})


class InvalidValue(ValueError):
    """A value of the right type whose content is wrong."""


def is_digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` would also accept '²' or '٣'."""
    return _DIGITS.fullmatch(text) is not None


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def imei(text: str) -> str:
    if not (len(text) == 15 and is_digits(text)):
        raise InvalidValue(f"IMEI {text} must be 15 digits")
    if not luhn_ok(text):
        raise InvalidValue(f"IMEI {text} fails its Luhn check")
    return text


def iccid(text: str) -> str:
    """19 or 20 digits starting with 89 (ITU E.118).

    A 20-digit ICCID is 19 digits plus a Luhn check digit, so it must pass
    Luhn. A 19-digit one may be 18 + check digit or 19 without one (issuers
    differ), so Luhn is not required there.
    """
    if not (19 <= len(text) <= 20 and is_digits(text)):
        raise InvalidValue(f"ICCID {text} must be 19 or 20 digits")
    if not text.startswith("89"):
        raise InvalidValue(f"ICCID {text} must start with 89 (the telecom industry prefix)")
    if len(text) == 20 and not luhn_ok(text):
        raise InvalidValue(f"ICCID {text} fails its Luhn check (required for 20 digits)")
    return text


def imsi(text: str) -> str:
    if not (14 <= len(text) <= 15 and is_digits(text)):
        raise InvalidValue(f"IMSI {text} must be 14 or 15 digits")
    mcc = text[:3]
    if not ("2" <= mcc[0] <= "7" or mcc in _NON_GEOGRAPHIC_MCCS):
        raise InvalidValue(
            f"IMSI {text} starts with {mcc}, which is no mobile country code "
            "(2xx-7xx, 001, 901, 902 or 999)"
        )
    return text


def mac(text: str) -> str:
    """Six hex pairs separated by ':' or '-' (one kind); returns ``aa:bb:cc:dd:ee:ff``."""
    if _MAC.fullmatch(text) is None:
        raise InvalidValue(f"MAC address {text} must be six hex pairs separated by ':' or '-'")
    return text.lower().replace("-", ":")


def ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        pass
    if _is_ipv6(text):
        raise InvalidValue(f"{text} is an IPv6 address, expected IPv4")
    raise InvalidValue(f"{text} is not an IPv4 address")


def ipv6(text: str) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        pass
    if _is_ipv4(text):
        raise InvalidValue(f"{text} is an IPv4 address, expected IPv6")
    raise InvalidValue(f"{text} is not an IPv6 address")


def loopback_ipv4(text: str) -> str:
    address = ipv4(text)
    if ipaddress.IPv4Address(address) not in LOOPBACK_V4:
        raise InvalidValue(
            f"{text} is outside 127.0.0.0/8: the virtual rack must never send anywhere but loopback"
        )
    return address


def host_name(text: str) -> str:
    """A DNS host name in ASCII (IDNs in their xn-- form); returns it lower-cased.

    One trailing dot (a fully qualified name) is accepted and dropped.
    """
    name = text.lower()
    name = name.removesuffix(".")
    labels = name.split(".")
    if not (
        text.isascii()
        and 0 < len(name) <= 253
        and all(_LABEL.fullmatch(label) for label in labels)
        and not is_digits(labels[-1])
    ):
        raise InvalidValue(
            f"{text or '(empty)'} is not a host name: dot-separated labels of letters, "
            "digits and inner hyphens, at most 63 characters each"
        )
    return name


def host(text: str) -> str:
    """An IP address (either family) or a host name."""
    if _is_ipv4(text) or _is_ipv6(text):
        return str(ipaddress.ip_address(text))
    return host_name(text)


def port(number: int) -> int:
    if not 1 <= number <= 65535:
        raise InvalidValue(f"port {number} is outside 1-65535")
    return number


def host_port(text: str) -> tuple[str, int]:
    """``host:port``, with an IPv6 host in brackets (``[::1]:5555``)."""
    host_text, colon, port_text = text.rpartition(":")
    if not colon or not host_text:
        raise InvalidValue(f"{text} must be host:port")
    if host_text.startswith("[") and host_text.endswith("]"):
        host_text = host_text[1:-1]
        if not _is_ipv6(host_text):
            raise InvalidValue(f"{text}: only an IPv6 address goes in brackets")
    elif ":" in host_text:
        raise InvalidValue(f"{text}: an IPv6 host goes in brackets, as in [::1]:5555")
    if not is_digits(port_text):
        raise InvalidValue(f"{text} must end in :PORT, a number 1-65535")
    return host(host_text), port(int(port_text))


def sha256(text: str) -> str:
    if _SHA256.fullmatch(text) is None:
        raise InvalidValue(f"sha256 {text} must be 64 hex digits")
    return text.lower()


def interface_name(text: str) -> str:
    """A Linux network interface name (the kernel's dev_valid_name rules)."""
    if not (0 < len(text) < 16) or text in (".", "..") or any(_bad_in_ifname(c) for c in text):
        raise InvalidValue(
            f"{text} is not a network interface name: 1-15 characters, no '/', ':' or spaces"
        )
    return text


def word(text: str) -> str:
    """A non-empty value without whitespace: serials, build ids, names of behaviours."""
    if not text or any(char.isspace() or not char.isprintable() for char in text):
        raise InvalidValue(f"{text!r} must be one word: not empty, no spaces")
    return text


def plain_name(text: str) -> str:
    """One word that is also safe as a file or folder name (a build id names
    ``reports/pcaps/<build>/``): no '/', no '..', nothing a shell or a URL mangles."""
    word(text)
    if _PLAIN_NAME.fullmatch(text) is None:
        raise InvalidValue(
            f"{text} must be a plain name: up to 128 letters, digits, '.', '_', '-' or '+', "
            "starting with a letter or digit (it names folders under reports/)"
        )
    return text


def label(text: str) -> str:
    """Free text such as a model or owner name: not empty, one line."""
    if not text.strip() or not text.isprintable():
        raise InvalidValue(f"{text!r} must be non-empty text on one line")
    return text


def _bad_in_ifname(char: str) -> bool:
    return char in "/:" or char.isspace() or not char.isprintable()


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
