"""Render allure-results as the HTML report with the Allure 2 command-line tool.

The tool is the npm package `allure-commandline` that the project pins in
package-lock.json and ./run installs into node_modules (it runs on Java).
History is carried over the documented Allure 2 way: the previous report's
history/ is copied into the results before `allure generate`, so trends show.

``bench report [RESULTS ...] [--report DIR]`` (benches/cli/report.py) and
``bench signoff`` call :func:`generate_report`; several result directories
(say, one per bench) merge into one report.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benches.redaction.safe_files import make_directories, read_file, write_file

log = logging.getLogger(__name__)

CHECKOUT = Path(__file__).resolve().parents[3]
NPM_BIN = Path("node_modules") / ".bin" / "allure"
GENERATE_TIMEOUT_S = 600


class AllureUnavailable(Exception):
    """No Allure CLI (or no Java for it) here; the message says how to get one."""


class AllureFailed(Exception):
    """The Allure CLI ran and did not produce a report; the message is its last words."""


@dataclass(frozen=True)
class GeneratedReport:
    directory: Path
    runs: int  # runs the trend charts show, this one included

    @property
    def index(self) -> Path:
        return self.directory / "index.html"


def find_allure(env: Mapping[str, str] | None = None) -> Path:
    """The project's Allure CLI: $BENCH_ALLURE, else node_modules/ here or in the checkout."""
    env = os.environ if env is None else env
    override = env.get("BENCH_ALLURE")
    candidates = [Path(override)] if override else [Path.cwd() / NPM_BIN, CHECKOUT / NPM_BIN]
    cli = next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)
    if cli is None:
        where = override or "node_modules/ (npm ci in the bench's checkout; ./run does it)"
        raise AllureUnavailable(f"no Allure CLI at {where}")
    if not _java(env):
        raise AllureUnavailable(
            "the Allure CLI needs Java: apt-get install default-jre-headless "
            "(./run does it as root)"
        )
    return cli


def _java(env: Mapping[str, str]) -> bool:
    home = env.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return True
    return shutil.which("java", path=env.get("PATH")) is not None


def carry_history(report: Path, results: Path) -> bool:
    """Copy the previous report's history/ into results/history; False when there is none.

    Only plain files and folders are copied; links (and devices, pipes) are left
    out and named in one warning. Allure writes history/ as a few plain JSON
    files, so a link there is not Allure's: followed, it would copy a file from
    anywhere into the report (or loop for ever); copied as a link, the Allure CLI
    would follow it instead. Without links the copy cannot loop, and it costs
    what the plain files hold.
    """
    previous = report / "history"
    if previous.is_symlink() or not previous.is_dir():
        if previous.is_symlink():
            log.warning("%s is a symbolic link: Allure history not carried over", previous)
        return False
    target = results / "history"
    if target.is_symlink():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    left_out = _copy_plain(previous, target, results)
    if left_out:
        shown = ", ".join(left_out[:5]) + (f" and {len(left_out) - 5} more" if left_out[5:] else "")
        log.warning("Allure history: left out what is not a plain file or folder: %s", shown)
    return True


def _copy_plain(source: Path, target: Path, root: Path) -> list[str]:
    """Copy ``source``'s plain files and folders into ``target``; returns what was left out."""
    make_directories(target, root)
    left_out = []
    with os.scandir(source) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                left_out += _copy_plain(path, target / entry.name, root)
            elif entry.is_file(follow_symlinks=False):
                write_file(target / entry.name, read_file(path), root=root)
            else:
                left_out.append(str(path))
    return left_out


def generate_report(
    results: Sequence[Path], report: Path, *, cli: Path | None = None
) -> GeneratedReport:
    """`allure generate --clean -o report results...`, with the old report's history kept."""
    if not results:
        raise AllureFailed("no allure-results directories given")
    missing = [str(path) for path in results if not path.is_dir()]
    if missing:
        raise AllureFailed(f"no allure-results at {', '.join(missing)}")
    _check_replaceable(report)
    cli = cli or find_allure()
    carry_history(report, results[0])
    command = [str(cli), "generate", "--clean", "-o", str(report), *map(str, results)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=GENERATE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise AllureFailed(f"allure generate took over {GENERATE_TIMEOUT_S} s") from None
    except OSError as error:
        raise AllureUnavailable(f"{cli}: {error.strerror}") from None
    if done.returncode != 0 or not (report / "index.html").is_file():
        words = (done.stderr or done.stdout).strip().splitlines() or [f"exit {done.returncode}"]
        raise AllureFailed(f"allure generate failed: {words[-1]}")
    return GeneratedReport(report, _trend_runs(report))


def _check_replaceable(report: Path) -> None:
    """`--clean` deletes the output directory: only ever an old report, an old report's
    history/ alone (kept between CI runs, as the nightly workflow does), or nothing."""
    if not report.exists():
        return
    if not report.is_dir():
        raise AllureFailed(f"refusing to replace {report}: it is not an Allure report")
    names = {entry.name for entry in report.iterdir()}
    if names - {"history"} and not (report / "index.html").exists():
        raise AllureFailed(f"refusing to replace {report}: it is not an Allure report")


def _trend_runs(report: Path) -> int:
    try:
        trend = json.loads((report / "history" / "history-trend.json").read_text())
    except (OSError, ValueError):
        return 1
    return len(trend) if isinstance(trend, list) and trend else 1


def describe(generated: GeneratedReport) -> str:
    earlier = generated.runs - 1
    history = (
        f"trends over {earlier} earlier run{'s' * (earlier != 1)}" if earlier else "no history"
    )
    return f"{generated.index}  ({history}; view: {NPM_BIN} open {generated.directory})"
