"""Canary credentials: whatever a run writes or prints, no form of a configured secret is in it.

Each vendor's reference server runs with canary credentials (long, distinctive values, and one short
secret where the vendor's auth takes any value). Two runs go through the CLI from a temporary working
directory: a record run of every rule against the clean server (cassettes, reports) and a verbose live
run against the server with faults switched on, so violation messages, `got` excerpts and curl lines
are printed and written. Every rule runs, so every auth scheme, the cookie and XSRF rules, the error
probes and the fuzz sweeps of the vendor are covered; both runs take a few seconds per vendor.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from contractgate import cli
from contractgate._loader import load_contract
from contractgate._selftest import bundled_config
from contractgate.servers import RunningServer, serve_in_thread, server_class

ROOT = Path(__file__).resolve().parents[1]

# Secret credentials by the server's names. The shapes the vendors document are kept (ThreatJammer keys
# are tja_ + 36 base62, Assemblyline keys are key_name:password) so every rule can still authenticate.
CANARIES: dict[str, dict[str, str]] = {
    "threatconnect": {
        "SECRET_KEY": "Qz7x",  # short: only the HMAC is keyed with it, any length is a valid key
        "API_TOKEN": "APIV2:412:Cnr7Tk:1767225600000:CanaryTokenTail7Wq2Lp9Zx4Rv8Nb3Hs6Jd1Kf5=",
        "EXPIRED_API_TOKEN": "APIV2:412:Cnr7Ex:1704067200000:CanaryExpiredTail3Pm8Qw1Zt6Yx9Lc4Vb2Hn7=",
    },
    "assemblyline": {
        "APIKEY": "contractgate_rw:CanaryRwPassword7Qm2Xv9Lt4Zk8Np3Hr6Wd1",
        "APIKEY_READ": "contractgate_r:CanaryReadPassword5Jt8Wq3Lz7Xm2Pv9Kc4",
        "APIKEY_WRITE": "contractgate_w:CanaryWritePassword1Ns6Hy4Qx8Zm3Tb7Lr2",
        "APIKEY_SUBMIT": "contractgate_submit:CanarySubmitPassword9Vk2Rp6Wz3Lx8Mq5",
        "APIKEY_ADMIN": "contractgate_admin:CanaryAdminPassword4Tn7Wk2Lx9Zq3Mv8Pd6",
        "PASSWORD": "Kp3w",  # short: the password session takes any password
    },
    "threatjammer": {},  # filled below: one canary per key kind and region
}
# Faults that make rules fail on auth, cookies, XSRF and error bodies, so their messages and curl lines show.
FAULTS = {
    "threatconnect": ["token-refused-on-v2", "signature-error-403", "expired-token-accepted", "no-credentials-401"],
    "assemblyline": ["401-keeps-xsrf-cookie", "xsrf-not-enforced", "login-session-ignored", "read-key-full-roles"],
    "threatjammer": ["malformed-key-400", "bearer-prefix-optional", "token-self-masked", "missing-auth-403"],
}


def _canaries(vendor: str) -> dict[str, str]:
    server = server_class(vendor)
    if vendor != "threatjammer":
        return CANARIES[vendor]
    tails = {"KEY": "CnryKey", "QUOTA_KEY": "CnryQta", "MONTH_KEY": "CnryMon"}
    canaries = {}
    for name in server.default_credentials:
        kind, _, region = name.rpartition("_")
        canaries[name] = "tja_" + (tails[kind] + region.upper() + "Zq7Wx3Lp9Rv2Nb6Hs4Jd8Kf1Tm5Yc0")[:36]
    return canaries


def _forms(secret: str) -> set[str]:
    """The forms the run must not write: plain, lower case, URL-encoded, base64."""
    encoded = base64.b64encode(secret.encode()).decode()
    forms = {secret, secret.lower(), quote(secret, safe=""), quote_plus(secret), encoded, encoded.rstrip("=")}
    return {form for form in forms if len(form) >= 4}


_COOKIE_ATTRIBUTES = {"path", "expires", "max-age", "domain", "samesite", "httponly", "secure", "priority"}
_COOKIE_LINE = re.compile(r"(?i)\b(?:set-)?cookie: ([^'\n]*)")  # a curl -H argument, a printed header


def _cookie_headers(node: object) -> Iterator[str]:
    """Every Cookie / Set-Cookie value in a JSON document (reports' maps, cassettes' lists, HAR's records)."""
    if isinstance(node, dict):
        if str(node.get("name", "")).lower() in {"cookie", "set-cookie"} and isinstance(node.get("value"), str):
            yield node["value"]
        for key, value in node.items():
            if str(key).lower() in {"cookie", "set-cookie"} and isinstance(value, str):
                yield value
            elif str(key).lower() in {"cookie", "set-cookie"} and isinstance(value, list):  # VCR.py's header lists
                yield from (item for item in value if isinstance(item, str))
            else:
                yield from _cookie_headers(value)
    elif isinstance(node, list):
        if len(node) == 2 and str(node[0]).lower() in {"cookie", "set-cookie"} and isinstance(node[1], str):
            yield node[1]
        else:
            for item in node:
                yield from _cookie_headers(item)


def _unmasked_cookies(where: str, text: str) -> list[str]:
    """Cookie values that are neither masked nor empty (a session cookie, an XSRF token)."""
    try:
        values = list(_cookie_headers(json.loads(text)))
    except ValueError:
        values = []
    values += _COOKIE_LINE.findall(text)
    pairs = [pair.strip() for value in values for pair in re.split(r"[;,]", value)]
    return [
        f"{pair!r} in {where}"
        for pair in pairs
        if "=" in pair
        and pair.split("=", 1)[0].lower() not in _COOKIE_ATTRIBUTES
        and pair.split("=", 1)[1] not in {"", "REDACTED"}
    ]


def _run(vendor: str, running: RunningServer, *extra: str) -> int:
    """A run configured as a user would: targets (writes allowed, unthrottled, the CA) in contractgate.toml."""
    ca = f"ca_bundle = {json.dumps(str(running.ca_pem))}\n" if running.ca_pem is not None else ""
    Path("contractgate.toml").write_text(
        "".join(
            f"[targets.{json.dumps(key)}]\nurl = {json.dumps(url)}\nallow_writes = true\nrate = 1000\n{ca}"
            for key, url in running.urls.items()
        ),
        encoding="utf-8",
    )
    argv = ["--contracts", str(ROOT / "contracts"), "run", "--vendor", vendor, "--no-matrix", *extra]
    return cli.main(argv)


@pytest.mark.parametrize("vendor", ["threatconnect", "assemblyline", "threatjammer"])
def test_no_form_of_a_canary_secret_is_written_or_printed(
    vendor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    canaries = _canaries(vendor)
    assert set(canaries) <= set(server_class(vendor).default_credentials), "a canary for an unknown credential"
    secret_envs = {decl.env for decl in contract.credentials.values() if decl.secret}
    assert all(name.rpartition("_")[0] in secret_envs or name in secret_envs for name in canaries)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)

    clean = server_class(vendor)(credentials=canaries)
    with serve_in_thread(clean) as running:
        for name, value in bundled_config(contract, running).environ.items():
            monkeypatch.setenv(name, value)
        recorded = _run(vendor, running, "--mode", "record", "--cassettes", "cassettes", "--reports", "r1")
    faulty = server_class(vendor)(credentials=canaries, faults=FAULTS[vendor])
    with serve_in_thread(faulty) as running:
        failed = _run(vendor, running, "--mode", "live", "--reports", "r2", "-v")
    exported = [cli.main(["export-har", "r2/latest", "r2.har"]), cli.main(["export-har", "cassettes", "r1.har"])]
    printed = capsys.readouterr()

    assert recorded == 0, printed.out[:6000]
    assert failed == 1, "the faults made no rule fail, so no violation was printed"
    assert "request: curl" in printed.out, "no curl line was printed"
    assert exported == [0, 0], printed.err
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(list((tmp_path / "cassettes" / vendor).glob("*.json"))) >= len(contract.rules) // 2
    texts = {str(path.relative_to(tmp_path)): path.read_bytes().decode("utf-8", "replace") for path in written}
    texts = {where: html.unescape(text) if where.endswith(".html") else text for where, text in texts.items()}
    texts |= {"(stdout)": printed.out, "(stderr)": printed.err}
    leaks = [
        f"{form!r} (a form of {name}) in {where}"
        for name, secret in canaries.items()
        for form in _forms(secret)
        for where, text in texts.items()
        if form in text
    ]
    assert not leaks, leaks
    cookies = [leak for where, text in texts.items() for leak in _unmasked_cookies(where, text)]
    assert not cookies, cookies
