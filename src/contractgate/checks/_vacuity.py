"""Counting what a check examined, so a rule that examined nothing is an error and never a pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import NothingToCheck

__all__ = ["Tally"]


class Tally:
    """How many cases a property or a list of cases really ran."""

    def __init__(self) -> None:
        self.count = 0

    def wrap(self, body: Callable[[Any], None]) -> Callable[[Any], None]:
        """`body`, counting each call."""

        def counted(value: Any) -> None:
            self.count += 1
            body(value)

        return counted

    def require(self, what: str) -> None:
        """Raise NothingToCheck naming `what` was empty when no case ran."""
        if not self.count:
            raise NothingToCheck(what)
