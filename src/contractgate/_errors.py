"""The exception hierarchy: what went wrong, and whether the target or the set-up is to blame."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BodyTooLarge",
    "BudgetExhausted",
    "ContractError",
    "ContractGateError",
    "CredentialsMissing",
    "DeadlineExceeded",
    "NothingToCheck",
    "RateLimited",
    "SetupError",
    "SkipRule",
    "TargetNotAnswering",
    "TargetUnreachable",
    "Violation",
    "WriteBlocked",
    "known_hint",
]


class ContractGateError(Exception):
    """Root of every error contractgate raises on purpose."""


class SetupError(ContractGateError):
    """The run could not start or go on: the fault lies with the set-up, not the target (exit 2)."""


class ContractError(SetupError):
    """A contract file is invalid; the message names file, line and field."""


class TargetUnreachable(SetupError):
    """The target did not answer at the transport level (DNS, refused, timeout)."""


class DeadlineExceeded(TargetUnreachable):
    """A request did not complete (headers and body) within its total deadline: the target trickles."""


class TargetNotAnswering(TargetUnreachable):
    """The circuit breaker of a target is open: earlier requests timed out, so nothing more is sent to it."""


class CredentialsMissing(SetupError):
    """A credential a rule needs is not configured; the rule is skipped with this reason."""

    def __init__(self, message: str, variables: list[str] | None = None) -> None:
        super().__init__(message)
        self.variables = list(variables or [])


class NothingToCheck(SetupError):
    """A rule examined nothing (an empty listing, no link, no drawn case): it cannot pass, it is an error."""

    def __init__(self, what: str) -> None:
        super().__init__(f"nothing to check: {what}")
        self.what = what


class BudgetExhausted(SetupError):
    """A walk hit its request budget before the end: it cannot claim what it did not see (an error)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"could not check: {what}")


class RateLimited(SetupError):
    """The target answered "rate limited" or "quota exhausted" after the retries: the rule could not check."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"could not check: rate-limited ({detail})")
        self.detail = detail


class WriteBlocked(SetupError):
    """A writing method was about to leave the process for a target that did not opt in to writes."""


class SkipRule(ContractGateError):
    """The rule cannot run here (mode, missing credential, target not configured).

    `cause` says why, for the verdict: "mode" (by design: the rule cannot run in this mode; not counted
    against the run), "target" (no target configured), "writes" (the target did not opt in to writes),
    or "other" (a limit or a contract property).
    """

    def __init__(self, message: str, cause: str = "other", needs: list[str] | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.needs = list(needs or [])


@dataclass
class Violation(ContractGateError):
    """The target broke the contract: what was expected, what came back, and where in the response."""

    message: str
    expected: object = None
    got: object = None
    where: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.where:
            parts.append(f"  where:    {self.where}")
        if self.expected is not None:
            parts.append(f"  expected: {self.expected!r}")
        if self.got is not None or self.expected is not None:
            parts.append(f"  got:      {_short(self.got)}")
        return "\n".join(parts)


def _short(value: object, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass
class BodyTooLarge(Violation):
    """An answer grew past the body size cap; it is reported as a violation of the rule that asked."""


def known_hint(name: str, known: Iterable[str], limit: int = 12) -> str:
    """` (known: a, b; did you mean 'a'?)`: what an error about an unknown name appends, so the fix is obvious."""
    names = sorted(set(known))
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    shown = ", ".join(names[:limit]) + (f", … ({len(names)} in all)" if len(names) > limit else "")
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f" (known: {shown or 'none'}{hint})"
