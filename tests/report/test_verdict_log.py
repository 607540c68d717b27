"""The one verdict-log reader: every whole line, in order; a torn line left out."""

from __future__ import annotations

import json
from pathlib import Path

from benches.report.verdict_log import read_verdict_log


def test_a_torn_last_line_is_left_out(tmp_path: Path) -> None:
    log = tmp_path / "B.jsonl"
    whole = [{"cycle": "boot", "verdict": "pass"}, {"cycle": "unlock", "verdict": "fail"}]
    torn = json.dumps({"cycle": "idle", "verdict": "pass", "findings": []})
    log.write_text("".join(json.dumps(line) + "\n" for line in whole) + torn[: len(torn) // 2])
    assert read_verdict_log(log) == whole


def test_a_line_that_is_not_an_object_is_left_out(tmp_path: Path) -> None:
    log = tmp_path / "B.jsonl"
    log.write_bytes(b'{"verdict": "pass"}\n\n42\n"fail"\n{"verdict": "fa\xc3\n')
    assert read_verdict_log(log) == [{"verdict": "pass"}]


def test_no_log_has_no_lines(tmp_path: Path) -> None:
    assert read_verdict_log(tmp_path / "none.jsonl") == []
