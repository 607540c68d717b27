"""A firmware manifest, as composed YAML nodes, to a validated Manifest."""

from __future__ import annotations

from pathlib import Path

import yaml

from benches.inventory import regions, validators
from benches.inventory.models import INTERCEPTION_SETTINGS, Image, Manifest, Policy
from benches.inventory.nodes import Cursor
from benches.inventory.validators import InvalidValue


def read_manifest(root: Cursor, path: Path) -> Manifest:
    values = root.fields(
        required={
            "build": lambda c: c.checked(validators.plain_name),
            "fingerprint": _word,
            "region": _word,
            "policy": read_policy,
        },
        optional={
            "image": read_image,
            "virtual": read_virtual_behaviours,
            "interception": read_interception,
        },
    )
    # The YAML nests behaviours under `virtual:`; the model keeps them flat.
    if "virtual" in values:
        values["virtual_behaviours"] = values.pop("virtual")
    return Manifest(path=path, **values)


def read_policy(cursor: Cursor) -> Policy:
    values = cursor.fields(
        required={"allowed_countries": read_countries},
        optional={
            "allowed_hosts": read_host_suffixes,
            "identifier_recipients": read_host_suffixes,
            "opaque_hosts": read_host_suffixes,
        },
    )
    return Policy(**values)


def read_countries(cursor: Cursor) -> frozenset[str]:
    """Codes and group names, with every group expanded to its members."""
    expanded = cursor.list_of(lambda item: item.checked(regions.countries))
    return frozenset().union(*expanded)


def read_host_suffixes(cursor: Cursor) -> tuple[str, ...]:
    names = cursor.list_of(lambda item: item.checked(validators.host_name))
    return tuple(dict.fromkeys(names))


def read_image(cursor: Cursor) -> Image:
    values = cursor.fields(
        required={
            "path": lambda c: c.checked(validators.label),
            "sha256": lambda c: c.checked(validators.sha256),
        }
    )
    return Image(**values)


def read_virtual_behaviours(cursor: Cursor) -> tuple[str, ...]:
    values = cursor.fields(required={}, optional={"behaviours": lambda c: c.list_of(_word)})
    behaviours: tuple[str, ...] = values.get("behaviours", ())
    return behaviours


def read_interception(cursor: Cursor) -> str:
    """YAML 1.1 reads a bare `off` as a boolean: that one means "off" too."""
    node = cursor.node
    boolean = isinstance(node, yaml.ScalarNode) and node.tag.endswith(":bool")
    if boolean and str(node.value).lower() in ("off", "false", "no"):
        return "off"
    return cursor.checked(interception_setting)


def interception_setting(text: str) -> str:
    """`required`, `optional` or `off` (the manifest's key, and the --interception option)."""
    if text not in INTERCEPTION_SETTINGS:
        raise InvalidValue(f"interception must be one of {', '.join(INTERCEPTION_SETTINGS)}")
    return text


def _word(cursor: Cursor) -> str:
    return cursor.checked(validators.word)
