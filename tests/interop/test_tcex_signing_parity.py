"""Our HMAC signer, driven by the ThreatConnect contract's scheme, agrees with tcex's own signer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import requests
from tcex.input.field_type.sensitive import Sensitive
from tcex.requests_tc.auth import hmac_auth

from contractgate._auth import Credentials, HmacAuth, build_auth
from contractgate._contract import AuthOverride
from contractgate._loader import load_contract

ROOT = Path(__file__).resolve().parents[2]
ACCESS_ID, SECRET = "12345678901234567890", "parity-secret-key-0123456789"
TIMESTAMP = 1513703787


class FrozenTime:
    """Stands in for the time module inside tcex's signer."""

    @staticmethod
    def time() -> float:
        return float(TIMESTAMP)


def _tcex_header(
    monkeypatch: pytest.MonkeyPatch, url: str, params: dict[str, str] | None, method: str
) -> tuple[str, str]:
    monkeypatch.setattr(hmac_auth, "time", FrozenTime)
    prepared = requests.Request(method, url, params=params).prepare()
    signed = hmac_auth.HmacAuth(ACCESS_ID, Sensitive(SECRET))(prepared)
    assert prepared.url is not None
    return signed.headers["Authorization"], prepared.url


def _our_header(url: str, method: str) -> str:
    contract = load_contract(ROOT / "contracts" / "threatconnect.yaml")
    credentials = Credentials.from_env(
        contract,
        {"CONTRACTGATE_THREATCONNECT_ACCESS_ID": ACCESS_ID, "CONTRACTGATE_THREATCONNECT_SECRET_KEY": SECRET},
    )
    auth = build_auth(contract, AuthOverride(scheme="hmac", timestamp=str(TIMESTAMP)), credentials, None)
    assert isinstance(auth, HmacAuth)
    request = next(auth.auth_flow(httpx.Request(method, url)))
    return request.headers["Authorization"]


@pytest.mark.parametrize(
    ("url", "params", "method"),
    [
        ("https://app.example/api/v2/owners", None, "GET"),
        ("https://app.example/api/v3/indicators", {"owner": "Demo Community"}, "GET"),  # requests sends '+'
        ("https://app.example/api/v3/indicators?owner=Demo%20Community", None, "GET"),
        ("https://app.example/api/v2/indicators/hosts/example.com?Owner=Common%20Community", None, "GET"),
        ("https://app.example/api/v3/indicators", {"tql": 'summary like "%bad%"', "fields": "tags"}, "GET"),
        ("https://app.example/api/v3/indicators", None, "POST"),
    ],
)
def test_same_signature_as_tcex(
    monkeypatch: pytest.MonkeyPatch, url: str, params: dict[str, str] | None, method: str
) -> None:
    theirs, sent_url = _tcex_header(monkeypatch, url, params, method)
    assert _our_header(sent_url, method) == theirs


def test_plus_and_percent20_sign_differently() -> None:
    plus = _our_header("https://app.example/api/v3/indicators?owner=Demo+Community", "GET")
    percent = _our_header("https://app.example/api/v3/indicators?owner=Demo%20Community", "GET")
    assert plus != percent
