"""An analysis frees every flow's inspection state by reference counting (issue 12/13).

The cycle collector is paused while an analysis runs (gcpause.py), so a reference
cycle through a flow (a reader's callback, a decoder's sink, the location budget's
"spent" callback, a stream's opening chooser) keeps every flow's buffers and readers
alive to the end, and with ``--jobs 1`` cost over half a second to undo at exit on the
benchmark capture. After ``analyze`` returns, no flow state may be left for it.
"""

from __future__ import annotations

import gc
from pathlib import Path

from benches.analysis import inspection
from benches.analysis.analyzer import analyze
from benches.analysis.attribution.geo import GeoDatabase
from tests.support.h2c import H2c, request_fields
from tests.support.pcaps import (
    FOTA_IP,
    IMEI,
    PHONE_IP,
    TcpSession,
    http_post,
    http_response,
    make_rack,
    write_pcap,
)
from tests.support.websocket_frames import TEXT, connection, frame

RACK = make_rack()


def test_no_flow_state_outlives_the_analysis(tmp_path: Path) -> None:
    h2 = H2c.prior_knowledge()
    h2.exchange(1, [*request_fields(), ("x-device-id", IMEI)])
    silent = TcpSession(PHONE_IP, 41999, FOTA_IP, 8080).handshake()  # no byte either way
    post = TcpSession(PHONE_IP, 41998, FOTA_IP, 80).handshake()
    post.send(http_post("fota.vendor.example", "/v1/at", b'{"lat":60.1699,"lon":24.9384}'))
    post.send(http_response(), from_client=False)
    packets = [
        *post.close().packets,
        *connection([frame(TEXT, b'{"hello":1}', mask=b"\x01\x02\x03\x04")], server=FOTA_IP),
        *h2.packets(),
        *silent.close().packets,
    ]
    path = write_pcap(tmp_path / "mixed.pcap", packets)
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # as during an analysis: only reference counting frees anything
    try:
        analysis = analyze([path], RACK, GeoDatabase.for_rack(RACK), jobs=1)
        assert len(analysis.flows) >= 4
        kinds = (inspection.FlowInspection, inspection.StreamInspection)
        left = [type(o).__name__ for o in gc.get_objects() if isinstance(o, kinds)]
        assert left == []
    finally:
        if enabled:
            gc.enable()
