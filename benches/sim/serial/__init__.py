"""The far end of serial ports (ptys, socket:// and rfc2217://), and the phones' UARTs on them.

`ports.py` serves the port a devices.yaml entry names; `base.py` is what every
served port offers; `pty_port.py` and `tcp_port.py` are the two kinds; `uart.py`
is a virtual phone's console on one.
"""
