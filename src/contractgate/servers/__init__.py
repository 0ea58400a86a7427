"""Reference servers: one documented-behaviour simulator per vendor, with fault switches."""

from __future__ import annotations

import importlib

from ._base import (
    App,
    Fault,
    FaultSwitch,
    ReferenceServer,
    RunningServer,
    UnknownFault,
    serve_in_thread,
)

__all__ = [
    "App",
    "Fault",
    "FaultSwitch",
    "ReferenceServer",
    "RunningServer",
    "UnknownFault",
    "serve_in_thread",
    "server_class",
    "vendors",
]

_SERVERS = {
    "threatconnect": ("contractgate.servers.threatconnect", "ThreatConnectServer"),
    "assemblyline": ("contractgate.servers.assemblyline", "AssemblylineServer"),
    "threatjammer": ("contractgate.servers.threatjammer", "ThreatJammerServer"),
}


def vendors() -> list[str]:
    """Vendors that have a reference server."""
    return sorted(_SERVERS)


def server_class(vendor: str) -> type[ReferenceServer]:
    """The reference server class of a vendor (imported on first use)."""
    if vendor not in _SERVERS:
        raise KeyError(f"no reference server for {vendor!r}; known: {', '.join(vendors())}")
    module, name = _SERVERS[vendor]
    cls: type[ReferenceServer] = getattr(importlib.import_module(module), name)
    return cls
