"""`dumpsys` for the virtual phone: the lines of Android 10's dumps that say what state it is in.

Each dump keeps the real field names and layout around the lines that matter,
so a parser written against a real phone reads these too:

* power: `mWakefulness=Awake|Asleep` (PowerManagerService);
* window / window policy: PhoneWindowManager's `mDreamingLockscreen=`, the
  status bar's `isStatusBarKeyguard=` and the `KeyguardServiceDelegate` block
  (`showing=`, `secure=`) with its `KeyguardStateMonitor` (`mIsShowing=`);
* trust: `deviceLocked=` (locked and secure), as TrustManagerService prints it;
* activity activities: `mResumedActivity:` (the setup wizard or the launcher)
  and the `KeyguardController` block;
* connectivity: `Active default network: 100` or `none`; battery: `level:`.
"""

from __future__ import annotations

from collections.abc import Callable

from benches.sim.phone.state import PhoneState


def _flag(value: bool) -> str:
    return "true" if value else "false"


def power(state: PhoneState) -> str:
    wakefulness = "Awake" if state.screen_on else "Asleep"
    return (
        "POWER MANAGER (dumpsys power)\n\nPower Manager State:\n  mDirty=0x0\n"
        f"  mWakefulness={wakefulness}\n  mWakefulnessChanging=false\n  mIsPowered=true\n"
        f"Display Power: state={'ON' if state.screen_on else 'OFF'}\n"
    )


def window_policy(state: PhoneState) -> str:
    showing, secure = _flag(state.keyguard_showing), _flag(state.pin is not None)
    screen = "SCREEN_STATE_ON" if state.screen_on else "SCREEN_STATE_OFF"
    interactive = "INTERACTIVE_STATE_AWAKE" if state.screen_on else "INTERACTIVE_STATE_SLEEP"
    return (
        "WINDOW MANAGER POLICY STATE (dumpsys window policy)\n"
        f"    mSafeMode=false mSystemReady=true mSystemBooted={_flag(state.booted)}\n"
        f"    mShowingDream=false mDreamingLockscreen={showing} mDreamingSleepToken=null\n"
        f"    mStatusBar=Window{{5c3d2e1 u0 StatusBar}} isStatusBarKeyguard={showing}\n"
        "    KeyguardServiceDelegate\n"
        f"      showing={showing}\n      inputRestricted={showing}\n      occluded=false\n"
        f"      secure={secure}\n      dreaming=false\n      systemIsReady=true\n"
        "      deviceHasKeyguard=true\n      enabled=true\n      offReason=OFF_BECAUSE_OF_USER\n"
        f"      currentUser=0\n      bootCompleted={_flag(state.booted)}\n"
        f"      screenState={screen}\n      interactiveState={interactive}\n"
        f"      KeyguardStateMonitor\n        mIsShowing={showing}\n        mSimSecure=false\n"
        f"        mInputRestricted={showing}\n        mTrusted=false\n        mCurrentUserId=0\n"
    )


def window(state: PhoneState) -> str:
    return (
        "WINDOW MANAGER LAST ANR (dumpsys window lastanr)\n  <no ANR has occurred since boot>\n\n"
        + window_policy(state)
    )


def trust(state: PhoneState) -> str:
    locked = int(state.keyguard_showing and state.pin is not None)
    return (
        "Trust manager state:\n"
        f' User "Owner" (id=0, flags=0x13) (current): trusted=0, trustManaged=0, '
        f"deviceLocked={locked}, strongAuthRequired=0x0\n"
    )


def activities(state: PhoneState) -> str:
    record = f"ActivityRecord{{3a1b2c4 u0 {state.top_activity} t4}}"
    showing = _flag(state.keyguard_showing)
    return (
        "ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\n"
        "Display #0 (activities from top to bottom):\n"
        "  Stack #1: type=standard mode=fullscreen\n"
        f"    mResumedActivity: {record}\n\n ResumedActivity: {record}\n"
        f"  KeyguardController:\n    mKeyguardShowing={showing}\n    mAodShowing=false\n"
        "    mKeyguardGoingAway=false\n    mDismissalRequested=false\n"
    )


def connectivity(state: PhoneState) -> str:
    return f"Active default network: {'100' if state.network_up else 'none'}\n"


def battery(state: PhoneState) -> str:
    return f"Current Battery Service state:\n  AC powered: true\n  level: {state.battery_level}\n"


SERVICES: dict[tuple[str, ...], Callable[[PhoneState], str]] = {
    ("power",): power,
    ("window",): window,
    ("window", "policy"): window_policy,
    ("trust",): trust,
    ("activity",): activities,
    ("activity", "activities"): activities,
    ("connectivity",): connectivity,
    ("battery",): battery,
}


def dump(state: PhoneState, args: list[str]) -> str | None:
    """The dump `dumpsys ARGS` prints, or None for a service this module does not know."""
    for length in (2, 1):
        render = SERVICES.get(tuple(args[:length]))
        if render is not None and len(args) >= length:
            return render(state)
    return None
