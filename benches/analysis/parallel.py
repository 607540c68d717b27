"""Reading the captures in one process, or in ``jobs`` processes that split the flows.

With ``jobs > 1`` the analysis forks that many workers, after the detector is
built (they share it), and each reads every capture as one shard
(:mod:`~benches.analysis.pcap.shard`, :mod:`~benches.analysis.packet_loop`).
Their readouts are merged into exactly what one process gives
(:func:`~benches.analysis.readout.merge`), so the result does not depend on
``jobs``. Meanwhile the parent does what it would do after reading anyway
(loading the geo database).

A worker that dies (killed, out of memory) or fails ends the reading with
:class:`WorkerLost`, one line naming the worker, the cause and the capture it
was reading: the analysis cannot back a verdict (the CLI says inconclusive).

Forking needs the ``fork`` start method (Linux, other Unixes), and files that
can be opened again: without them (or for a pipe), the captures are read in
this process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Collection, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from benches.analysis.detection.scanner import Scanner
from benches.analysis.inspection import Inspector
from benches.analysis.network import flows as flowmod
from benches.analysis.packet_loop import read_flows
from benches.analysis.pcap.clock import Clock
from benches.analysis.pcap.files import CaptureError, PcapReader, read_packets
from benches.analysis.pcap.shard import Shard
from benches.analysis.protocols.budget import DecodeBudget
from benches.analysis.readout import Readout, add_part, merge, parts, take
from benches.analysis.results import CaptureStats

SHARE = 8 << 20  # bytes of capture, at least, for each process by default
# A worker's messages, besides the parts of its readout (readout.parts): the last one, and
# the error that ended its reading instead.
DONE, FAILED = "done", "failed"


class WorkerLost(Exception):
    """A worker died or failed: its share of the flows was never read. str() is one line."""


def default_jobs(paths: Sequence[Path] = ()) -> int:
    """The processes an analysis of ``paths`` uses by default: one per CPU this process
    may run on, but no more than one per :data:`SHARE` bytes of capture (a small
    capture is read before workers would have started)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no sched_getaffinity (macOS, Windows)
        cpus = os.cpu_count() or 1
    size = 0
    for path in paths:
        with contextlib.suppress(OSError):  # reading it will say what is wrong
            size += path.stat().st_size
    return max(1, min(cpus, size // SHARE))


def can_fork() -> bool:
    """Whether workers can be forked here (a daemonic process may not have children)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
    )


def read_captures(
    files: Sequence[PcapReader],
    scanner: Scanner,
    phones: Collection[str],
    jobs: int = 1,
    meanwhile: Callable[[], object] | None = None,
    phone_macs: Collection[str] = (),
) -> Readout:
    """Every capture's flows, matches and DNS lookups, read by ``jobs`` processes.

    ``meanwhile`` runs in this process while the workers read. ``phones``,
    ``phone_macs``: the rack's addresses and MACs.
    """
    paths = [capture.path for capture in files]
    # Each worker opens the files again: a pipe (or /dev/stdin) can only be read once.
    if jobs <= 1 or not can_fork() or not all(path.is_file() for path in paths):
        return read_all(files, scanner, phones, phone_macs=phone_macs)
    for capture in files:  # each worker opens the files afresh: no shared file offsets
        capture.close()
    return merge(_fork(paths, scanner, phones, jobs, meanwhile, phone_macs))


def read_all(
    files: Sequence[PcapReader],
    scanner: Scanner,
    phones: Collection[str],
    shard: Shard | None = None,
    phone_macs: Collection[str] = (),
    reading: Callable[[int], None] | None = None,
    release: bool = True,
) -> Readout:
    """The captures read in this process: every flow, or only ``shard``'s. ``reading``
    is told the number of each capture as its reading begins. ``release``: free the
    flows before returning (a worker, which ends once it has sent its readout, does not)."""
    clock = Clock()
    inspector = Inspector(scanner, clock)
    raw_flows: list[list[flowmod.FlowState]] = []
    captures: list[CaptureStats] = []
    for number, capture in enumerate(files):
        clock.capture = number
        inspector.new_capture(DecodeBudget.for_capture(_size(capture.path)))
        if reading is not None:
            reading(number)
        # A shard's DNS answers are put back in read order by their frame (readout.merge);
        # one process's are in that order already.
        frames = clock if shard is not None else None
        flows, counts = read_flows(capture, inspector, phones, shard, frames, phone_macs)
        raw_flows.append(flows)
        captures.append(counts)
    inspector.search_datagrams()
    readout = take(inspector, raw_flows, captures)
    if not release:
        return readout
    # Cut the references between flows, sides and inspections, so that reference
    # counting frees them at once (the cycle collector is paused: gcpause.py).
    for flows in raw_flows:
        for raw in flows:
            raw.release()
    inspector.release()
    return readout


# --- the workers -------------------------------------------------------------


def _size(path: Path) -> int | None:
    """The capture file's size, as a decode budget scales with it (None: a pipe)."""
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


def _fork(
    paths: Sequence[Path],
    scanner: Scanner,
    phones: Collection[str],
    jobs: int,
    meanwhile: Callable[[], object] | None,
    phone_macs: Collection[str],
) -> list[Readout]:
    context = multiprocessing.get_context("fork")
    for stream in (sys.stdout, sys.stderr):  # or a worker would write its copy out too
        with contextlib.suppress(Exception):
            stream.flush()
    workers: list[tuple[BaseProcess, Connection]] = []
    # The capture each worker is reading (-1: none yet), to name it if the worker dies.
    reading = [context.Value("i", -1, lock=False) for _ in range(jobs)]
    try:
        for index in range(jobs):
            receiver, sender = context.Pipe(duplex=False)
            process: BaseProcess = context.Process(
                target=_work,
                args=(
                    sender,
                    paths,
                    scanner,
                    phones,
                    Shard(index, jobs),
                    phone_macs,
                    reading[index],
                ),
                name=f"bench-analyze-{index}",
                daemon=True,
            )
            process.start()
            sender.close()  # the worker's end: the parent keeps only its own
            workers.append((process, receiver))
        if meanwhile is not None:
            meanwhile()
        readouts = [Readout() for _ in range(jobs)]
        pending = [receiver for _, receiver in workers]
        while pending:  # unpickle each part as it comes, while the others still read
            for ready in wait(pending):
                index = next(i for i, (_, receiver) in enumerate(workers) if receiver is ready)
                where = _where(paths, reading[index].value)
                if _collect(index, *workers[index], where, readouts[index]):
                    pending.remove(workers[index][1])
        return readouts
    finally:
        for process, receiver in workers:
            receiver.close()
            if process.is_alive():
                process.terminate()
            process.join()


def _work(
    sender: Connection,
    paths: Sequence[Path],
    scanner: Scanner,
    phones: Collection[str],
    shard: Shard,
    phone_macs: Collection[str],
    reading: Any,  # a multiprocessing Value("i")
) -> None:
    def mark(number: int) -> None:
        reading.value = number

    try:
        files = [read_packets(path) for path in paths]
        # Not released: freeing the flows one by one would delay the readout by a tenth
        # of its reading's time, and the worker ends without freeing anything (os._exit).
        readout = read_all(files, scanner, phones, shard, phone_macs, mark, release=False)
    except BaseException as error:  # noqa: BLE001  # handed to the parent, which raises it
        sender.send((FAILED, _picklable(error)))
    else:
        for part in parts(readout):
            sender.send(part)
        sender.send((DONE, None))
    finally:
        sender.close()


def _picklable(error: BaseException) -> BaseException:
    """The error itself when it survives pickling, else a RuntimeError with its traceback."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001
        return RuntimeError("".join(traceback.format_exception(error)))
    return error


def _collect(
    index: int, process: BaseProcess, receiver: Connection, where: str, readout: Readout
) -> bool:
    """The worker's next message, added to its ``readout``: True when that was the last."""
    try:
        kind, result = receiver.recv()
    except (EOFError, OSError):
        process.join()
        raise WorkerLost(
            f"worker {index + 1} died ({_death(process.exitcode)}) {where}: its share of "
            "the flows was never read"
        ) from None
    except Exception as error:  # noqa: BLE001  # a readout that cannot be unpickled
        raise WorkerLost(f"worker {index + 1} sent a broken result ({_one_line(error)})") from None
    if kind == FAILED:
        if isinstance(result, CaptureError):
            raise result  # the file itself: one line naming it, as one process would say
        raise WorkerLost(f"worker {index + 1} failed {where}: {_one_line(result)}")
    if kind == DONE:
        return True
    try:
        add_part(readout, kind, result)
    except (ValueError, TypeError) as error:
        raise WorkerLost(f"worker {index + 1} sent a broken result ({_one_line(error)})") from None
    return False


def _where(paths: Sequence[Path], number: int) -> str:
    if 0 <= number < len(paths):
        return f"while reading {paths[number]}"
    return "before reading any capture"


def _death(code: int | None) -> str:
    """A dead process's exit code for people: "signal 9, killed", "exit code 3"."""
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            described = (signal.strsignal(-code) or "").lower()
        except ValueError:
            described = ""
        return f"signal {-code}, {described}" if described else f"signal {-code}"
    return f"exit code {code}"


def _one_line(error: BaseException) -> str:
    first = str(error).strip().splitlines()
    text = first[-1] if isinstance(error, RuntimeError) and first else " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
