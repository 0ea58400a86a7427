"""The import rules of ARCHITECTURE.md, and the rule that the engine names no vendor."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "contractgate"
VENDORS = re.compile(r"threatconnect|assemblyline|threatjammer|threat jammer", re.IGNORECASE)

# module (or package prefix) -> internal modules it must never import
FORBIDDEN = {
    "_errors": {"*"},
    "_outcome": {"*"},
    "_redact": {"*"},
    "_packs": {"*"},  # a leaf: the servers read the shipped OpenAPI documents through it
    "_contract": {"_runner", "_session", "_transport", "checks", "reports", "servers", "cli", "pytest_plugin"},
    "_expect": {"_runner", "_session", "_transport", "checks", "reports", "servers", "cli"},
    "_auth": {"_runner", "_session", "_transport", "checks", "reports", "servers", "cli"},
    "_bounds": {"_runner", "_session", "_transport", "_contract", "checks", "reports", "servers", "cli"},
    "_transport": {"_runner", "_session", "checks", "reports", "servers", "cli"},
    "_session": {"_runner", "checks", "reports", "servers", "cli", "_selftest"},
    "checks": {"_runner", "_loader", "reports", "servers", "cli", "pytest_plugin", "_selftest"},
    "reports": {"_runner", "_session", "_transport", "_auth", "checks", "servers", "cli", "_loader"},
    "_plan": {"_runner", "_session", "_transport", "reports", "servers", "cli", "pytest_plugin", "_selftest"},
    "_runner": {"servers", "cli", "pytest_plugin", "reports"},
    "_drift": {"_runner", "_session", "_transport", "checks", "reports", "servers", "cli", "pytest_plugin"},
    "servers": {"_runner", "_session", "_transport", "_auth", "checks", "reports", "cli", "_loader", "_contract"},
}


def _internal_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = module.split(".") if module else [alias.name for alias in node.names]
                depth = len(path.relative_to(PACKAGE).parts) - 1
                if node.level > depth:  # climbs to the package root: names a top-level module
                    found.add(parts[0])
                # otherwise it stays inside the module's own subpackage
            elif module.startswith("contractgate."):
                found.add(module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("contractgate."))
    return found


def _owner(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down(path: Path) -> None:
    owner = _owner(path)
    forbidden = FORBIDDEN.get(owner, set())
    imported = _internal_imports(path) - {owner}
    if "*" in forbidden:
        assert not imported, f"{owner} must import nothing of contractgate, imports {imported}"
    else:
        assert not imported & forbidden, f"{path.name} imports {sorted(imported & forbidden)}"


def test_the_engine_names_no_vendor() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "servers":
            continue  # the reference servers are the vendors
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if VENDORS.search(line):
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
