"""The virtual phone's shell, as the bench and adbutils talk to it."""

from __future__ import annotations

import pytest

from benches.sim.network.client import PhoneNetwork
from benches.sim.phone.keyguard import Keyguard
from benches.sim.phone.shell import PhoneShell
from benches.sim.phone.state import PhoneState
from benches.sim.phone.system_commands import PhoneHooks, SystemCommands, install

RESET = "am broadcast -a android.intent.action.FACTORY_RESET -p android --receiver-foreground"


class Happened(list[str]):
    """What the shell told the phone, in order: reboot:<reason>, factory_reset, changed, unlock."""


@pytest.fixture
def happened() -> Happened:
    return Happened()


def make_shell(
    happened: Happened, *, debuggable: bool = True, pin: str | None = None
) -> PhoneShell:
    props = {"ro.serialno": "SIM7P0001", "sys.boot_completed": "1", "gsm.sim.state": "READY"}
    state = PhoneState(props=props, pin=pin)
    # A resolver address nothing listens on: these tests never need an answer.
    network = PhoneNetwork("127.0.2.240", "127.0.53.254", timeout=0.2)
    shell = PhoneShell(state, network, lambda reason: happened.append(f"reboot:{reason}"))
    hooks = PhoneHooks(lambda: happened.append("factory_reset"), lambda: happened.append("changed"))
    keyguard = Keyguard(state, lambda: happened.append("unlock"))
    install(shell, SystemCommands(state, network, keyguard, hooks, debuggable=debuggable))
    return shell


@pytest.fixture
def shell(happened: Happened) -> PhoneShell:
    return make_shell(happened)


def run(shell: PhoneShell, line: str) -> tuple[str, int]:
    result = shell.run(line)
    return result.output.decode(), result.exit_code


def test_getprop_reads_one_property_or_all(shell: PhoneShell) -> None:
    assert run(shell, "getprop ro.serialno") == ("SIM7P0001\n", 0)
    assert run(shell, "getprop no.such.prop") == ("\n", 0)
    everything, _ = run(shell, "getprop")
    assert "[sys.boot_completed]: [1]" in everything


def test_adbutils_exit_code_suffix_is_honoured(shell: PhoneShell) -> None:
    assert run(shell, "nosuchcmd; echo X4EXIT:$?")[0].endswith("X4EXIT:127\n")
    assert run(shell, "getprop ro.serialno; echo X4EXIT:$?")[0] == "SIM7P0001\nX4EXIT:0\n"


def test_and_or_operators(shell: PhoneShell) -> None:
    assert run(shell, "nosuchcmd && echo yes || echo no")[0].endswith("no\n")
    assert run(shell, "true && echo yes")[0] == "yes\n"


def test_quoted_arguments_stay_whole(shell: PhoneShell) -> None:
    assert run(shell, "echo 'a;b' \"c d\"") == ("a;b c d\n", 0)


def test_pipes_are_refused_clearly(shell: PhoneShell) -> None:
    output, status = run(shell, "getprop | grep serial")
    assert status == 2 and "unsupported operator" in output


def test_power_key_and_keyguard(shell: PhoneShell, happened: Happened) -> None:
    assert "mWakefulness=Awake" in run(shell, "dumpsys power")[0]
    run(shell, "input keyevent KEYCODE_POWER")
    assert "mWakefulness=Asleep" in run(shell, "dumpsys power")[0]
    policy = run(shell, "dumpsys window policy")[0]
    assert "isStatusBarKeyguard=true" in policy and "mDreamingLockscreen=true" in policy
    assert "KeyguardServiceDelegate\n      showing=true\n" in policy
    run(shell, "input keyevent 82")  # MENU on a dark screen does nothing
    assert "mIsShowing=true" in run(shell, "dumpsys window")[0]
    run(shell, "input keyevent 224")
    run(shell, "input keyevent 82")
    assert "showing=false" in run(shell, "dumpsys window")[0]
    assert happened == ["unlock"]
    assert run(shell, "input keyevent KEYCODE_NOPE")[1] == 1


def test_pin_bouncer_takes_text_and_enter(happened: Happened) -> None:
    shell = make_shell(happened, pin="2468")
    run(shell, "input keyevent 26; input keyevent 26")  # off and on again: locked
    run(shell, "wm dismiss-keyguard")
    assert "mKeyguardShowing=true" in run(shell, "dumpsys activity activities")[0]
    run(shell, "input text 2469; input keyevent 67; input keyevent 66")  # 246 is wrong
    assert "deviceLocked=1" in run(shell, "dumpsys trust")[0] and happened == []
    run(shell, "input text 2468 && input keyevent KEYCODE_ENTER")
    assert "deviceLocked=0" in run(shell, "dumpsys trust")[0] and happened == ["unlock"]


def test_locksettings_sets_and_guards_the_pin(shell: PhoneShell) -> None:
    assert run(shell, "locksettings set-pin 1357") == ("Pin set to '1357'\n", 0)
    assert run(shell, "locksettings clear") == ("Old password '' didn't match\n", 255)
    assert run(shell, "locksettings --old 1357 clear")[1] == 255  # the command comes first
    assert run(shell, "cmd lock_settings clear --old 1357") == ("Lock credential cleared\n", 0)


def test_factory_reset_needs_root(happened: Happened) -> None:
    shell = make_shell(happened)
    denied, status = run(shell, RESET)
    assert status == 255 and "Permission Denial: not allowed to send broadcast" in denied
    assert run(shell, "id -u") == ("2000\n", 0)
    assert run(shell, "su 0 id -u") == ("0\n", 0)
    assert happened == []
    said, status = run(shell, f"su 0 {RESET}")
    assert status == 0 and said.endswith("Broadcast completed: result=0\n")
    assert happened == ["factory_reset"]
    run(shell, "su 0 am broadcast -a android.intent.action.FACTORY_RESET")  # no -p: not delivered
    assert happened == ["factory_reset"]


def test_a_user_build_has_no_su(happened: Happened) -> None:
    shell = make_shell(happened, debuggable=False)
    assert run(shell, f"su 0 {RESET}")[1] == 127
    assert happened == []


def test_setup_wizard_until_provisioned(shell: PhoneShell, happened: Happened) -> None:
    shell.state.wipe()
    shell.state.boot_finished()
    assert (
        "com.google.android.setupwizard/.SetupWizardActivity" in run(shell, "dumpsys activity")[0]
    )
    assert run(shell, "settings get global device_provisioned") == ("0\n", 0)
    run(shell, "input keyevent 26")  # the wizard has no keyguard
    assert "showing=false" in run(shell, "dumpsys window policy")[0]
    run(shell, "settings put global device_provisioned 1")
    run(shell, "settings --user 0 put secure user_setup_complete 1")
    assert happened == ["changed", "changed"]
    assert "com.android.launcher3/.Launcher" in run(shell, "dumpsys activity activities")[0]


def test_other_dumpsys_services_still_answer(happened: Happened) -> None:
    state = PhoneState(props={})
    network = PhoneNetwork("127.0.2.240", "127.0.53.254", timeout=0.2)
    extra = {"dumpsys": lambda args: (f"own {args[0]}\n", 0)}
    shell = PhoneShell(state, network, lambda reason: None, extra=extra)
    hooks = PhoneHooks(lambda: None, lambda: None)
    install(
        shell,
        SystemCommands(state, network, Keyguard(state, lambda: None), hooks, debuggable=False),
    )
    assert run(shell, "dumpsys iphonesubinfo") == ("own iphonesubinfo\n", 0)
    assert "mWakefulness=Awake" in run(shell, "dumpsys power")[0]


def test_settings_roundtrip_and_usage(shell: PhoneShell) -> None:
    assert run(shell, "settings get global device_provisioned") == ("1\n", 0)
    assert run(shell, "settings put secure user_setup_complete 0")[1] == 0
    assert run(shell, "settings get secure user_setup_complete") == ("0\n", 0)
    assert run(shell, "settings get nonsense x")[1] == 255


def test_svc_takes_the_network_down(shell: PhoneShell, happened: Happened) -> None:
    run(shell, "svc wifi disable")
    assert shell.network.enabled  # mobile data still up
    run(shell, "svc data disable")
    assert not shell.network.enabled and happened == ["changed", "changed"]
    assert run(shell, "ping -c 1 example.invalid") == ("connect: Network is unreachable\n", 2)


def test_reboot_reaches_the_phone(shell: PhoneShell, happened: Happened) -> None:
    assert run(shell, "reboot bootloader")[1] == 0
    assert happened == ["reboot:bootloader"]


def test_dumpsys_unknown_service(shell: PhoneShell) -> None:
    assert run(shell, "dumpsys nosuch") == ("Can't find service: nosuch\n", 0)
