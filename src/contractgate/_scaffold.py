"""`contractgate init`: the files a repository needs to run the gate in CI (config, waivers, workflows)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ._config import DEFAULT_LIVE_RATE

__all__ = [
    "CONFIG",
    "GITHUB",
    "GITLAB",
    "JUNIT_GLOB",
    "REPORTS",
    "WAIVERS",
    "Variable",
    "VendorSetup",
    "gate_command",
    "render",
]

CONFIG = Path("contractgate.toml")
WAIVERS = Path("contractgate-waivers.toml")
GITHUB = Path(".github/workflows/contractgate.yml")
GITLAB = Path(".gitlab/contractgate.gitlab-ci.yml")
REPORTS = "reports"
# Each run writes reports/<timestamp>/; the digit keeps any fixed-name folder beside them from being counted twice.
JUNIT_GLOB = f"{REPORTS}/[0-9]*/junit.xml"


@dataclass(frozen=True)
class Variable:
    """One credential variable a vendor's contract reads."""

    name: str
    secret: bool
    description: str


@dataclass(frozen=True)
class VendorSetup:
    """What init writes for one vendor: its targets (key, description) and credential variables."""

    vendor: str
    title: str
    targets: tuple[tuple[str, str, bool], ...]  # key, description, optional
    variables: tuple[Variable, ...]
    example_rule: str  # a rule id, for the waiver example


def gate_command(vendors: Sequence[str]) -> str:
    """The CI command: the chosen vendors against the configured targets only, with the waivers file."""
    chosen = " ".join(f"--vendor {vendor}" for vendor in vendors)
    return f"contractgate run {chosen} --require-targets --waivers {WAIVERS} --reports {REPORTS}"


def render(setups: Sequence[VendorSetup], version: str, ci: Sequence[str]) -> dict[Path, str]:
    """Every file init writes, by path relative to the repository root."""
    files = {CONFIG: _config(setups), WAIVERS: _waivers(setups[0])}
    if "github" in ci:
        files[GITHUB] = _github(setups, version)
    if "gitlab" in ci:
        files[GITLAB] = _gitlab(setups, version)
    return files


def _toml_key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else json.dumps(key)


def _config(setups: Sequence[VendorSetup]) -> str:
    lines = [
        "# contractgate configuration (written by `contractgate init`; edit freely).",
        "# Uncomment the targets you gate on and give their base URLs. Credentials never go in this file: they come",
        "# from CONTRACTGATE_* environment variables (`contractgate env VENDOR` lists them with their meaning).",
        "",
        "# allow_skips = false  # true: a rule skipped for a missing credential or target does not fail the gate",
    ]
    for setup in setups:
        lines += ["", f"# --- {setup.title} ({setup.vendor}) ---"]
        for key, description, optional in setup.targets:
            lines += [
                *(f"# {line}" for line in textwrap.wrap(description + (" (optional)" if optional else ""), 100)),
                f"# [targets.{_toml_key(key)}]",
                '# url = ""               # the base URL (see above)',
                f"# rate = {DEFAULT_LIVE_RATE:<15g} # requests per second to this target (the default)",
                "# allow_writes = false   # rules that write run only against a target that opts in",
                '# ca_bundle = "ca.pem"   # a private CA, trusted for this target only',
                "",
            ]
        lines.pop()
    return "\n".join(lines) + "\n"


def _waivers(example: VendorSetup) -> str:
    return (
        "\n".join(
            [
                "# Accepted vendor deviations (read by `contractgate run --waivers contractgate-waivers.toml`).",
                "# A waived failure is reported as `waived` and does not fail the gate until `expires` (its last day);",
                "# a waiver that matches no failure is listed as stale. Example:",
                "#",
                "# [[waivers]]",
                f"# rule = {json.dumps(example.example_rule)}  # rule id, glob",
                f"# target = {json.dumps(example.vendor)}  # target key (or vendor), glob",
                '# reason = "vendor ticket 1234: fixed in the next release"',
                "# expires = 2026-03-31",
            ]
        )
        + "\n"
    )


def _secret_env(setups: Sequence[VendorSetup], indent: str) -> list[str]:
    return [f"{indent}{v.name}: ${{{{ secrets.{v.name} }}}}" for setup in setups for v in setup.variables]


def _github(setups: Sequence[VendorSetup], version: str) -> str:
    vendors = [setup.vendor for setup in setups]
    lines = [
        "# contractgate: the vendor conformance gate (written by `contractgate init`; edit freely).",
        "# Add each CONTRACTGATE_* variable below as a repository secret (Settings > Secrets and variables >",
        "# Actions); `contractgate env VENDOR` says what each one is. A variable left unset leaves its rules",
        "# unchecked, and the gate then fails (exit 2) unless allow_skips is set in contractgate.toml.",
        "name: contractgate",
        "on:",
        "  push:",
        "  pull_request:",
        "  workflow_dispatch:",
        "  schedule:",
        '    - cron: "17 5 * * *"  # daily: vendors change without telling you',
        "permissions:",
        "  contents: read",
        "  checks: write  # the JUnit summary",
        "jobs:",
        "  contractgate:",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 30",
        "    steps:",
        "      - uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        '          python-version: "3.12"',
        "      - name: Install contractgate",
        f'        run: python -m pip install "contractgate=={version}"',
        "      - name: Run the gate",
        "        env:",
        *_secret_env(setups, "          "),
        f"        run: {gate_command(vendors)}",
        "      - name: Upload the reports",
        "        if: always()",
        "        uses: actions/upload-artifact@v4",
        "        with:",
        "          name: contractgate-reports",
        f"          path: {REPORTS}/",
        "          if-no-files-found: warn",
        "      - name: Publish the JUnit results",
        "        if: always()",
        "        uses: mikepenz/action-junit-report@v5",
        "        with:",
        f'          report_paths: "{JUNIT_GLOB}"',
        "          detailed_summary: true",
        "          include_passed: true",
    ]
    return "\n".join(lines) + "\n"


def _gitlab(setups: Sequence[VendorSetup], version: str) -> str:
    vendors = [setup.vendor for setup in setups]
    width = max((len(v.name) for setup in setups for v in setup.variables), default=0)
    described = [
        f"#   {v.name.ljust(width)}  {'masked' if v.secret else 'plain '}  {v.description}"
        for setup in setups
        for v in setup.variables
    ]
    lines = [
        "# contractgate: the vendor conformance gate (written by `contractgate init`; edit freely).",
        "# Use it from .gitlab-ci.yml with:",
        "#   include:",
        f"#     - local: {GITLAB}",
        "# Define these CI/CD variables (Settings > CI/CD > Variables; the secret ones Masked and Protected);",
        "# GitLab hands them to the job under the same names. A variable left unset leaves its rules unchecked,",
        "# and the gate then fails (exit 2) unless allow_skips is set in contractgate.toml.",
        *described,
        "contractgate:",
        "  stage: test",
        "  image: python:3.12-slim",
        "  before_script:",
        f'    - python -m pip install "contractgate=={version}"',
        "  script:",
        f"    - {gate_command(vendors)}",
        "  artifacts:",
        "    when: always",
        "    expire_in: 30 days",
        "    paths:",
        f"      - {REPORTS}/",
        "    reports:",
        f'      junit: "{JUNIT_GLOB}"',
    ]
    return "\n".join(lines) + "\n"
