"""No two test modules share a loopback range or a fixed port: they run side by side.

`./run test` runs the suite on several pytest-xdist workers. A module's live
tests stay on one worker (tests/conftest.py groups them), but two modules can
run at the same time, so the virtual racks, adb servers and servers they start
must never collide: each module owns the 127.N.0.0/16 ranges it names (N > 0;
127.0.0.0/16 is for sockets on port 0 and crafted packets) and the fixed ports
it names. This reads the test sources (their syntax, not their text) for:

- `relocated_rack(dir, shift, adb_port)`, `virtual_bench(dir, shift, adb_port, ...)` and
  `many_phones_rack(dir, phones, shift, adb_port)`: the range 127.<shift>.0.0/16 and the port;
- string constants "127.N.…" (not docstrings): the range 127.N.0.0/16;
- module-level integer constants named `…PORT` above 1023: a fixed port.

Each name a module uses resolves through its module-level constants.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parent
# The rack helpers' shift and adb port: (keyword, position) of each.
RACK_CALLS = {
    "relocated_rack": (("shift", 1), ("adb_port", 2)),
    "virtual_bench": (("shift", 1), ("adb_port", 2)),
    "many_phones_rack": (("shift", 2), ("adb_port", 3)),
}
LOOPBACK = re.compile(r"127\.([0-9]{1,3})\.")


def _constants(tree: ast.Module) -> dict[str, int]:
    """Module-level `NAME = 5` and `A, B = 1, 2` assignments of integers."""
    found: dict[str, int] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        pairs = (
            zip(target.elts, value.elts, strict=False)
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
            else [(target, value)]
        )
        for name, constant in pairs:
            number = constant.value if isinstance(constant, ast.Constant) else None
            if isinstance(name, ast.Name) and type(number) is int:
                found[name.id] = number
    return found


def _docstrings(tree: ast.Module) -> set[ast.expr]:
    """The docstrings' nodes: prose that names a range, not a use of it."""
    found: set[ast.expr] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(first.value)
    return found


def _value(node: ast.expr | None, constants: dict[str, int]) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    return call.args[position] if len(call.args) > position else None


def claims(tree: ast.Module) -> tuple[set[int], set[int]]:
    """(second octets of the 127.N.0.0/16 ranges, fixed ports) one module uses."""
    constants = _constants(tree)
    # The module that defines the rack helpers passes its own parameters on.
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    prose = _docstrings(tree)
    ranges: set[int] = set()
    ports = {value for name, value in constants.items() if name.endswith("PORT") and value > 1023}
    # A helper that passes its own parameters on is checked where it is called with numbers.
    passed_on = {
        argument.arg
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for argument in function.args.args
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node not in prose:
            ranges.update(int(octet) for octet in LOOPBACK.findall(node.value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            keywords = RACK_CALLS.get(node.func.id)
            if keywords is None or node.func.id in defined:
                continue
            given = tuple(_argument(node, position, name) for name, position in keywords)
            if all(isinstance(arg, ast.Name) and arg.id in passed_on for arg in given):
                continue
            shift, port = (_value(arg, constants) for arg in given)
            assert shift is not None and port is not None, (
                f"{node.func.id}() at line {node.lineno}: give its shift and adb port "
                "as numbers or module-level constants, so this test can check them"
            )
            ranges.add(shift)
            ports.add(port)
    ranges.discard(0)
    return ranges, ports


def owners() -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    by_range: dict[int, set[str]] = defaultdict(set)
    by_port: dict[int, set[str]] = defaultdict(set)
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__):
            continue
        module = str(path.relative_to(TESTS))
        ranges, ports = claims(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for octet in ranges:
            by_range[octet].add(module)
        for port in ports:
            by_port[port].add(module)
    return by_range, by_port


def test_no_two_modules_share_a_loopback_range() -> None:
    by_range, _ = owners()
    shared = {f"127.{octet}.0.0/16": sorted(m) for octet, m in by_range.items() if len(m) > 1}
    assert not shared, f"modules that would collide when run side by side: {shared}"


def test_no_two_modules_share_a_fixed_port() -> None:
    _, by_port = owners()
    shared = {port: sorted(modules) for port, modules in by_port.items() if len(modules) > 1}
    assert not shared, f"modules that would collide when run side by side: {shared}"


def test_the_scan_finds_the_racks_it_checks() -> None:
    # A scan that found nothing would pass the two tests above whatever the suite did.
    by_range, by_port = owners()
    assert by_range[21] == {"sim/test_virtual_rack.py"} and 5161 in by_port
    assert by_range[101] == {"redaction/test_redaction.py"} and 5241 in by_port
    assert len(by_range) >= 15 and len(by_port) >= 15


def _group(function: ast.FunctionDef) -> str | None:
    """The name in a test's own `@pytest.mark.xdist_group("…")`, if it has one."""
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "xdist_group"
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
        ):
            return str(decorator.args[0].value)
    return None


def test_a_test_grouped_by_its_range_is_the_only_one_of_its_module_on_it() -> None:
    # A test in group "127.N" runs beside its module's other tests, so none of them
    # may start a rack on 127.N unless it is in that group too.
    wrong = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        constants = _constants(tree)
        users: dict[int, set[str | None]] = defaultdict(set)
        for function in (node for node in tree.body if isinstance(node, ast.FunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    keywords = RACK_CALLS.get(node.func.id)
                    if keywords is not None:
                        (name, position), _ = keywords
                        shift = _value(_argument(node, position, name), constants)
                        users[shift or -1].add(_group(function))
        for shift, groups in users.items():
            named = {group for group in groups if group and group.startswith("127.")}
            if named and groups != {f"127.{shift}"}:
                wrong.append(f"{path.relative_to(TESTS)}: 127.{shift} used by groups {groups}")
    assert not wrong, wrong
