"""A session's interception as the cycles see it: is the interceptor up, and each window's cut.

The process that opened the bench started the interceptor (`Interceptor`); a
parallel sign-off's workers only know its spool. Both judge it by the pid the
addon wrote in the spool's ``ready`` file, so a worker's cycles know as well as
the controller's whether the interceptor ran through their window. It is never
restarted in a session, so running at both ends of a window means running
throughout it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benches.capture.interception.cut import MESSAGES, CycleInterception, SpoolCutter
from benches.capture.interception.files import InterceptionFiles
from benches.capture.interception.interceptor import INTERCEPTOR, READY
from benches.redaction.safe_files import PRIVATE, write_file


@dataclass(frozen=True)
class WindowStart:
    wall: float
    running: bool
    quic_blocked: int | None  # the phone's blocked QUIC datagrams so far (None: not counted)


PHONES = "phones.json"  # each phone's trust of the bench's CA, as the preflight found it
TRUSTED, REFUSED = "trusted", "refused"


@dataclass(frozen=True)
class PhoneTrust:
    trusted: bool
    required: bool  # `interception: required`: a phone that does not trust is a bench fault
    reason: str | None = None


@dataclass
class InterceptionSession:
    spool: Path
    mode: str
    ports: tuple[int, ...]
    # The phone's QUIC datagrams the gateway dropped so far (None: nothing counts them).
    quic: Callable[[str], int | None] | None = None
    _cutter: SpoolCutter | None = None
    _phones: dict[str, PhoneTrust] | None = field(default=None, repr=False)

    # --- which phones are intercepted (the preflight's findings, shared through the spool)

    def record_trust(self, address: str, trust: PhoneTrust) -> None:
        phones = dict(self.phones())
        phones[address] = trust
        data = {key: vars(value) for key, value in phones.items()}
        write_file(
            self.spool / PHONES, json.dumps(data, indent=1) + "\n", root=self.spool, mode=PRIVATE
        )
        self._phones = phones

    def phones(self) -> dict[str, PhoneTrust]:
        if self._phones is None:
            try:
                data = json.loads((self.spool / PHONES).read_text())
            except (OSError, ValueError):
                return {}
            self._phones = {
                address: PhoneTrust(bool(v["trusted"]), bool(v["required"]), v.get("reason"))
                for address, v in data.items()
                if isinstance(v, dict)
            }
        return self._phones

    def intercepts(self, address: str) -> bool:
        """False for a phone the session goes on without (optional, and it does not trust)."""
        trust = self.phones().get(address)
        return trust is None or trust.trusted or trust.required

    def refusal(self, address: str) -> str | None:
        """Why the phone's cycles cannot run: required, and it does not trust the CA."""
        trust = self.phones().get(address)
        if trust is not None and not trust.trusted and trust.required:
            return trust.reason or "the phone does not trust the bench's CA"
        return None

    def tls_outcome(self, address: str, sni: str, since: float) -> str | None:
        """TRUSTED when the phone's session to `sni` went through the interceptor since
        `since`, REFUSED when its handshake failed there, None when none came yet."""
        try:
            lines = (self.spool / MESSAGES).read_bytes().splitlines()
        except OSError:
            return None
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("sni") != sni:
                continue
            client = str(record.get("client", "")).rsplit(":", 1)[0]
            when = record.get("time")
            if client != address or not isinstance(when, int | float) or when < since:
                continue
            if record.get("kind") == "tls_failed":
                return REFUSED
            if record.get("kind") == "request":
                return TRUSTED
        return None

    def pid(self) -> int | None:
        try:
            first = (self.spool / READY).read_text().split()
            return int(first[0]) if first else None
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        # A zombie has exited: its parent has not reaped it yet.
        return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")

    def open_window(self, address: str) -> WindowStart:
        return WindowStart(time.time(), self.running(), self._quic(address))

    def _quic(self, address: str) -> int | None:
        return self.quic(address) if self.quic is not None else None

    def cut(self, address: str, start: WindowStart, pcap: Path, root: Path) -> InterceptionFiles:
        """The window's four files beside `pcap`: raises OSError when the spool cannot be read."""
        end = time.time()
        running = self.running()
        complete = start.running and running
        reason = None
        if not complete:
            reason = "the interceptor (mitmdump) was not running for the whole window"
        quic_now = self._quic(address)
        blocked = None
        if start.quic_blocked is not None and quic_now is not None:
            blocked = quic_now - start.quic_blocked
        state = CycleInterception(
            INTERCEPTOR,
            self.mode,
            self.ports,
            address,
            (start.wall, end),
            complete,
            reason,
            quic_blocked=blocked,
        )
        if self._cutter is None:
            self._cutter = SpoolCutter(self.spool)
        return self._cutter.cut(state, pcap, root)
