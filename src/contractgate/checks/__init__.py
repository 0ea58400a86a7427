"""Check kinds: each is a params model and one function, registered by name."""

from __future__ import annotations

from . import _counter, _fuzz, _hmac_window, _links, _pagination, _probes, _quota, _request, _schema, _scope, _slash
from ._registry import Kind, Params, Registry, registry

__all__ = ["Kind", "Params", "Registry", "registry"]

_LOADED = (_counter, _fuzz, _quota, _hmac_window, _links, _pagination, _probes, _request, _schema, _scope, _slash)
