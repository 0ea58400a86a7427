"""The pytest face: only a rule that held passes; nothing-to-check and rate-limited rules fail the item."""

from __future__ import annotations

from pathlib import Path

import pytest

from contractgate._errors import SetupError
from contractgate._outcome import Outcome, Status
from contractgate.pytest_plugin import assert_conformant, cg_targets


def _outcome(status: Status, message: str = "", cause: str = "") -> Outcome:
    return Outcome("X-Y-001", "v", "t", "s", "", "must", "pagination", status, message=message, cause=cause)


@pytest.mark.parametrize(
    "message", ["nothing to check: the listing /items returned no items", "could not check: rate-limited (GET /x)"]
)
def test_a_rule_that_could_not_check_fails_the_item(message: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="could not run: X-Y-001") as raised:
        assert_conformant(_outcome(Status.ERROR, message, "nothing-to-check"))
    assert message in str(raised.value)


def test_a_waived_failure_is_an_expected_failure() -> None:
    with pytest.raises(pytest.xfail.Exception, match="waived until"):
        assert_conformant(_outcome(Status.WAIVED, "bad (waived until 2999-01-01: ticket)"))


def test_a_pass_passes() -> None:
    assert_conformant(_outcome(Status.PASSED))


def test_a_misspelt_cg_target_is_named_with_the_declared_ones() -> None:
    contracts = Path(__file__).resolve().parents[1] / "contracts"
    with pytest.raises(SetupError, match=r"--cg-target threatconect: .*did you mean 'threatconnect'"):
        cg_targets(["threatconect=https://tc.example/api"], contracts)
    assert set(cg_targets(["threatjammer:dublin=https://d.example"], contracts)) == {"threatjammer:dublin"}


def test_a_rule_left_unchecked_for_a_credential_fails_the_item_unless_skips_are_accepted() -> None:
    unchecked = _outcome(Status.SKIPPED, "set CONTRACTGATE_X_KEY", "credentials")
    with pytest.raises(pytest.fail.Exception, match=r"not checked \(credentials\).*--cg-allow-skips"):
        assert_conformant(unchecked)
    with pytest.raises(pytest.skip.Exception):
        assert_conformant(unchecked, allow_skips=True)


def test_a_skip_by_design_stays_a_skip() -> None:
    with pytest.raises(pytest.skip.Exception, match="live"):
        assert_conformant(_outcome(Status.SKIPPED, "this rule cannot run in replay mode (it runs in live)", "mode"))
