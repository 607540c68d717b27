"""The live half of the gateway: capturing each phone's traffic during a cycle's window.

- `gateway`: the interface the phones' traffic crosses, and a capture per window;
- `process`: one capture from the bench's side (a window recorder): start the
  sniffer, stop it, its `health`;
- `sniffer`: the capture process itself (`python -m benches.capture.sniffer`);
- `bpf`: the kernel filter that keeps only the phone's packets;
- `health`: what a capture says about how much it saw (`CaptureHealth`);
- `evidence`: where a window's files go and what they are called.

The offline analyzer that reads the pcaps is benches.analysis.
"""
