"""Signing: the HMAC scheme signs exactly what is sent, and matches known vectors."""

from __future__ import annotations

import httpx
import pytest

from contractgate._auth import CREDENTIAL, CredentialId, Credentials, HmacAuth, build_auth, sign_message
from contractgate._contract import AuthOverride, Contract, HeaderScheme, HmacScheme
from contractgate._errors import CredentialsMissing

SCHEME = HmacScheme(
    type="hmac",
    key="secret_key",
    message="{path_query}:{method}:{timestamp}",
    headers={"Authorization": "TC {access_id}:{signature}", "Timestamp": "{timestamp}"},
)

# Computed with hmac/hashlib/base64 for secret "my-secret-key" (vendor-facts/threatconnect.md §2.2).
VECTORS = [
    ("/api/v2/owners", "vEIhkRRTvDGuNDF10fRaIkzKNfK8Wi8RJMGTmY30GtE="),
    ("/v2/owners", "EqNge9RqV+1neAQKpRQAoOE+kazoyQR1YMB+/gB123Y="),
    (
        "/api/v2/indicators/hosts/example.com?Owner=Common%20Community",
        "YsKaqRtwrcIhE3aoWqlErWBqJTN4M+0D1SunZs/9AHw=",
    ),
    ("/api/v3/indicators?owner=Demo+Community", "dZcF200ZdMT5XHNUPqWra3PahSs4/CcaeGqdg5N6RzQ="),
    ("/api/v3/indicators?owner=Demo%20Community", "eG9tzzy7Lr87Z15yEBThdX2QbDO8LFFpwVnW+IO9pIc="),
]


@pytest.mark.parametrize(("path_query", "signature"), VECTORS)
def test_signature_vectors(path_query: str, signature: str) -> None:
    assert sign_message("my-secret-key", f"{path_query}:GET:1513703787") == signature


def _signed(url: str, **options: object) -> httpx.Request:
    auth = HmacAuth(
        SCHEME,
        {"access_id": "1234", "secret_key": "my-secret-key"},
        secret_field="secret_key",
        timestamp="1513703787",
        **options,
    )  # type: ignore[arg-type]
    request = httpx.Request("GET", url)
    return next(auth.auth_flow(request))


@pytest.mark.parametrize(("path_query", "signature"), VECTORS)
def test_auth_signs_the_raw_target_as_sent(path_query: str, signature: str) -> None:
    request = _signed("https://app.example" + path_query)
    assert request.headers["Authorization"] == f"TC 1234:{signature}"
    assert request.headers["Timestamp"] == "1513703787"


def test_no_question_mark_without_query() -> None:
    auth = HmacAuth(SCHEME, {"access_id": "1", "secret_key": "k"}, secret_field="secret_key")
    assert auth.message(httpx.Request("GET", "https://h/api/v2/owners"), "5") == "/api/v2/owners:GET:5"


def test_clock_offset_and_omitted_headers() -> None:
    auth = HmacAuth(
        SCHEME,
        {"access_id": "1", "secret_key": "k"},
        secret_field="secret_key",
        clock=lambda: 1000.2,
        clock_offset=-301,
        omit=("Timestamp",),
    )
    request = next(auth.auth_flow(httpx.Request("GET", "https://h/x")))
    assert "Timestamp" not in request.headers
    assert request.headers["Authorization"] == "TC 1:" + sign_message("k", "/x:GET:699")


def test_missing_credential_names_the_variable(mini_contract: Contract) -> None:
    credentials = Credentials.from_env(mini_contract, {})
    with pytest.raises(CredentialsMissing, match="set CONTRACTGATE_MINI_ACCESS_ID"):
        build_auth(mini_contract, "hmac", credentials, None)


def test_override_replaces_a_credential_value(mini_contract: Contract) -> None:
    credentials = Credentials.from_env(
        mini_contract,
        {"CONTRACTGATE_MINI_ACCESS_ID": "id", "CONTRACTGATE_MINI_SECRET_KEY": "right"},
    )
    auth = build_auth(
        mini_contract,
        AuthOverride(scheme="hmac", credentials={"secret_key": "wrong"}, timestamp="7"),
        credentials,
        None,
    )
    assert isinstance(auth, HmacAuth)
    request = next(auth.auth_flow(httpx.Request("GET", "https://h/y")))
    assert request.headers["Authorization"] == "TC id:" + sign_message("wrong", "/y:GET:7")


def _credential_of(auth: httpx.Auth | None) -> CredentialId:
    assert auth is not None
    request = httpx.Request("GET", "https://h/x")
    signed = next(auth.auth_flow(request))
    identity = signed.extensions[CREDENTIAL]
    assert isinstance(identity, CredentialId)
    return identity


def test_a_signed_request_names_its_credential_without_its_secret(mini_contract: Contract) -> None:
    environ = {"CONTRACTGATE_MINI_ACCESS_ID": "1234", "CONTRACTGATE_MINI_SECRET_KEY": "my-secret-key"}
    credentials = Credentials.from_env(mini_contract, environ)
    identity = _credential_of(build_auth(mini_contract, None, credentials, None))
    assert identity.names == ("access_id", "secret_key")
    assert "my-secret-key" not in repr(identity)
    assert identity == _credential_of(build_auth(mini_contract, None, credentials, None))  # stable within a run
    other = Credentials.from_env(mini_contract, {**environ, "CONTRACTGATE_MINI_SECRET_KEY": "another-key"})
    assert _credential_of(build_auth(mini_contract, None, other, None)).fingerprint != identity.fingerprint


def test_a_header_credential_is_named_too(mini_contract: Contract) -> None:
    scheme = HeaderScheme(type="header", headers={"Authorization": "Bearer {secret_key}"})
    contract = mini_contract.model_copy(update={"auth": {**mini_contract.auth, "bearer": scheme}})
    credentials = Credentials.from_env(contract, {"CONTRACTGATE_MINI_SECRET_KEY": "k1"})
    assert _credential_of(build_auth(contract, "bearer", credentials, None)).names == ("secret_key",)
    made_up = AuthOverride(scheme="bearer", credentials={"secret_key": "k2"})
    assert _credential_of(build_auth(contract, made_up, credentials, None)) != _credential_of(
        build_auth(contract, "bearer", credentials, None)
    )
