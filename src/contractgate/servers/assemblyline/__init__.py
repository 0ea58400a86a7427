"""The Assemblyline 4 reference server: a simulator of the documented /api/v4/ REST API."""

from __future__ import annotations

from ._app import AssemblylineServer

__all__ = ["AssemblylineServer"]
