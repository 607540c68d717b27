"""What a session was started with: the rack and the manifest, loaded once from the
options, and the stash keys the plugin's hooks and fixtures share.

A leaf: hooks.py and fixtures.py both import it, and neither imports the other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from benches.inventory import InventoryError, load_manifest, load_rack
from benches.inventory.models import Manifest, Rack

SIGNOFF_RUN_KEY = pytest.StashKey[bool]()  # set when the session collected sign-off tests
_RACK_KEY = pytest.StashKey[Rack]()
_MANIFEST_KEY = pytest.StashKey[Manifest]()
T = TypeVar("T")


def rack_of(config: pytest.Config) -> Rack:
    """devices.yaml, loaded once per session; a bad file stops the run with one line."""
    if _RACK_KEY not in config.stash:
        config.stash[_RACK_KEY] = _load(load_rack, config.getoption("devices"))
    return config.stash[_RACK_KEY]


def manifest_of(config: pytest.Config) -> Manifest:
    """The --firmware manifest, loaded once per session, checked against the rack."""
    if _MANIFEST_KEY not in config.stash:
        manifest = _load(load_manifest, config.getoption("firmware"))
        # The simulator only where the rack is virtual: a real bench never loads it. A
        # parallel sign-off's worker skips it: its controller checked it before any worker
        # started, and the simulator's imports are most of a worker's avoidable start-up.
        if rack_of(config).virtual and not hasattr(config, "workerinput"):
            from benches.sim.firmware.behaviours import Firmware, UnknownBehaviour

            try:
                Firmware(manifest.virtual_behaviours)
            except UnknownBehaviour as error:
                raise pytest.UsageError(f"{manifest.path}: virtual.behaviours: {error}") from None
        chosen = config.getoption("interception", None)
        if chosen is not None:  # --interception overrides the manifest's key
            manifest = dataclasses.replace(manifest, interception=chosen)
        config.stash[_MANIFEST_KEY] = manifest
    return config.stash[_MANIFEST_KEY]


def _load(loader: Callable[[Path], T], path: str) -> T:
    try:
        return loader(Path(path))
    except InventoryError as error:
        raise pytest.UsageError(str(error)) from None
