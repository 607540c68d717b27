"""The share of ``bench analyze``'s time that issue 13's decoders and forms take.

    python benchmarks/decoder_share.py CAPTURE [--devices FILE] [--firmware FILE]

A benchmark helper, not a test: it runs one ``bench analyze --jobs 1`` under cProfile
in this process and prints, as JSON, the profiled seconds and the part of them spent
in the decoders issue 13 added (HTTP/2 with the hpack package, WebSocket, protobuf,
MIME, the sniffed codings, geohashes, base32, the binary numbers' anchors and
automaton), each apart. A Python function counts for the module it is defined in; a C
function (``bytes.find``, zlib's ``decompress``) for the module that called it.
Code added to modules that were there before (a ``startswith`` per body in
inspection.py, the forms' literals in the one automaton) is not counted: the
throughput benchmark's own before-and-after figures show it.

cProfile slows Python calls more than C work, so the share is an estimate, not a
timing: ``analyze_throughput.py`` prints it next to the wall-clock figures.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Where the issue-13 decoders live: (a module path's tail, a function of it or "" for
# all of them, the decoder's name, whether to count the function's callees too). The
# binary numbers are searched inside the detector, by one method, counted whole.
DECODERS = (
    ("protocols/http2.py", "", "HTTP/2 (h2c, HPACK)", False),
    ("hpack/", "", "HTTP/2 (h2c, HPACK)", False),
    ("protocols/websocket.py", "", "WebSocket", False),
    ("detection/decoded.py", "", "WebSocket", False),
    ("protocols/protobuf.py", "", "protobuf", False),
    ("protocols/mime.py", "", "MIME", False),
    ("protocols/sniff.py", "", "sniffed codings", False),
    ("protocols/headerless.py", "", "sniffed codings", False),
    ("detection/geohash.py", "", "geohash", False),
    ("detection/base32.py", "", "base32", False),
    ("detection/detector.py", "_binary_numbers", "binary numbers", True),
)


def _decoder_of(filename: str, function: str) -> tuple[str, bool] | None:
    path = filename.replace(os.sep, "/")
    for module, wanted, name, whole in DECODERS:
        if module.endswith("/"):
            found = f"/{module}" in path
        else:
            found = path.endswith(f"/{module}") and wanted in ("", function)
        if found:
            return name, whole
    return None


def share(stats: pstats.Stats) -> dict[str, object]:
    """Profiled seconds in all, and per decoder: its functions' own time and the C calls
    they made, or a whole function's time with its callees."""
    by_decoder: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]  # pstats keeps them here
    for (filename, _, function), (_, _, own, cumulative, callers) in raw.items():
        decoder = _decoder_of(filename, function)
        if decoder is not None:
            name, whole = decoder
            by_decoder[name] = by_decoder.get(name, 0.0) + (cumulative if whole else own)
            continue
        if filename != "~":  # a Python function elsewhere: its own module's time
            continue
        for (caller_file, _, caller_function), (_, _, caller_own, _) in callers.items():
            decoder = _decoder_of(caller_file, caller_function)
            if decoder is not None and not decoder[1]:  # a whole one counted it already
                by_decoder[decoder[0]] = by_decoder.get(decoder[0], 0.0) + caller_own
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    return {
        "seconds": total,
        "decoders": sum(by_decoder.values()),
        "by_decoder": dict(sorted(by_decoder.items(), key=lambda item: -item[1])),
    }


def profile(capture: Path, devices: Path, firmware: Path) -> dict[str, object]:
    from benches.cli.main import main as bench_main  # after the venv is on the path

    argv = ["analyze", str(capture), "--devices", str(devices), "--firmware", str(firmware)]
    profiler = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        profiler.enable()
        try:
            bench_main([*argv, "--json", "--jobs", "1"])
        finally:
            profiler.disable()
    return share(pstats.Stats(profiler))


def line(figures: dict[str, object]) -> str:
    """One line for the benchmark's report."""
    seconds = float(figures["seconds"])  # type: ignore[arg-type]
    decoders = float(figures["decoders"])  # type: ignore[arg-type]
    parts = figures["by_decoder"]
    assert isinstance(parts, dict)
    named = ", ".join(f"{name} {100 * t / seconds:.1f}%" for name, t in parts.items())
    return (
        f"  issue-13 decoders  {100 * decoders / seconds:5.1f}% of the profiled run"
        f" (cProfile, one process){': ' + named if named else ''}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", type=Path)
    parser.add_argument("--devices", type=Path, default=HERE / "rack20.yaml")
    parser.add_argument(
        "--firmware", type=Path, default=HERE.parent / "firmware" / "ta1046-global-FIXED.yaml"
    )
    args = parser.parse_args(argv)
    print(json.dumps(profile(args.capture, args.devices, args.firmware)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
