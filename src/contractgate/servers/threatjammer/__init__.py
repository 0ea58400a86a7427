"""Threat Jammer reference server: the regional User API and Report API, with fault switches."""

from __future__ import annotations

from ._server import DEFAULT_CREDENTIALS, OPTIONS, ThreatJammerServer

__all__ = ["DEFAULT_CREDENTIALS", "OPTIONS", "ThreatJammerServer"]
