"""The far end of serial ports (ptys, socket:// and rfc2217://), and the phones' UARTs on them.

`ports.py` serves the port a devices.yaml entry names (a pty, or TCP through
`tcp_port.py`); `uart.py` is a virtual phone's console on one.
"""
