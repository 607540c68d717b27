"""The virtual phone's shell, as the bench and adbutils talk to it."""

from __future__ import annotations

import pytest

from benches.sim.netclient import PhoneNetwork
from benches.sim.shell import PhoneShell
from benches.sim.state import PhoneState


@pytest.fixture
def reboots() -> list[str]:
    return []


@pytest.fixture
def shell(reboots: list[str]) -> PhoneShell:
    state = PhoneState(props={"ro.serialno": "SIM7P0001", "sys.boot_completed": "1"})
    # A resolver address nothing listens on: these tests never need an answer.
    network = PhoneNetwork("127.0.2.240", "127.0.53.254", timeout=0.2)
    return PhoneShell(state, network, reboots.append)


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


def test_power_key_and_keyguard(shell: PhoneShell) -> None:
    assert "mWakefulness=Awake" in run(shell, "dumpsys power")[0]
    run(shell, "input keyevent KEYCODE_POWER")
    assert "mWakefulness=Asleep" in run(shell, "dumpsys power")[0]
    assert "mShowingLockscreen=true" in run(shell, "dumpsys window")[0]
    run(shell, "input keyevent 224")
    run(shell, "input keyevent 82")
    assert "mShowingLockscreen=false" in run(shell, "dumpsys window")[0]
    assert run(shell, "input keyevent KEYCODE_NOPE")[1] == 1


def test_settings_roundtrip_and_usage(shell: PhoneShell) -> None:
    assert run(shell, "settings get global device_provisioned") == ("1\n", 0)
    assert run(shell, "settings put secure user_setup_complete 0")[1] == 0
    assert run(shell, "settings get secure user_setup_complete") == ("0\n", 0)
    assert run(shell, "settings get nonsense x")[1] == 255


def test_svc_takes_the_network_down(shell: PhoneShell) -> None:
    run(shell, "svc wifi disable")
    assert shell.network.enabled  # mobile data still up
    run(shell, "svc data disable")
    assert not shell.network.enabled
    assert run(shell, "ping -c 1 example.invalid") == ("connect: Network is unreachable\n", 2)


def test_reboot_reaches_the_phone(shell: PhoneShell, reboots: list[str]) -> None:
    assert run(shell, "reboot bootloader")[1] == 0
    assert reboots == ["bootloader"]


def test_dumpsys_unknown_service(shell: PhoneShell) -> None:
    assert run(shell, "dumpsys nosuch") == ("Can't find service: nosuch\n", 0)
