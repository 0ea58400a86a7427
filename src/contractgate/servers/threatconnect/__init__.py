"""ThreatConnect reference server: the documented REST API (v2 and v3) with fault switches."""

from __future__ import annotations

from ._server import ThreatConnectServer

__all__ = ["ThreatConnectServer"]
