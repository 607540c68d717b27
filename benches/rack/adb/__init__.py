"""ADB: the bench's own adb server (`server`), the driver for one phone (`phone`), what it
reads out of dumpsys and properties (`dumps`), and its logcat around a cycle's window
(`logcat`, a window recorder)."""
