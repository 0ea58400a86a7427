"""Write tests/corpus/cases/: one folder per malformed input, each with its files and a case.toml.

Contracts are the shipped ones cut to their header and a few rules, with ONE mistake; cassettes are real
recorded ones with one mistake. Run `python3 tests/corpus/generate.py` from the project root after a
change to the shipped contracts or cassettes; the folders are committed, so the test does not need this.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parent / "cases"
RULE_START = re.compile(r"^  - id: ", re.MULTILINE)
KEEP_RULES = 8


@dataclass
class Case:
    """One corpus folder: input files, the command line, and what the one-line error must say."""

    name: str
    args: list[str]
    fragment: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    where: str = ""  # "relative/file.ext:LINE" the message must name, when a file is to blame


def subset(vendor: str, keep: tuple[str, ...] = ()) -> str:
    """A shipped contract with its header and first rules (plus the rules named in `keep`)."""
    text = (ROOT / "contracts" / f"{vendor}.yaml").read_text(encoding="utf-8")
    starts = [m.start() for m in RULE_START.finditer(text)]
    header, blocks = text[: starts[0]], [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    chosen = [b for i, b in enumerate(blocks) if i < KEEP_RULES or any(b.startswith(f"  - id: {k}\n") for k in keep)]
    return header + "".join(chosen)


def line_at(text: str, needle: str, start: int = 0) -> int:
    index = text.index(needle, start)
    return text[:index].count("\n") + 1


def contract(
    name: str,
    vendor: str,
    old: str,
    new: str,
    fragment: str,
    anchor: str | None = None,
    *,
    from_rule: bool = False,
    keep: tuple[str, ...] = (),
    command: tuple[str, ...] = ("run", "--mode", "replay", "--no-matrix"),
) -> Case:
    """A contract case: `old` replaced by `new` once; the error must name the line of `anchor` (at or after it)."""
    text = subset(vendor, keep)
    assert old in text, (name, old)
    position = text.index(old)
    mutated = text[:position] + new + text[position + len(old) :]
    needle = anchor if anchor is not None else new.strip().splitlines()[0]
    rule_start = max(0, mutated.rfind("  - id: ", 0, position + 1))
    if anchor is None and "not valid YAML" in fragment:
        line = _yaml_problem_line(mutated)
    else:
        found_after = needle in mutated[position:] and not from_rule
        line = line_at(mutated, needle, position if found_after else rule_start)
    args = ["--contracts", "contracts", *command]
    if command[0] == "run":
        args[3:3] = ["--vendor", vendor]
    elif command[0] in {"selftest", "env"}:
        args.append(vendor)
    return Case(name, args, fragment, {f"contracts/{vendor}.yaml": mutated}, f"contracts/{vendor}.yaml:{line}")


def _yaml_problem_line(text: str) -> int:
    try:
        yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return int(mark.line) + 1 if mark is not None else 1
    raise AssertionError("the text is valid YAML")


TJ, TC, AL = "threatjammer", "threatconnect", "assemblyline"


def contract_cases() -> list[Case]:
    """Realistic slips in a contract file: types, names, references, YAML itself."""
    bomb = "".join(
        f"  lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n" for i in range(9)
    )
    deep = "  deep: " + "[" * 300 + "]" * 300 + "\n"
    nested = "  nested: " + "{a: " * 80 + "1" + "}" * 80 + "\n"
    return [
        contract("status-true", TJ, "expect: {status: 200}", "expect: {status: true}", "status", "status: true"),
        contract("status-float", TJ, "expect: {status: 200}", "expect: {status: 200.0}", "status"),
        contract("status-word", TJ, "reject: {status: 401}", "reject: {status: unauthorized}", "status"),
        contract(
            "status-class-upper",
            TC,
            "expect: {status: 200}",
            "expect: {status: 2XX}",
            "a status string must be a class",
        ),
        contract(
            "status-list-string",
            AL,
            "        status: 200\n        json: [{path: api_response.username",
            '        status: [200, "201"]\n        json: [{path: api_response.username',
            "status",
        ),
        contract(
            "duplicate-key-rule",
            TJ,
            "    severity: must\n    kind: credential-scope\n",
            "    severity: must\n    kind: credential-scope\n    severity: should\n",
            "duplicate key 'severity'",
            "    severity: should",
        ),
        contract(
            "duplicate-key-top",
            AL,
            "vendor: assemblyline\n",
            "vendor: assemblyline\nvendor: acme\n",
            "duplicate key 'vendor'",
            "vendor: acme",
        ),
        contract(
            "duplicate-key-flow",
            TJ,
            "request: {path: /v1/token}",
            "request: {path: /v1/token, path: /v1/ip}",
            "duplicate key 'path'",
        ),
        contract("duplicate-rule-id", TJ, "  - id: TJ-AUTH-002\n", "  - id: TJ-AUTH-001\n", "appears twice"),
        contract("duplicate-rule-id-tc", TC, "  - id: TC-AUTH-003\n", "  - id: TC-AUTH-001\n", "appears twice"),
        contract(
            "unknown-source-doc",
            TJ,
            "source: {doc: SPEC,",
            "source: {doc: SPCE,",
            "did you mean 'SPEC'",
            "source: {doc: SPCE,",
        ),
        contract("unknown-source-doc-al", AL, "source: {doc: UI-BASE,", "source: {doc: UI-BAS,", "not in sources"),
        contract(
            "unknown-kind", TJ, "kind: credential-scope", "kind: credential-scoep", "did you mean 'credential-scope'"
        ),
        contract("unknown-kind-al", AL, "kind: envelope", "kind: envelopes", "unknown kind"),
        contract("unknown-rule-key", TJ, "severity: must\n", "severty: must\n", "did you mean 'severity'", "severty"),
        contract("unknown-params-key", TJ, "scheme: bearer\n", "schema: bearer\n", "did you mean 'scheme'", "schema"),
        contract("bad-regex-json", TJ, "startswith: /v1/token/", "matches: '^/v1/token/[a-z'", "not a valid regular"),
        contract(
            "bad-regex-json-al",
            AL,
            'matches: "\\\\S"',
            'matches: "(unclosed"',
            "not a valid regular expression",
            "matches:",
            keep=("AL-ENV-003",),
        ),
        contract(
            "bad-regex-header",
            AL,
            "headers: {Content-Type: application/json}",
            "headers: {Content-Type: {matches: '*json'}}",
            "not a valid regular expression",
            "headers:",
        ),
        contract(
            "bad-regex-links",
            TJ,
            "      pattern: '^/v1/'\n",
            "      pattern: '^/v1/(?<'\n",
            "not a valid regular expression",
            "      pattern:",
            keep=("TJ-LINK-001",),
        ),
        contract(
            "bad-regex-fuzz",
            TC,
            "      boundaries: 6\n",
            "      boundaries: 6\n      include: ['[v3']\n",
            "not a valid regular expression",
            "      include:",
            keep=("TC-FUZZ-001",),
        ),
        contract("schema-version-2", TJ, "schema_version: 1", "schema_version: 2", "schema_version"),
        contract("vendor-uppercase", TC, "vendor: threatconnect", "vendor: ThreatConnect", "vendor"),
        contract("rule-id-lowercase", AL, "  - id: AL-ENV-001", "  - id: al-env-001", "rules.0.id", "  - id: al"),
        contract(
            "severity-upper", TJ, "    severity: must\n", "    severity: MUST\n", "severity", "    severity: MUST"
        ),
        contract(
            "mode-unknown",
            TC,
            "    severity: must\n",
            "    severity: must\n    modes: [live, rehearse]\n",
            "modes",
            "    modes:",
        ),
        contract(
            "writes-string",
            TJ,
            "    writes: true\n",
            '    writes: "yes"\n',
            "writes",
            "    writes:",
            keep=("TJ-REGION-002",),
        ),
        contract(
            "defaults-target-undeclared",
            TJ,
            "  target: threatjammer\n  auth: bearer",
            "  target: threatjamer\n  auth: bearer",
            "did you mean 'threatjammer'",
            "  target: threatjamer",
        ),
        contract(
            "defaults-auth-undeclared",
            AL,
            "  auth: apikey\n  headers",
            "  auth: api_key\n  headers",
            "defaults.auth 'api_key'",
            "  auth: api_key",
        ),
        contract(
            "credential-env-lowercase", TC, "    env: ACCESS_ID", "    env: access_id", "credentials.access_id.env"
        ),
        contract("auth-type-unknown", TJ, "bearer: {type: header,", "bearer: {type: bearer,", "auth.bearer"),
        contract(
            "request-auth-undeclared",
            TJ,
            "request: {path: /v1/asn/15169, auth: none}",
            "request: {path: /v1/asn/15169, auth: bearr}",
            "auth scheme 'bearr' is not declared",
            "    params:",
            from_rule=True,
        ),
        contract(
            "request-target-undeclared",
            TJ,
            "        target: threatjammer-report\n",
            "        target: threatjammer-reports\n",
            "request target 'threatjammer-reports'",
            "    params:",
            from_rule=True,
            keep=("TJ-REGION-002",),
        ),
        contract(
            "request-region-undeclared",
            TJ,
            "request: {path: /v1/asn/15169, auth: none}",
            "request: {path: /v1/asn/15169, auth: none, region: mars}",
            "region 'mars'",
            "    params:",
            from_rule=True,
        ),
        contract(
            "query-and-raw-query",
            AL,
            "request: {path: /api/v4/user/whoami/}",
            "request: {path: /api/v4/user/whoami/, query: {a: 1}, raw_query: a=1}",
            "either `query` or `raw_query`",
            "request:",
        ),
        contract(
            "json-type-unknown",
            AL,
            "{path: api_status_code, type: integer}",
            "{path: api_status_code, type: int}",
            "type",
            "{path: api_status_code, type: int}",
        ),
        contract(
            "min-items-string",
            TJ,
            "json: [{path: self, startswith: /v1/token/}]",
            'json: [{path: self, min_items: "3"}]',
            "min_items",
        ),
        contract(
            "timeout-string", TC, "  auth: hmac\n", '  auth: hmac\n  timeout: "10"\n', "defaults.timeout", "  timeout"
        ),
        contract(
            "rule-missing-title",
            TJ,
            "    title: A well-formed key that was never issued is refused with 401\n",
            "",
            "title",
            "  - id: TJ-AUTH-002",
        ),
        contract("timeout-zero", AL, "  auth: apikey\n", "  auth: apikey\n  timeout: 0\n", "than 0", "  timeout"),
        contract("timeout-inf", TJ, "  auth: bearer\n", "  auth: bearer\n  timeout: .inf\n", "finite", "  timeout"),
        contract("two-documents", TC, "title: ", "---\ntitle: ", "not valid YAML"),
        contract(
            "retry-on-429-int",
            TJ,
            "request: {path: /test, region: dublin}",
            "request: {path: /test, region: dublin, retry_on_429: 1}",
            "retry_on_429",
        ),
        contract(
            "header-value-int",
            AL,
            "  headers: {Accept: application/json}",
            "  headers: {Accept: 1}",
            "defaults.headers.Accept",
        ),
        contract(
            "target-name-pattern",
            TC,
            "  - name: threatconnect\n",
            "  - name: Threat_Connect\n",
            "targets.0.name",
            "  - name: Threat_Connect",
        ),
        contract(
            "in-not-a-list",
            TJ,
            "json: [{path: detail, type: string, contains: Bearer}]",
            "json: [{path: detail, type: string, in: Bearer}]",
            "in",
        ),
        contract(
            "source-missing-section",
            AL,
            'source: {doc: UI-BASE, section: "make_api_response (the four keys, jsonify)", anchor: "L288-L317"}',
            'source: {doc: UI-BASE, anchor: "L288-L317"}',
            "section",
            "source: {doc: UI-BASE,",
        ),
        contract("alias-bomb", TJ, "parameters:\n", "parameters:\n" + bomb, "alias bomb", "  lol5:"),
        contract(
            "recursive-alias",
            TC,
            "parameters:\n",
            "parameters:\n  loop: &loop [1, *loop]\n",
            "recursive alias",
            "  loop:",
        ),
        contract("deep-flow-nesting", AL, "parameters:\n", "parameters:\n" + deep, "nested", "  deep:"),
        contract("deep-mapping-nesting", TJ, "parameters:\n", "parameters:\n" + nested, "nested", "  nested:"),
        contract("tab-indent", TC, "    severity: must\n", "\tseverity: must\n", "not valid YAML", "\tseverity"),
        contract(
            "unclosed-flow",
            TJ,
            'anchor: "credentials"}',
            'anchor: "credentials"',
            "not valid YAML",
            keep=("TJ-REGION-002",),
        ),
        contract(
            "unknown-alias",
            AL,
            "probes: *envelope_probes",
            "probes: *envelope_probs",
            "not valid YAML",
            "probes: *envelope_probs",
        ),
        contract(
            "selftest-status-true",
            TC,
            "expect: {status: 200}",
            "expect: {status: false}",
            "status",
            command=("selftest",),
        ),
        contract(
            "env-unknown-top-key", TJ, "secrets:\n", "secret:\n", "did you mean 'secrets'", "secret:", command=("env",)
        ),
        contract("hmac-encoding", TC, "    encoding: base64\n", "    encoding: base32\n", "encoding", "    encoding:"),
        contract(
            "max-follow-string",
            TJ,
            "      max_follow: 40\n",
            "      max_follow: ten\n",
            "max_follow",
            "      max_follow",
            keep=("TJ-LINK-001",),
        ),
    ]


def file_cases() -> list[Case]:
    """Files that are not contracts at all, or not what they claim to be."""
    tj = subset(TJ)
    latin = tj.replace("title: Threat Jammer User API and Report API", "title: Threat Jammer \xb7 API").encode(
        "latin-1"
    )
    run = ["--contracts", "contracts", "run", "--mode", "replay", "--no-matrix"]
    return [
        Case(
            "not-utf8-contract",
            run,
            "not UTF-8",
            {"contracts/threatjammer.yaml": latin},
            "contracts/threatjammer.yaml:8",
        ),
        Case(
            "empty-contract",
            run,
            "valid dictionary",
            {"contracts/threatjammer.yaml": "# nothing yet\n"},
            "contracts/threatjammer.yaml:1",
        ),
        Case(
            "list-contract",
            run,
            "valid dictionary",
            {"contracts/threatjammer.yaml": "- vendor: threatjammer\n"},
            "contracts/threatjammer.yaml:1",
        ),
        Case("no-contracts", run, "no contract files", {"contracts/README.md": "contracts go here\n"}),
        Case(
            "custom-vendor-no-server",
            ["--contracts", "contracts", "run", "--no-matrix"],
            "has no bundled reference server: pass --target mini=URL",
            {"contracts/mini.yaml": (ROOT / "tests" / "fixtures" / "mini.yaml").read_text(encoding="utf-8")},
            f"contracts/mini.yaml:{line_at((ROOT / 'tests/fixtures/mini.yaml').read_text(), 'vendor:')}",
        ),
    ]


def cassette(name: str, rule: str, mutate: object, fragment: str, anchor: str | None, vendor: str = TJ) -> Case:
    """A replay of one rule whose recorded cassette carries one mistake."""
    original = (ROOT / "cassettes" / vendor / f"{rule}.json").read_text(encoding="utf-8")
    text = mutate(original) if callable(mutate) else str(mutate)
    path = f"cassettes/{vendor}/{rule}.json"
    where = f"{path}:{line_at(text, anchor) if anchor else _json_problem_line(text)}"
    args = ["--contracts", "contracts", "run", "--vendor", vendor, "--mode", "replay", "--rule", rule]
    files: dict[str, str | bytes] = {f"contracts/{vendor}.yaml": subset(vendor), path: text}
    return Case(f"cassette-{name}", args, fragment, files, where)


def _json_problem_line(text: str) -> int:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return exc.lineno
    return 1


def _doc(text: str, change: object) -> str:
    document = json.loads(text)
    change(document)  # type: ignore[operator]
    return json.dumps(document, indent=1) + "\n"


def cassette_cases() -> list[Case]:
    """Cassettes that are broken, hand-edited, or another rule's."""
    other = (ROOT / "cassettes" / TJ / "TJ-AUTH-001.json").read_text(encoding="utf-8")
    return [
        cassette("truncated", "TJ-AUTH-002", lambda t: t[: len(t) // 2], "not valid JSON", None),
        cassette("not-json", "TJ-AUTH-002", "vendor: threatjammer\nrule: TJ-AUTH-002\n", "not valid JSON", None),
        cassette("other-rule", "TJ-AUTH-002", other, "belongs to rule 'TJ-AUTH-001'", '"rule"'),
        cassette(
            "other-vendor",
            "TJ-AUTH-002",
            lambda t: t.replace('"vendor": "threatjammer"', '"vendor": "threatconnect"'),
            "belongs to vendor 'threatconnect'",
            '"vendor"',
        ),
        cassette(
            "status-string",
            "TJ-AUTH-002",
            lambda t: t.replace('"code": 401', '"code": "401"'),
            "status",
            '"code"',
        ),
        cassette(
            "no-interactions", "TJ-AUTH-002", lambda t: _doc(t, lambda d: d.pop("interactions")), "interactions", None
        ),
        cassette(
            "headers-dict",
            "TJ-AUTH-002",
            lambda t: _doc(t, lambda d: d["interactions"][0]["response"].update(headers=[["server", "uvicorn"]])),
            "headers",
            '"headers": [',
        ),
        cassette(
            "encoding-unknown",
            "TJ-AUTH-002",
            lambda t: t.replace('"encoding": "utf-8"', '"encoding": "gzip"'),
            "encoding",
            '"encoding"',
        ),
        cassette("top-level-list", "TJ-AUTH-002", lambda t: "[" + t + "]", "not a cassette", None),
        cassette(
            "request-missing-method",
            "TJ-AUTH-004",
            lambda t: _doc(t, lambda d: d["interactions"][0]["request"].pop("method")),
            "method",
            '"request"',
        ),
        cassette(
            "rule-null", "TJ-AUTH-005", lambda t: t.replace('"rule": "TJ-AUTH-005"', '"rule": null'), "rule", '"rule"'
        ),
    ]


def config(
    name: str, body: str, fragment: str, anchor: str | None, args: tuple[str, ...] = (), file: str = "contractgate.toml"
) -> Case:
    """A contractgate.toml (or pyproject.toml) with one mistake, read before anything runs."""
    where = f"{file}:{line_at(body, anchor)}" if anchor else ""
    command = ["--contracts", "contracts", "run", "--vendor", TC, "--no-matrix", *args]
    return Case(f"config-{name}", command, fragment, {file: body, f"contracts/{TC}.yaml": subset(TC)}, where)


TARGET = '[targets.threatconnect]\nurl = "https://app.threatconnect.com/api"\n'


def config_cases() -> list[Case]:
    """Typed keys, known tables, finite positive rates, and target names a contract declares."""
    return [
        config("allow-writes-false-string", TARGET + 'allow_writes = "false"\n', "valid boolean", "allow_writes"),
        config("allow-writes-no", TARGET + 'allow_writes = "no"\n', "valid boolean", "allow_writes"),
        config("allow-writes-int", TARGET + "allow_writes = 1\n", "valid boolean", "allow_writes"),
        config(
            "table-singular",
            '[target.threatconnect]\nurl = "https://x.example/api"\n',
            "did you mean 'targets'",
            "[target.",
        ),
        config("unknown-target-key", TARGET + "rtae = 5\n", "did you mean 'rate'", "rtae"),
        config("rate-negative", TARGET + "rate = -2\n", "greater than 0", "rate"),
        config("rate-zero", TARGET + "rate = 0\n", "greater than 0", "rate"),
        config("rate-inf", TARGET + "rate = inf\n", "finite", "rate"),
        config("rate-nan", TARGET + "rate = nan\n", "finite", "rate"),
        config("rate-string", TARGET + 'rate = "5"\n', "valid number", "rate"),
        config("url-missing", "[targets.threatconnect]\nrate = 5\n", "Field required", "[targets"),
        config("url-not-http", '[targets.threatconnect]\nurl = "ftp://x.example/api"\n', "not an http(s) URL", "url"),
        config(
            "url-credentials",
            '[targets.threatconnect]\nurl = "https://admin:Sup3rS3cret@x.example/api"\n',
            "***@",
            "url",
        ),
        config("url-bad-port", '[targets.threatconnect]\nurl = "https://x.example:99999/api"\n', "invalid port", "url"),
        config("api-key-in-file", TARGET + 'api_key = "0123456789"\n', "environment variables", "api_key"),
        config("allow-skips-string", 'allow_skips = "yes"\n' + TARGET, "valid boolean", "allow_skips"),
        config(
            "waiver-missing-expires",
            TARGET + '\n[[waivers]]\nrule = "TC-AUTH-001"\ntarget = "threatconnect"\nreason = "vendor ticket 123"\n',
            "expires",
            "[[waivers]]",
        ),
        config(
            "waiver-expires-string",
            TARGET + '\n[[waivers]]\nrule = "TC-AUTH-001"\ntarget = "threatconnect"\n'
            'reason = "vendor ticket 123"\nexpires = "2027-01-01"\n',
            "valid date",
            "expires",
        ),
        config("waivers-table", TARGET + '\n[waivers]\nrule = "TC-AUTH-001"\n', "waivers", "[waivers]"),
        config("ca-bundle-int", TARGET + "ca_bundle = 5\n", "ca_bundle", "ca_bundle"),
        config(
            "target-misspelt",
            '[targets.threatconect]\nurl = "https://x.example/api"\n',
            "did you mean 'threatconnect'",
            "url",
        ),
        config("not-toml", TARGET + "rate = \n", "not valid TOML", "rate ="),
        config(
            "pyproject-unknown-key",
            '[project]\nname = "soc-gates"\n\n[tool.contractgate]\nallow_skip = true\n',
            "did you mean 'allow_skips'",
            "allow_skip",
            file="pyproject.toml",
        ),
        config(
            "explicit-config-bad",
            '[targets.threatconnect]\nurl = "https://x.example/api"\nallow_writes = "true"\n',
            "valid boolean",
            "allow_writes",
            ("--config", "gate.toml"),
            file="gate.toml",
        ),
        config("config-missing", TARGET, "no such file", None, ("--config", "missing.toml")),
        Case(
            "config-not-utf8",
            ["--contracts", "contracts", "run", "--vendor", TC, "--no-matrix"],
            "not UTF-8",
            {"contractgate.toml": (TARGET + "# caf\xe9\n").encode("latin-1"), f"contracts/{TC}.yaml": subset(TC)},
            "contractgate.toml:3",
        ),
        Case(
            "config-region-unknown",
            ["--contracts", "contracts", "run", "--vendor", TJ, "--no-matrix"],
            "did you mean 'dublin'",
            {
                "contractgate.toml": '[targets."threatjammer:dubln"]\nurl = "https://x.example"\n',
                f"contracts/{TJ}.yaml": subset(TJ),
            },
            "contractgate.toml:2",
        ),
    ]


def command(name: str, args: list[str], fragment: str, vendor: str | None = TJ) -> Case:
    """A command-line mistake (targets, rules, vendors, numbers), with a real contract folder."""
    files: dict[str, str | bytes] = {f"contracts/{vendor}.yaml": subset(vendor)} if vendor else {}
    return Case(f"cli-{name}", ["--contracts", "contracts", *args], fragment, files)


def command_cases() -> list[Case]:
    """Targets, rule globs, vendors and numbers on the command line."""
    run = ["run", "--no-matrix"]
    return [
        command(
            "target-port-too-big",
            [*run, "--target", "threatjammer:dublin=https://dublin.example:99999"],
            "invalid port '99999'",
        ),
        command(
            "target-port-word",
            [*run, "--target", "threatjammer:dublin=https://dublin.example:abc"],
            "invalid port 'abc'",
        ),
        command("target-port-zero", [*run, "--target", "threatjammer:dublin=http://127.0.0.1:0"], "invalid port '0'"),
        command(
            "target-credentials",
            [*run, "--target", "threatjammer:dublin=https://me:hunter2@dublin.example"],
            "https://***@dublin.example",
        ),
        command("target-no-equals", [*run, "--target", "threatjammer:dublin"], "expected NAME=URL"),
        command(
            "target-not-http",
            [*run, "--target", "threatjammer:dublin=dublin.api.threatjammer.com"],
            "not an http(s) URL",
        ),
        command(
            "target-misspelt",
            [*run, "--target", "threatjamer:dublin=https://dublin.example"],
            "did you mean 'threatjammer'",
        ),
        command(
            "target-region-unknown",
            [*run, "--target", "threatjammer:mars=https://mars.example"],
            "'mars' is not a region of 'threatjammer'",
        ),
        command(
            "target-region-missing",
            [*run, "--target", "threatjammer=https://dublin.example"],
            "pass threatjammer:REGION=URL",
        ),
        command(
            "target-region-extra",
            ["run", "--no-matrix", "--target", "threatconnect:us=https://x.example/api"],
            "has no regions",
            TC,
        ),
        command(
            "target-other-vendor",
            [*run, "--vendor", TJ, "--target", "threatconnect=https://x.example/api"],
            "no selected contract declares a target 'threatconnect'",
        ),
        command("rule-no-match", [*run, "--rule", "TJ-NOPE-*"], "matches no rule"),
        command("rule-lowercase", [*run, "--rule", "tj-auth-*"], "did you mean 'TJ-AUTH-*'"),
        command("rule-typo", [*run, "--rule", "TJ-AUTH-01"], "case-sensitive"),
        command("vendor-unknown", [*run, "--vendor", "threatjamer"], "did you mean 'threatjammer'"),
        command("allow-writes-unknown", [*run, "--allow-writes", "threatjamer"], "not a selected vendor or target"),
        command("rate-zero", [*run, "--rate", "0"], "positive, finite"),
        command("rate-nan", [*run, "--rate", "nan"], "positive, finite"),
        command("rate-word", [*run, "--rate", "fast"], "is not a number"),
        command("mode-unknown", ["run", "--mode", "rehearse"], "invalid choice"),
        command("serve-unknown-vendor", ["serve", "threatjamer"], "did you mean 'threatjammer'", None),
        command(
            "serve-unknown-fault",
            ["serve", TJ, "--fault", "bearer-prefix-optinal"],
            "did you mean 'bearer-prefix-optional'",
            None,
        ),
        command("serve-port-word", ["serve", TJ, "--port", "http"], "not a port", None),
        command("serve-port-too-big", ["serve", TJ, "--port", "65535"], "past 65535", None),
        command("faults-unknown-vendor", ["faults", "assembyline"], "did you mean 'assemblyline'", None),
        command("selftest-unknown-contract", ["selftest", "threatconect"], "did you mean 'threatconnect'", TC),
        command("selftest-rule-no-match", ["selftest", TJ, "--rule", "TJ-XYZ-*"], "matches no rule"),
        command("env-unknown-vendor", ["env", "acme"], "no contract for acme"),
        command("env-bad-format", ["env", TJ, "--format", "yaml"], "invalid choice"),
        command("unknown-command", ["rn"], "invalid choice", None),
        command("diff-missing", ["diff", "before.json", "after.json"], "no such file", None),
    ]


def diff_cases() -> list[Case]:
    """`diff` on files that are not results of a run."""
    args = ["diff", "before/results.json", "after/results.json"]
    good = json.dumps({"rules": [{"vendor": TJ, "id": "TJ-AUTH-001", "status": "passed"}]}, indent=1) + "\n"
    return [
        Case(
            "diff-not-json",
            args,
            "not valid JSON",
            {"before/results.json": good, "after/results.json": "<html>\n"},
            "after/results.json:1",
        ),
        Case(
            "diff-not-results",
            args,
            "not a results.json",
            {"before/results.json": good, "after/results.json": '{\n "junit": true\n}\n'},
            "after/results.json:1",
        ),
        Case(
            "diff-folder-without-results",
            ["diff", "before", "after"],
            "holds no results.json",
            {"before/results.json": good, "after/report.html": "<html></html>\n"},
        ),
        Case(
            "diff-rules-not-list",
            args,
            "not a results.json",
            {"before/results.json": '{"rules": {}}\n', "after/results.json": good},
            "before/results.json:1",
        ),
    ]


def write(cases: list[Case]) -> None:
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    shutil.rmtree(CASES, ignore_errors=True)
    for case in cases:
        folder = CASES / case.name
        for relative, content in case.files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "case.json").write_text(
            json.dumps({"args": case.args, "exit": 2, "fragment": case.fragment, "where": case.where}, indent=1) + "\n",
            encoding="utf-8",
        )


def main() -> int:
    """Regenerate every case folder."""
    cases = [*contract_cases(), *file_cases(), *cassette_cases(), *config_cases(), *command_cases(), *diff_cases()]
    write(cases)
    print(f"wrote {len(cases)} cases to {CASES.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
