"""The virtual phone's screen and keyguard, driven by key events, typed text and locksettings.

It follows what Android 10 does with the keys the bench sends:

* POWER (26) toggles the screen; SLEEP (223) and WAKEUP (224) set it. Screen
  off locks a provisioned phone at once (the power key's "lock instantly").
* MENU (82) on a showing keyguard dismisses it when there is no PIN (the old
  "swipe"), and brings up the PIN bouncer when there is one.
* `wm dismiss-keyguard` does the same as MENU.
* With a PIN: `input text <PIN>` types into the bouncer, DEL (67) takes a digit
  back, ENTER (66) checks it. A wrong PIN clears the entry and stays locked.
* The setup wizard (an unprovisioned phone) has no keyguard.

A successful unlock calls `on_unlock`, as ACTION_USER_PRESENT does on a phone.
"""

from __future__ import annotations

from collections.abc import Callable

from benches.sim.phone.state import PhoneState

KEYCODES = {
    "KEYCODE_HOME": 3,
    "KEYCODE_POWER": 26,
    "KEYCODE_ENTER": 66,
    "KEYCODE_DEL": 67,
    "KEYCODE_MENU": 82,
    "KEYCODE_SLEEP": 223,
    "KEYCODE_WAKEUP": 224,
}
HOME, POWER, ENTER, DEL, MENU, SLEEP, WAKEUP = 3, 26, 66, 67, 82, 223, 224


class Keyguard:
    def __init__(self, state: PhoneState, on_unlock: Callable[[], None]) -> None:
        self.state = state
        self.on_unlock = on_unlock

    def key(self, code: int) -> None:
        state = self.state
        if code == POWER:
            self.wake() if not state.screen_on else state.sleep()
        elif code == SLEEP:
            state.sleep()
        elif code == WAKEUP:
            self.wake()
        elif not (state.screen_on and state.keyguard_showing):
            return  # keys below only act on a lit keyguard
        elif code == MENU:
            self.dismiss()
        elif code == DEL:
            state.typed = state.typed[:-1]
        elif code == ENTER and state.bouncer_showing:
            self._check_pin()

    def wake(self) -> None:
        self.state.screen_on = True

    def dismiss(self) -> None:
        """What `wm dismiss-keyguard` and MENU do: unlock, or ask for the PIN."""
        state = self.state
        if not (state.screen_on and state.keyguard_showing):
            return
        if state.pin is None:
            self._unlock()
        else:
            state.bouncer_showing = True

    def text(self, text: str) -> None:
        state = self.state
        if state.screen_on and state.keyguard_showing and state.pin is not None:
            state.bouncer_showing = True  # typing on the keyguard brings the PIN entry up
            state.typed += text

    def _check_pin(self) -> None:
        state = self.state
        right = state.typed == state.pin
        state.typed = ""
        if right:
            self._unlock()

    def _unlock(self) -> None:
        state = self.state
        state.keyguard_showing = state.bouncer_showing = False
        state.typed = ""
        self.on_unlock()


def keycode(name: str) -> int | None:
    """`66`, `KEYCODE_ENTER` or `ENTER`, as `input keyevent` accepts them."""
    if name.isdigit():
        return int(name)
    return KEYCODES.get(name) or KEYCODES.get(f"KEYCODE_{name}")


def locksettings(state: PhoneState, args: list[str]) -> tuple[str, int]:
    """`locksettings set-pin|clear|verify [--old PIN] [--user ID] [PIN]`, as Android 10's."""
    command, words = (args[0], args[1:]) if args else ("", [])
    if command not in ("set-pin", "clear", "verify"):
        return f"Unknown command: {command}\n", 255
    old, rest = "", []
    while words:
        word, words = words[0], words[1:]
        if word in ("--old", "--user"):
            if not words:
                return f"Error: option {word} requires an argument\n", 255
            old = words[0] if word == "--old" else old
            words = words[1:]
        else:
            rest.append(word)
    if state.pin is not None and old != state.pin:
        return f"Old password '{old}' didn't match\n", 255
    if command == "set-pin":
        if len(rest) != 1 or not rest[0].isdigit() or len(rest[0]) < 4:
            return "Error: PIN must be at least 4 digits\n", 255
        state.pin = rest[0]
        return f"Pin set to '{rest[0]}'\n", 0
    if command == "clear":
        state.pin = None
        return "Lock credential cleared\n", 0
    return "Lock credential verified successfully\n", 0
