"""Documented limits: the contract model, requests counted per credential, the quota pre-flight's verdict."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from contractgate._auth import Credentials
from contractgate._contract import Contract
from contractgate._errors import ContractError, SetupError
from contractgate._limits import (
    QuotaShort,
    Remaining,
    Spender,
    check_quotas,
    declared_rates,
    lanes,
    listed_requests,
    quota_limits,
    read_remaining,
)
from contractgate._loader import load_contract

CONTRACT = """\
schema_version: 1
vendor: metered
title: A vendor with a per-key quota (engine tests)
sources:
  DOC: {title: Metered docs, url: "https://example.invalid/docs"}
targets:
  - name: api
    regions: [east, west]
  - name: report
    regions: [east, west]
credentials:
  key: {env: KEY, per_region: true}
  spare: {env: SPARE_KEY, per_region: true}
auth:
  bearer: {type: header, headers: {Authorization: "Bearer {key}"}}
  bearer_spare: {type: header, headers: {Authorization: "Bearer {spare}"}}
defaults:
  auth: bearer
limits:
  - targets: [api]
    rate: {requests: 10, seconds: 60}
    quota:
      requests: 500
      period: a month
      read: {request: {path: /token}, limit: month_max, used: month_used}
    source: {doc: DOC, section: Quotas, anchor: quotas}
  - targets: [report]
    credentials: [key]
    rate: {requests: 6, seconds: 60}
    source: {doc: DOC, section: Report quotas, anchor: report-quotas}
  - targets: [report]
    rate: {requests: 3, seconds: 60}
    source: {doc: DOC, section: Report quotas for every key, anchor: report-quotas}
rules:
  - id: MET-A-001
    title: Two reads with the key
    source: {doc: DOC, section: A, anchor: a}
    evidence: documented
    severity: must
    kind: request
    params:
      steps:
        - request: {path: /a}
          expect: {status: 200}
        - request: {path: /b, region: west}
  - id: MET-A-002
    title: A made-up key spends nobody's quota; the spare key spends its own
    source: {doc: DOC, section: A, anchor: a}
    evidence: documented
    severity: must
    kind: request
    params:
      steps:
        - request: {path: /a, auth: {scheme: bearer, credentials: {key: made-up}}}
          expect: {status: 401}
        - request: {path: /a, auth: bearer_spare}
        - request: {path: /r, target: report, auth: none}
  - id: MET-A-003
    title: One request, given alone
    source: {doc: DOC, section: A, anchor: a}
    evidence: documented
    severity: must
    kind: request
    params:
      request: {path: /c, region: west}
      expect: {status: 200}
"""


def _contract(tmp_path: Path, text: str = CONTRACT) -> Contract:
    path = tmp_path / "metered.yaml"
    path.write_text(text)
    return load_contract(path)


def test_limits_load_with_their_source(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    assert [limit.targets for limit in contract.limits] == [["api"], ["report"], ["report"]]
    assert contract.limits[0].rate is not None
    assert contract.limits[0].rate.per_second == pytest.approx(10 / 60)
    assert [limit.source.anchor for limit in contract.limits_for("report", "key")] == ["report-quotas"] * 2
    assert len(contract.limits_for("report", "spare")) == 1


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (
            "- targets: [report]\n    credentials: [key]",
            "- targets: [reprot]\n    credentials: [key]",
            "limits.1.targets.0",
        ),
        ("credentials: [key]", "credentials: [kee]", "limits.1.credentials.0"),
        ("used: month_used}", "used: month_used, remaining: left}", "limits.0.quota.read"),
        ("rate: {requests: 6, seconds: 60}", "rate: {requests: 6, seconds: 0}", "limits.1.rate.seconds"),
        ("section: Quotas, anchor: quotas", "section: Quotas", "limits.0.source"),
    ],
)
def test_a_wrong_limit_names_file_line_and_field(tmp_path: Path, old: str, new: str, where: str) -> None:
    assert old in CONTRACT
    with pytest.raises(ContractError) as caught:
        _contract(tmp_path, CONTRACT.replace(old, new, 1))
    message = str(caught.value)
    assert f"{tmp_path / 'metered.yaml'}:" in message
    assert where in message
    line = int(message.split("metered.yaml:")[1].split(":")[0])
    assert new.splitlines()[0].strip()[:12] in (tmp_path / "metered.yaml").read_text().splitlines()[line - 1]


def test_a_limit_that_limits_nothing_is_a_load_error(tmp_path: Path) -> None:
    text = CONTRACT.replace("    rate: {requests: 3, seconds: 60}\n", "", 1)
    with pytest.raises(ContractError, match=r"limits\.2.*declares a `rate`, a `quota` or `concurrent`"):
        _contract(tmp_path, text)


def test_the_strictest_declared_rate_paces_each_credential(tmp_path: Path) -> None:
    rates = declared_rates([_contract(tmp_path)])
    assert rates[("api", "key")] == (10, 60.0)
    assert rates[("api", "spare")] == (10, 60.0)
    assert rates[("report", "key")] == (3, 60.0)  # two limits bind it: the stricter one wins
    assert rates[("report", "spare")] == (3, 60.0)


def test_listed_requests_counts_per_credential_and_target_key(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    counts = listed_requests(contract, contract.rules)
    assert dict(counts) == {
        Spender("api:east", "key"): 1,  # the first region when a request names none
        Spender("api:west", "key"): 2,  # a lone `request` counts once, not also as its own step
        Spender("api:east", "spare"): 1,
    }
    assert set(quota_limits(contract, counts)) == set(counts)  # every one of them spends the api quota


def test_a_run_that_fits_starts() -> None:
    spender = Spender("api:east", "key")
    check_quotas({spender: 40}, {spender: Remaining(500, 40)})
    check_quotas({spender: 20}, {spender: Remaining(500, 40)}, share=0.5)
    check_quotas({Spender("api:west", "key"): 999}, {spender: Remaining(500, 40)})  # no quota read, no verdict


def test_a_run_that_needs_more_than_is_left_is_refused_with_the_numbers() -> None:
    spender = Spender("api:east", "key")
    with pytest.raises(QuotaShort) as caught:
        check_quotas({spender: 41}, {spender: Remaining(500, 40)})
    message = str(caught.value)
    assert "\n" not in message
    assert "credential key on api:east needs 41 requests, 40 of 500 remain, share 1 allows 40" in message
    assert "not started" in message


def test_a_share_of_what_is_left_bounds_the_run() -> None:
    spender = Spender("api:east", "key")
    with pytest.raises(QuotaShort, match=r"needs 21 requests, 40 of 500 remain, share 0\.5 allows 20"):
        check_quotas({spender: 21}, {spender: Remaining(500, 40)}, share=0.5)


def test_an_overspent_quota_allows_nothing() -> None:
    spender = Spender("api:east", "key")
    with pytest.raises(QuotaShort, match=r"needs 1 requests, -3 of 500 remain, share 1 allows 0"):
        check_quotas({spender: 1}, {spender: Remaining(500, -3)})


def _token_server(status: int, body: object, seen: list[httpx.Request]) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, content=json.dumps(body).encode())

    return httpx.Client(transport=httpx.MockTransport(answer))


def test_the_remaining_quota_is_read_with_that_very_credential(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    credentials = Credentials.from_env(contract, {"CONTRACTGATE_METERED_SPARE_KEY_WEST": "spare-west"})
    read = contract.limits[0].quota.read if contract.limits[0].quota else None
    assert read is not None
    seen: list[httpx.Request] = []
    client = _token_server(200, {"month_max": 500, "month_used": 460}, seen)
    found = read_remaining(
        contract,
        Spender("api:west", "spare"),
        read,
        client=client,
        bases={"api:west": "https://west.example"},
        credentials=credentials,
    )
    assert found == Remaining(500, 40)
    assert [str(r.url) for r in seen] == ["https://west.example/token"]
    assert seen[0].headers["Authorization"] == "Bearer spare-west"


def test_an_unconfigured_credential_or_target_reads_nothing(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    read = contract.limits[0].quota.read if contract.limits[0].quota else None
    assert read is not None
    seen: list[httpx.Request] = []
    client = _token_server(200, {"month_max": 500, "month_used": 0}, seen)
    nobody = Credentials.from_env(contract, {})
    bases = {"api:west": "https://west.example"}
    spender = Spender("api:west", "spare")
    assert read_remaining(contract, spender, read, client=client, bases=bases, credentials=nobody) is None
    assert (
        read_remaining(contract, Spender("api:east", "spare"), read, client=client, bases=bases, credentials=nobody)
        is None
    )
    assert seen == []


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (401, {"detail": "no"}, r"answered 401\); nothing else was sent"),
        (200, {"month_max": 500}, r"without an integer at month_used, got None"),
        (200, {"month_max": "500", "month_used": 1}, r"without an integer at month_max, got '500'"),
    ],
)
def test_a_quota_that_cannot_be_read_stops_the_run(tmp_path: Path, status: int, body: object, why: str) -> None:
    contract = _contract(tmp_path)
    read = contract.limits[0].quota.read if contract.limits[0].quota else None
    assert read is not None
    credentials = Credentials.from_env(contract, {"CONTRACTGATE_METERED_KEY_EAST": "k"})
    client = _token_server(status, body, [])
    with pytest.raises(SetupError, match=r"credential key on api:east: could not read its quota .*" + why):
        read_remaining(
            contract,
            Spender("api:east", "key"),
            read,
            client=client,
            bases={"api:east": "https://east.example"},
            credentials=credentials,
        )


def test_rules_that_share_no_credential_on_a_target_fall_in_separate_lanes(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    ids = [[[rule.id for rule in lane] for lane in phase] for phase in lanes(contract, contract.rules, lambda _: False)]
    assert ids == [[["MET-A-001", "MET-A-003"], ["MET-A-002"]]]  # 001 and 003 both spend key on api:west


def test_a_solo_rule_is_a_phase_of_its_own_between_the_others(tmp_path: Path) -> None:
    contract = _contract(tmp_path)
    phases = lanes(contract, contract.rules, lambda rule: rule.id == "MET-A-002")
    ids = [[[rule.id for rule in lane] for lane in phase] for phase in phases]
    assert ids == [[["MET-A-001"]], [["MET-A-002"]], [["MET-A-003"]]]
