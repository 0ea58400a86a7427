"""junit.xml: cases named by the rule id alone, the same properties from the CLI and from the pytest plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from contractgate._outcome import Exchange, Outcome, RunResult, Status
from contractgate.cli import main
from contractgate.reports import JunitReport, junit_properties

ROOT = Path(__file__).resolve().parents[2]
RULE = "AL-SLASH-001"


def _outcome(status: Status = Status.FAILED, message: str = "wrong status") -> Outcome:
    exchange = Exchange("GET", "https://v.example/x", "curl -X GET https://v.example/x", 500, 3.0)
    return Outcome(
        "V-ERR-001",
        "v",
        "Errors carry a title",
        "Docs (D), Errors",
        "https://docs.example/errors",
        "must",
        "request",
        status,
        evidence="documented",
        message=message,
        exchanges=[exchange, exchange],
    )


def _cases(path: Path) -> list[ET.Element]:
    return list(ET.parse(path).getroot().iter("testcase"))


def _properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def test_a_case_is_named_by_the_rule_id_alone_and_carries_every_property(tmp_path: Path) -> None:
    JunitReport(tmp_path / "j.xml").finished(RunResult({"mode": "live"}, [_outcome()]))
    [case] = _cases(tmp_path / "j.xml")
    assert case.get("name") == "V-ERR-001"  # a title edit keeps the CI history
    assert case.get("classname") == "contractgate.v"  # nor does a change of kind break it
    assert _properties(case) == {
        "rule_id": "V-ERR-001",
        "vendor": "v",
        "title": "Errors carry a title",
        "severity": "must",
        "kind": "request",
        "evidence": "documented",
        "source": "Docs (D), Errors",
        "source_url": "https://docs.example/errors",
        "requests": "2",
        "gate": "fatal",
    }


def test_characters_xml_cannot_hold_in_a_vendor_answer_leave_a_readable_file(tmp_path: Path) -> None:
    outcome = _outcome(message="got \x1b[31mred\x00 and \ufffe")
    JunitReport(tmp_path / "j.xml").finished(RunResult({"mode": "live"}, [outcome]))
    [case] = _cases(tmp_path / "j.xml")  # parses: before, ElementTree wrote the raw bytes
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "got #x1B[31mred#x00 and #xFFFE"


def test_the_pytest_plugin_gives_its_junit_case_the_same_properties_as_the_cli(tmp_path: Path) -> None:
    cli_xml, pytest_xml = tmp_path / "cli.xml", tmp_path / "pytest.xml"
    run = ["run", "--mode", "replay", "--vendor", "assemblyline", "--rule", RULE, "--junit-xml", str(cli_xml)]
    folders = ["--cassettes", str(ROOT / "cassettes"), "--reports", str(tmp_path / "r")]
    code = main(["--contracts", str(ROOT / "contracts"), *run, *folders])
    assert code == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    pytest_args = ["suites/test_assemblyline.py", "-k", RULE, "-n", "0", "-p", "no:cacheprovider", "-q"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *pytest_args, f"--junitxml={pytest_xml}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Before, record_property warned under pytest's default junit_family and `filterwarnings = error` made
    # every rule item an error.
    assert done.returncode == 0, done.stdout[-2000:]
    [cli_case], [pytest_case] = _cases(cli_xml), _cases(pytest_xml)
    assert pytest_case.get("name") == f"test_rule[{RULE}]"  # pytest's name holds the rule id, not the title
    assert _properties(pytest_case) == _properties(cli_case)
    assert _properties(cli_case)["rule_id"] == RULE
    assert set(_properties(cli_case)) == {name for name, _ in junit_properties(_outcome())}
