"""The pytest face: only a rule that held passes; nothing-to-check and rate-limited rules fail the item."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from contractgate._errors import SetupError
from contractgate._outcome import Outcome, Status
from contractgate.pytest_plugin import assert_conformant, cg_targets

pytest_plugins = ["pytester"]


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


@pytest.mark.parametrize(
    ("engine", "pytest_hint"),
    [
        ("rule needs target 'x:paris': pass --target x:paris=URL", "pass --cg-target x:paris=URL"),
        ("target x does not allow writes (pass --allow-writes x)", "(pass --cg-allow-writes x)"),
        (
            "no cassette for X-Y-001 at c/x/X-Y-001.json; record one with `contractgate run --mode record --vendor x`",
            "record one with `pytest --cg-mode record`",
        ),
    ],
)
def test_hints_name_the_pytest_options_not_the_command_lines(engine: str, pytest_hint: str) -> None:
    with pytest.raises(pytest.fail.Exception) as raised:
        assert_conformant(_outcome(Status.SKIPPED, engine, "target"))
    assert pytest_hint in str(raised.value)
    assert "--cg-cg-" not in str(raised.value)
    with pytest.raises(pytest.fail.Exception) as raised:
        assert_conformant(_outcome(Status.ERROR, engine, "setup"))
    assert pytest_hint in str(raised.value)


USER_TESTS = """
import warnings

import pytest

from contractgate.pytest_plugin import rule_params


def test_the_users_own_code_warns():
    warnings.warn("the user's own deprecation notice", UserWarning)


@pytest.mark.parametrize("rule_id", [p for p in rule_params("assemblyline") if p.id == "AL-AUTH-001"])
def test_vendor(rule_id, contractgate_check):
    contractgate_check("assemblyline", rule_id)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project of its own, run as a plain pytest (not as a worker of this suite's xdist run)."""
    for name in [n for n in os.environ if n.startswith("PYTEST_XDIST_")]:
        monkeypatch.delenv(name)  # else pytest-benchmark, if installed, warns that xdist is active
    return pytester


def test_in_another_project_the_plugin_leaves_the_users_warnings_policy_alone(project: pytest.Pytester) -> None:
    pytester = project
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.makeini("[pytest]\n")  # a project of its own: none of contractgate's pytest settings apply
    result = pytester.runpytest_subprocess("--cg-mode", "live", "-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=2, warnings=1)  # the user's warning stays a warning: no error forced on it
    result.stdout.fnmatch_lines(
        [
            "contractgate: mode live (--cg-mode); cassettes: */cassettes (none yet: record them with --cg-mode record)",
            "contractgate: targets: the bundled reference servers *",
            "contractgate: contracts: bundled packs (*)",
            "*UserWarning: the user's own deprecation notice*",
        ]
    )


def test_a_strict_project_keeps_its_policy_and_contract_items_still_pass(project: pytest.Pytester) -> None:
    pytester = project
    pytester.makepyfile(test_user=USER_TESTS)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result = pytester.runpytest_subprocess("--cg-mode", "live", "-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)  # their policy, their error; our items raise no warning of ours
    result.stdout.fnmatch_lines(["FAILED test_user.py::test_the_users_own_code_warns - UserWarning: *"])


def test_a_missing_contract_at_collection_names_cg_contracts(project: pytest.Pytester) -> None:
    pytester = project
    pytester.makepyfile(
        test_user="""
from contractgate.pytest_plugin import rule_params

PARAMS = rule_params("acme")
"""
    )
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.stdout.fnmatch_lines(["*no contract for acme (bundled packs or --cg-contracts)*"])
    result.stdout.no_fnmatch_line("*Traceback*")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error stops the session
