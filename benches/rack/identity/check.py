"""The cross-check of a phone's own identifiers against what devices.yaml declares for it.

A mismatch is a bench misconfiguration, never a pass: the detector looks for
the declared values, so a wrong one would let the real one leak unseen. The
rules, field by field:

- declared and reported, and they differ: a mismatch;
- reported but not declared (an IMEI, or an ICCID nobody wrote down): a
  mismatch, since the detector cannot look for what it was not told;
- declared, and the phone reports none of that kind (no SIM, a refused call):
  a warning, as it could not be verified;
- an IMEI declared but absent from the phone's list, while the phone does
  report others: a mismatch. The order of the IMEIs does not matter.

ICCIDs compare with two tolerances. A 19-digit ICCID is stored on the SIM
padded with a filler nibble F, which some Android releases report, so trailing
Fs are ignored, in either case. And issuers and modems disagree on whether the
Luhn check digit is part of the ICCID, so a 19-digit and a 20-digit ICCID match
when the first 19 digits agree and the 20th is their Luhn check digit.

Wi-Fi MACs compare in lower case with colons. Every value in a message is masked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benches.inventory.models import Identity
from benches.inventory.validators import is_digits, luhn_ok
from benches.rack.identity.model import HarvestedIdentity
from benches.redaction.masks import identifier_label, mask

log = logging.getLogger(__name__)

FIX = "fix devices.yaml or the rack's cabling"


class IdentityMismatch(Exception):
    """devices.yaml and the phone disagree; str() has one line per mismatch."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = tuple(lines)


@dataclass(frozen=True)
class IdentityCheck:
    mismatches: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def check_identity(declared: Identity, harvested: HarvestedIdentity, serial: str) -> None:
    """Raise IdentityMismatch when they disagree; log what could not be verified."""
    result = compare_identity(declared, harvested, serial)
    for warning in result.warnings:
        log.warning("%s", warning)
    if result.mismatches:
        raise IdentityMismatch(result.mismatches)


def compare_identity(
    declared: Identity, harvested: HarvestedIdentity, serial: str
) -> IdentityCheck:
    mismatches: list[str] = []
    warnings: list[str] = []
    _compare_imeis(declared.imei, harvested, serial, mismatches, warnings)
    scalars: tuple[tuple[str, Callable[[str, str], bool]], ...] = (
        ("iccid", same_iccid),
        ("imsi", str.__eq__),
        ("serial", str.__eq__),
        ("wifi_mac", same_mac),
    )
    for kind, same in scalars:
        want: str | None = getattr(declared, kind)
        got: str | None = getattr(harvested, kind)
        label = identifier_label(kind)
        if got is None:
            if want is not None:
                reason = harvested.missing.get(kind, "no reason given")
                warnings.append(
                    f"{serial}: devices.yaml declares {label} {mask(want)}, but the phone "
                    f"reports none ({reason}): not verified"
                )
        elif want is None:
            mismatches.append(
                f"{serial}: the phone reports {label} {mask(got)}, which devices.yaml does not "
                "declare: declare it, or the detector cannot look for it"
            )
        elif not same(want, got):
            mismatches.append(
                f"{serial}: devices.yaml declares {label} {mask(want)}, the phone reports "
                f"{mask(got)}{_hidden_difference(want, got)}: {FIX}"
            )
    return IdentityCheck(tuple(mismatches), tuple(warnings))


def _compare_imeis(
    declared: Sequence[str],
    harvested: HarvestedIdentity,
    serial: str,
    mismatches: list[str],
    warnings: list[str],
) -> None:
    reported = harvested.imei
    if not reported:
        reason = harvested.missing.get("imei", "no reason given")
        warnings.append(
            f"{serial}: devices.yaml declares IMEI {_masked(declared)}, but the phone "
            f"reports none ({reason}): not verified"
        )
        return
    absent = [imei for imei in declared if imei not in reported]
    extra = [imei for imei in reported if imei not in declared]
    for want, got in zip(absent, extra, strict=False):
        mismatches.append(
            f"{serial}: devices.yaml declares IMEI {mask(want)}, the phone reports "
            f"{mask(got)}{_hidden_difference(want, got)}: {FIX}"
        )
    for want in absent[len(extra) :]:
        mismatches.append(
            f"{serial}: devices.yaml declares IMEI {mask(want)}, which the phone does not "
            f"report (it reports {_masked(reported)}): {FIX}"
        )
    for got in extra[len(absent) :]:
        mismatches.append(
            f"{serial}: the phone reports IMEI {mask(got)}, which devices.yaml does not "
            f"declare: {FIX}"
        )


def same_iccid(declared: str, reported: str) -> bool:
    """Equal, ignoring filler Fs and a Luhn check digit only one side carries."""
    a, b = declared.rstrip("Ff"), reported.rstrip("Ff")
    if a == b:
        return True
    if not (is_digits(a) and is_digits(b)):
        return False
    short, long = sorted((a, b), key=len)
    return len(long) == len(short) + 1 and long.startswith(short) and luhn_ok(long)


def same_mac(declared: str, reported: str) -> bool:
    return declared.lower().replace("-", ":") == reported.lower().replace("-", ":")


def _masked(values: Sequence[str]) -> str:
    return ", ".join(mask(value) for value in values)


def _hidden_difference(want: str, got: str) -> str:
    """Two values can differ only where the mask hides them; say so, or the line reads 'X, X'."""
    return " (they differ in the masked digits)" if mask(want) == mask(got) else ""
