"""Re-recording an unchanged bundled server leaves every cassette byte for byte (issue 11, item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contractgate._loader import load_contract
from contractgate._outcome import Status
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate.servers import serve_in_thread, server_class, vendors

ROOT = Path(__file__).resolve().parents[1]
VENDORS = [
    pytest.param(vendor, marks=pytest.mark.xdist_group(vendor))
    for vendor in vendors()
    if (ROOT / "contracts" / f"{vendor}.yaml").is_file()
]


def _record(vendor: str, cassettes: Path) -> None:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    server = server_class(vendor)()  # a fresh server each time, as a second `contractgate run --mode record`
    with serve_in_thread(server) as running:
        result = Engine([contract], bundled_config(contract, running, mode="record", cassettes=cassettes)).run()
    assert all(o.status == Status.PASSED for o in result.outcomes), [
        (o.rule_id, o.message) for o in result.outcomes if o.status != Status.PASSED
    ]


@pytest.mark.parametrize("vendor", VENDORS)
def test_recording_twice_gives_identical_bytes(vendor: str, tmp_path: Path) -> None:
    _record(vendor, tmp_path)
    first = {path.relative_to(tmp_path): path.read_bytes() for path in sorted(tmp_path.rglob("*.json"))}
    assert first
    _record(vendor, tmp_path)
    second = {path.relative_to(tmp_path): path.read_bytes() for path in sorted(tmp_path.rglob("*.json"))}
    changed = sorted(str(path) for path in first if first[path] != second.get(path))
    assert not changed, f"re-recording rewrote {len(changed)} cassette(s): {changed[:5]}"
    assert second.keys() == first.keys()
