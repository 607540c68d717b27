"""devices.yaml and firmware manifests, loaded into typed, validated models.

Every problem is an ``InventoryError`` whose text is one line,
``FILE:LINE: KEY: MESSAGE``. The keys are documented in docs/devices-yaml.md.
"""

from benches.inventory.errors import InventoryError
from benches.inventory.loader import load_manifest, load_rack

__all__ = ["InventoryError", "load_manifest", "load_rack"]
