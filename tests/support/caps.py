"""Run a child process without CAP_NET_RAW, as an unprivileged QA user would."""

from __future__ import annotations

import ctypes

_PR_CAPBSET_DROP = 24
_CAP_NET_RAW = 13


def drop_net_raw() -> None:
    """preexec_fn: after exec, not even root gets CAP_NET_RAW back."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_CAPBSET_DROP, _CAP_NET_RAW, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_NET_RAW) failed")
