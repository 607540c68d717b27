"""Files to composed YAML nodes to models: the inventory's two entry points."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from benches.inventory.errors import InventoryError
from benches.inventory.manifest import read_manifest
from benches.inventory.models import Manifest, Rack
from benches.inventory.nodes import Cursor
from benches.inventory.rack import read_rack

PathLike = str | os.PathLike[str]


def load_rack(path: PathLike) -> Rack:
    """Read and validate devices.yaml; raises InventoryError naming file:line:key."""
    return read_rack(_root_mapping(path), Path(path))


def load_manifest(path: PathLike) -> Manifest:
    """Read and validate a firmware manifest; raises InventoryError naming file:line:key."""
    return read_manifest(_root_mapping(path), Path(path))


def _root_mapping(path: PathLike) -> Cursor:
    name = os.fspath(path)
    root = Cursor(_compose(name, _read_text(name)), name)
    if not isinstance(root.node, yaml.MappingNode):
        raise root.error(f"the top level must be a mapping of keys, got {root.described()}")
    return root


def _read_text(name: str) -> str:
    try:
        data = Path(name).read_bytes()
    except FileNotFoundError:
        raise InventoryError(name, "file not found") from None
    except (OSError, ValueError) as problem:  # ValueError: a NUL byte in the path
        reason = getattr(problem, "strerror", None) or str(problem)
        raise InventoryError(name, f"cannot read: {reason}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as bad:
        line = data.count(b"\n", 0, bad.start) + 1
        raise InventoryError(name, "not UTF-8 text", line=line) from None


def _compose(name: str, text: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as bad:
        mark = bad.problem_mark or bad.context_mark
        line = mark.line + 1 if mark else None
        raise InventoryError(name, f"not valid YAML: {_yaml_problem(bad)}", line=line) from None
    except yaml.reader.ReaderError as bad:
        line = text.count("\n", 0, bad.position) + 1
        # Given text, PyYAML reports the offending code point as an int.
        message = f"not valid YAML: character #x{bad.character:04x}: {bad.reason}"
        raise InventoryError(name, message, line=line) from None
    except RecursionError:
        raise InventoryError(name, "not valid YAML: nested too deeply") from None
    if root is None:
        raise InventoryError(name, "file is empty")
    return root


def _yaml_problem(bad: yaml.MarkedYAMLError) -> str:
    parts = [part for part in (bad.context, bad.problem) if part]
    return ", ".join(parts) or "syntax error"
