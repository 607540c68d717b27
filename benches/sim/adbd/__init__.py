"""The device side of ADB over TCP: `daemon.py` (AdbDaemon) and its internals.

`wire.py` is the message format, `connection.py` one adb server's connection and
its streams, `services.py` what a stream can open (shell, exec, reboot).
"""
