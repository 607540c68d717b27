"""False positives of the binary number forms (issue 13): computed, and measured on random data.

    python benchmarks/binary_forms_fp.py [--mib N] [--rack FILE]

A benchmark, not a test: it prints figures and asserts nothing.

For each binary encoding (protobuf-varint, protobuf-zigzag, int64-be, int64-le)
of the rack's numeric identifiers: how many literals, their shortest length, and
the bytes of random data per chance hit, computed (a literal of L bytes matches
an offset with probability 256^-L, exact compare) and measured: the detector run
over N MiB of os.urandom (no hit expected: the figure is far beyond N), and the
model itself checked on the literals' first k bytes (k = 2, 3), whose chance
matches are frequent enough to count.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benches.analysis.detection.detector import Detector, rack_patterns  # noqa: E402
from benches.analysis.detection.encodings import BINARY_NUMBERS  # noqa: E402
from benches.inventory.loader import load_rack  # noqa: E402

MIB = 1 << 20


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if size < 1024:
            return f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:.3g} ZiB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rack", type=Path, default=ROOT / "benchmarks" / "rack20.yaml")
    args = parser.parse_args()
    rack = load_rack(args.rack)
    patterns = [p for p in rack_patterns(rack) if p.encoding in BINARY_NUMBERS]
    print(f"rack: {args.rack.name}, {len(rack.devices)} phones, {len(patterns)} binary literals")
    total = 0.0
    for encoding in BINARY_NUMBERS:
        mine = [p.literal for p in patterns if p.encoding == encoding]
        rate = sum(256.0 ** -len(literal) for literal in mine)  # chance hits per byte
        total += rate
        lengths = Counter(len(literal) for literal in mine)
        print(
            f"  {encoding:16} {len(mine):4} literals, lengths {dict(sorted(lengths.items()))}:"
            f" one chance hit per {_human(1 / rate)} of random bytes"
        )
    print(f"  all binary forms: one chance hit per {_human(1 / total)} of random bytes")
    detector = Detector(rack)
    found: Counter[str] = Counter()
    checks: dict[int, Counter[bytes]] = {2: Counter(), 3: Counter()}
    for literal in {p.literal for p in patterns}:
        for k, counter in checks.items():
            counter[literal[:k]] += 1
    measured = dict.fromkeys(checks, 0)
    for _ in range(args.mib):
        data = os.urandom(MIB)
        for hit in detector.scan(data):
            found[hit.encoding] += 1
        for k, counter in checks.items():
            measured[k] += sum(data.count(prefix) * n for prefix, n in counter.items())
    literals = len({p.literal for p in patterns})
    hits = sum(found[e] for e in BINARY_NUMBERS)
    print(f"measured on {args.mib} MiB of os.urandom: binary-form hits {hits}")
    for k in checks:
        expected = args.mib * MIB * literals / 256**k
        print(
            f"  first {k} bytes of each literal: {measured[k]} chance matches,"
            f" computed {expected:.0f} (ratio {measured[k] / expected:.3f})"
        )


if __name__ == "__main__":
    main()
