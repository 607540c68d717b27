"""A virtual phone: `handset.py` (VirtualPhone) and its parts.

Its state, screen and keyguard, shell and system commands, dumpsys, logcat,
telephony (with its own iphonesubinfo table), power and boot, injected faults
and UART lines, each in a module of its own.
"""
