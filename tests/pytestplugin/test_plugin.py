"""The pytest plugin as other repositories get it: through its pytest11 entry point."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from benches.cycles import CYCLE_ORDER
from tests.support.rackfiles import FIXED, REPO, SHIPPED_RACK


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_entry_point_is_named_after_the_module() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    # Same name as the module, so the root conftest.py's pytest_plugins finds it loaded.
    assert plugins.get("benches.pytestplugin.hooks") == "benches.pytestplugin.hooks"


def test_another_repository_gets_the_options_and_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_elsewhere.py").write_text(
        "def test_rack(rack_config):\n"
        "    assert [d.serial for d in rack_config.devices] == "
        "['SIM7P0001', 'SIM7P0002', 'SIM7P0003']\n"
    )
    done = run_pytest(tmp_path, "--devices", str(SHIPPED_RACK), "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_root_conftest_does_not_register_the_plugin_twice() -> None:
    done = run_pytest(REPO, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("--firmware=FIRMWARE") == 1


def test_sign_off_tests_run_in_the_order_a_phone_meets_the_cycles(tmp_path: Path) -> None:
    assert CYCLE_ORDER == ("boot", "unlock", "activation", "idle")
    (tmp_path / "test_suite.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.cycle('idle')\ndef test_a(): pass\n\n"
        "def test_b(): pass\n\n"
        "@pytest.mark.cycle('activation')\ndef test_c(): pass\n\n"
        "@pytest.mark.cycle('boot')\ndef test_d(): pass\n\n"
        "@pytest.mark.cycle('unlock')\ndef test_e(): pass\n"
    )
    done = run_pytest(tmp_path, "--devices", str(SHIPPED_RACK), "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    tests = [line.split("::")[1] for line in done.stdout.splitlines() if "::" in line]
    assert tests == ["test_d", "test_e", "test_c", "test_a", "test_b"]


@pytest.mark.live  # a sign-off session checks it may capture before any phone fixture runs
def test_phones_and_the_deprecated_rack_alias_are_the_same_phones(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "import types\n"
        "import pytest\n\n"
        "@pytest.fixture(scope='session')\n"
        "def bench_session():  # no phones to start: the fixtures' wiring is what is tested\n"
        "    return types.SimpleNamespace(phones={'SIM7P0001': object()})\n"
    )
    (tmp_path / "test_qa.py").write_text(
        "def test_phones(phones, bench_session):\n"
        "    assert phones is bench_session.phones and list(phones) == ['SIM7P0001']\n\n"
        "def test_rack(rack, phones):\n"
        "    assert rack is phones\n"
    )
    # Its own ini and an explicit filter: the option values name files in this checkout,
    # and pytest would otherwise take this checkout's pyproject.toml as the ini.
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = run_pytest(
        tmp_path,
        "-c", str(tmp_path / "pytest.ini"), "-W", "always::DeprecationWarning",
        "--devices", str(SHIPPED_RACK), "--firmware", str(FIXED),
        "--reports", str(tmp_path / "reports"), "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed, 1 warning" in done.stdout
    assert "DeprecationWarning: the `rack` fixture is deprecated" in done.stdout
    assert "use `phones`" in done.stdout
