"""The Threat Jammer reference server: User and Report API apps for every region."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..._packs import bundled_file
from .._base import App, ReferenceServer
from ._catalogue import SEED, build_catalogue
from ._faults import FAULTS
from ._next import NEXT_RELEASE
from ._report import report_routes
from ._runtime import Runtime
from ._state import REGIONS, Plan, State, Token
from ._user import user_routes

__all__ = ["DEFAULT_CREDENTIALS", "OPTIONS", "ThreatJammerServer"]

CATALOGUE = build_catalogue()
# The published document the packs ship (also in an installed wheel); served at /openapi.json.
OPENAPI = bundled_file("contracts/openapi/vendor/threatjammer-user-api-1.2.27.openapi.json")
# Constructor options and their defaults; the quota sizes are small where rules must exhaust them.
OPTIONS: dict[str, Any] = {
    "minute_quota": 10_000,
    "month_quota": 1_000_000,
    "free_minute_quota": 10,
    "free_month_quota": 5_000,
    "free_report_quota": 6,
    "trial_month_quota": 3,
    # The quota switch: every key (not only the QUOTA_KEY ones) on the free plan's per-minute limits, so a
    # whole run meets the documented rate; `minute_seconds` shortens the minute for tests.
    "free_plan_rate": False,
    "minute_seconds": 60.0,
    "clock": None,
    "openapi_path": None,
}
# Credential name prefix -> (account the key belongs to, which plan it is on).
KEY_KINDS = {
    "KEY": ("analyst", "standard"),
    "QUOTA_KEY": ("free-tier", "free"),
    "MONTH_KEY": ("trial", "trial"),
}
_CREDENTIAL = re.compile(r"(KEY|QUOTA_KEY|MONTH_KEY)_([A-Z]+)")


def _issue_keys() -> dict[str, str]:
    rng = random.Random(SEED + 1)
    alphabet = string.ascii_letters + string.digits
    return {
        f"{kind}_{region.upper()}": "tja_" + "".join(rng.choice(alphabet) for _ in range(36))
        for kind in KEY_KINDS
        for region in REGIONS
    }


DEFAULT_CREDENTIALS = _issue_keys()


async def _framework_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)


class ThreatJammerServer(ReferenceServer):
    """Threat Jammer: one User API and one Report API app per region (Dublin and Paris).

    Each region accepts only its own keys. `KEY_<REGION>` keys have generous quotas,
    `QUOTA_KEY_<REGION>` keys are on the Free plan (10 User API calls and 6 Report API calls a
    minute) and `MONTH_KEY_<REGION>` keys have a tiny monthly quota, so quota rules run fast.
    Options (see OPTIONS) resize those quotas, put every key on the free plan's rate (`free_plan_rate`, at a
    time scale of `minute_seconds`), replace the clock or the served OpenAPI file.
    """

    vendor = "threatjammer"
    faults = FAULTS
    next_release = NEXT_RELEASE
    default_credentials = DEFAULT_CREDENTIALS
    runtime: Runtime

    def _settings(self) -> dict[str, Any]:
        unknown = sorted(set(self.options) - OPTIONS.keys())
        if unknown:
            raise TypeError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
        return {**OPTIONS, **self.options}

    def _plans(self, settings: dict[str, Any]) -> dict[str, Plan]:
        minute, month = int(settings["minute_quota"]), int(settings["month_quota"])
        free_minute, free_report = int(settings["free_minute_quota"]), int(settings["free_report_quota"])
        seconds = float(settings["minute_seconds"])
        if not seconds > 0:
            raise ValueError(f"minute_seconds must be a positive number of seconds, got {seconds!r}")
        rates = (free_minute, free_report) if settings["free_plan_rate"] else (minute, minute)
        return {
            "standard": Plan("standard", month, *rates, seconds),
            "free": Plan("free", int(settings["free_month_quota"]), free_minute, free_report, seconds),
            "trial": Plan("trial", int(settings["trial_month_quota"]), *rates, seconds),
        }

    def _tokens(self, plans: dict[str, Plan]) -> list[Token]:
        tokens = []
        for name, key in sorted(self.credentials.items()):
            match = _CREDENTIAL.fullmatch(name)
            if match is None or match.group(2).lower() not in REGIONS:
                continue
            account, plan = KEY_KINDS[match.group(1)]
            tokens.append(Token(key, match.group(2).lower(), account, plans[plan]))
        return tokens

    def reset(self) -> None:
        """Restore the seeded reports and lists and give every key a full quota."""
        settings = self._settings()
        state = State.seeded(CATALOGUE, self._tokens(self._plans(settings)))
        if "runtime" in self.__dict__:
            self.runtime.state = state
            return
        clock: Callable[[], float] | None = settings["clock"]
        path = settings["openapi_path"]
        self.runtime = Runtime(self.switch, CATALOGUE, state, openapi_path=Path(path) if path else OPENAPI)
        if clock is not None:
            self.runtime.clock = clock

    def build_apps(self) -> list[App]:
        """A User API app and a Report API app for each region."""
        handlers: dict[Any, Any] = {HTTPException: _framework_error}
        apps = []
        for region in REGIONS:
            routes, alias = user_routes(self.runtime, region)
            user = Starlette(routes=routes, exception_handlers=handlers)
            alias.target = user.router
            apps.append(App(f"threatjammer:{region}", user))
        for region in REGIONS:
            report = Starlette(routes=report_routes(self.runtime, region), exception_handlers=handlers)
            apps.append(App(f"threatjammer-report:{region}", report))
        return apps
