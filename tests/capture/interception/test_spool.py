"""The spool's cut and the session's view of it, on spools written by the test (no mitmdump)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from benches.capture.interception.cut import CycleInterception, SpoolCutter
from benches.capture.interception.session import InterceptionSession, PhoneTrust

PHONE, OTHER = "127.0.2.1", "127.0.2.2"


def spool_with(folder: Path, messages: list[dict], connections: list[dict], keylog: str) -> Path:
    folder.mkdir()
    (folder / "messages.jsonl").write_text("".join(json.dumps(m) + "\n" for m in messages))
    (folder / "connections.jsonl").write_text("".join(json.dumps(c) + "\n" for c in connections))
    (folder / "keylog.txt").write_text(keylog)
    return folder


def message(kind: str, flow: str, client: str, time: float) -> dict:
    return {"kind": kind, "flow": flow, "client": f"{client}:40000", "time": time}


def test_a_response_after_the_window_follows_its_request_and_nothing_else_leaks_in(
    tmp_path: Path,
) -> None:
    spool = spool_with(
        tmp_path / "spool",
        [
            message("request", "before", PHONE, 5.0),
            message("request", "mine", PHONE, 11.0),
            message("request", "theirs", OTHER, 12.0),
            message("response", "mine", PHONE, 25.0),  # after the window: still its flow's
            message("response", "before", PHONE, 12.0),  # inside, but of a flow before it
        ],
        [
            {"client": f"{PHONE}:40000", "client_random": "AA" * 32, "time": 11.0},
            {"client": f"{OTHER}:40001", "client_random": "bb" * 32, "time": 12.0},
        ],
        f"\nCLIENT_RANDOM {'aa' * 32} {'11' * 48}\nCLIENT_RANDOM {'bb' * 32} {'22' * 48}\n"
        f"a half-written line {'aa' * 32}",
    )
    evidence = tmp_path / "pcaps"
    evidence.mkdir()
    state = CycleInterception("mitmproxy 11.0.2", "m", (443,), PHONE, (10.0, 20.0), True, None)
    files = SpoolCutter(spool).cut(state, evidence / "SI_1-boot-1.pcap", evidence)
    kept = [json.loads(line) for line in files.messages.read_text().splitlines()]
    assert [(m["kind"], m["flow"]) for m in kept] == [
        ("request", "mine"),
        ("response", "mine"),
        ("response", "before"),  # inside the window: kept, as the analyzer wants every record
    ]
    assert files.keylog.read_text() == f"CLIENT_RANDOM {'aa' * 32} {'11' * 48}\n"
    assert json.loads(files.meta.read_text())["quic_blocked"] is None


def test_a_damaged_spool_line_makes_the_cycle_incomplete_not_silent(tmp_path: Path) -> None:
    """A line of the spool that does not read may have held the leak: the meta says so, and
    a meta that is not complete makes the cycle inconclusive."""
    spool = spool_with(tmp_path / "spool", [message("request", "mine", PHONE, 11.0)], [], "")
    with (spool / "messages.jsonl").open("a") as out:
        out.write('{"kind": "request", "flow": "cut short\n')  # a writer killed mid-line
    evidence = tmp_path / "pcaps"
    evidence.mkdir()
    state = CycleInterception("mitmproxy 11.0.2", "m", (443,), PHONE, (10.0, 20.0), True, None)
    files = SpoolCutter(spool).cut(state, evidence / "SI_1-boot-1.pcap", evidence)
    meta = json.loads(files.meta.read_text())
    assert meta["complete"] is False
    assert meta["reason"] == "1 line(s) of the interceptor's spool did not read"
    assert len(files.messages.read_text().splitlines()) == 1  # what did read is kept


def test_a_zombie_interceptor_is_not_running(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    session = InterceptionSession(spool, "m", (443,))
    assert not session.running()  # no ready file yet
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    (spool / "ready").write_text(f"{child.pid}\n")
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
    assert not session.running()
    child.wait()
    (spool / "ready").write_text(f"{os.getpid()}\n")
    assert session.running()


def test_the_preflights_findings_decide_each_phones_cycles(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    controller = InterceptionSession(spool, "m", (443,))
    controller.record_trust(PHONE, PhoneTrust(False, True, "SI…1: refused"))
    controller.record_trust(OTHER, PhoneTrust(False, False, "SI…2: user build"))
    assert (spool / "phones.json").stat().st_mode & 0o777 == 0o600
    worker = InterceptionSession(spool, "m", (443,))  # another process reads the same file
    assert worker.refusal(PHONE) == "SI…1: refused" and worker.intercepts(PHONE)
    assert worker.refusal(OTHER) is None and not worker.intercepts(OTHER)
    assert worker.intercepts("127.0.2.3") and worker.refusal("127.0.2.3") is None
