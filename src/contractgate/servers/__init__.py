"""Reference servers: one documented-behaviour simulator per vendor, with fault switches."""

from __future__ import annotations

import difflib
import importlib

from ._base import (
    VERSIONS,
    App,
    Fault,
    FaultSwitch,
    ReferenceServer,
    ReleaseChange,
    RunningServer,
    UnknownFault,
    fault_table,
    serve_in_process,
    serve_in_thread,
    with_levels,
)

__all__ = [
    "VERSIONS",
    "App",
    "Fault",
    "FaultSwitch",
    "ReferenceServer",
    "ReleaseChange",
    "RunningServer",
    "UnknownFault",
    "UnknownServer",
    "fault_table",
    "serve_in_process",
    "serve_in_thread",
    "server_class",
    "vendors",
    "with_levels",
]

_SERVERS = {
    "threatconnect": ("contractgate.servers.threatconnect", "ThreatConnectServer"),
    "assemblyline": ("contractgate.servers.assemblyline", "AssemblylineServer"),
    "threatjammer": ("contractgate.servers.threatjammer", "ThreatJammerServer"),
}


class UnknownServer(KeyError):
    """A vendor with no bundled reference server (a typo, or a custom contract that needs --target)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown vendor"


def vendors() -> list[str]:
    """Vendors that have a reference server."""
    return sorted(_SERVERS)


def server_class(vendor: str) -> type[ReferenceServer]:
    """The reference server class of a vendor (imported on first use)."""
    if vendor not in _SERVERS:
        close = difflib.get_close_matches(vendor, vendors(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UnknownServer(f"no reference server for {vendor!r} (known: {', '.join(vendors())}{hint})")
    module, name = _SERVERS[vendor]
    cls: type[ReferenceServer] = getattr(importlib.import_module(module), name)
    return cls
