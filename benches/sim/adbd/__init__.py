"""The device side of ADB over TCP: `daemon.py` (AdbDaemon) and its internals.

`wire.py` is the message format, `connection.py` one adb server's connection and
its streams, `services.py` what a stream can open (shell, exec, reboot), `run.py`
what one start()..stop() owns, and `protocols.py` the types they share (the
daemon and a stream as the others see them), so that no part imports the daemon back.
"""
