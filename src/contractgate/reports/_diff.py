"""Compare two runs: which rules changed status, so a vendor upgrade's effect reads at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._json import load_results

__all__ = ["RuleChange", "diff_results", "render_diff"]

_RANK = {"passed": 0, "waived": 1, "skipped": 1, "absent": 1, "error": 2, "failed": 3}
# What no longer counts as proven: a rule that passed and now did not reach a pass (checked or not).
_UNPROVEN = {"failed", "error", "skipped", "waived", "absent"}


@dataclass(frozen=True)
class RuleChange:
    """One rule whose outcome differs between the two runs."""

    rule: str
    vendor: str
    before: str
    after: str
    message: str

    @property
    def regression(self) -> bool:
        """Failed or errored now where it did not before; or passed before and not proven now.

        passed -> skipped / error / waived / absent is a regression: the gate no longer proves the rule.
        """
        if self.before == "passed":
            return self.after in _UNPROVEN
        return self.after in {"failed", "error"} and self.before not in {"failed", "error"}

    @property
    def label(self) -> str:
        """BROKEN (now failing), UNPROVEN or LOST (passed, now not proven), FIXED, NEW, GONE or CHANGED."""
        if self.before == "absent":
            return "NEW"
        if self.after == "absent":
            return "GONE" if not self.regression else "LOST"
        if self.regression:
            return "BROKEN" if self.after in {"failed", "error"} else "UNPROVEN"
        if self.before in {"failed", "error"} and self.after == "passed":
            return "FIXED"
        return "CHANGED"


def _results(path: Path) -> dict[str, Any]:
    if path.is_dir():
        path = path / "results.json"
    return load_results(path)


def diff_results(before: Path, after: Path) -> list[RuleChange]:
    """Rules whose status differs between two results.json files (or report folders)."""
    old = {(r["vendor"], r["id"]): r for r in _results(before)["rules"]}
    new = {(r["vendor"], r["id"]): r for r in _results(after)["rules"]}
    changes = []
    for key in sorted(old.keys() | new.keys()):
        was = old.get(key, {}).get("status", "absent")
        now = new.get(key, {}).get("status", "absent")
        if was != now:
            message = new.get(key, old.get(key, {})).get("message", "")
            changes.append(RuleChange(key[1], key[0], was, now, message))
    changes.sort(key=lambda c: (-_RANK.get(c.after, 0), c.vendor, c.rule))
    return changes


def render_diff(changes: list[RuleChange]) -> str:
    """Plain text, most serious first."""
    if not changes:
        return "no rule changed status"
    lines = [f"{len(changes)} rule(s) changed status:"]
    for change in changes:
        line = f"  {change.label:8} {change.vendor} {change.rule}: {change.before} -> {change.after}"
        if change.message and change.after in {"failed", "error", "skipped", "waived"}:
            line += f"  ({change.message.splitlines()[0]})"
        lines.append(line)
    return "\n".join(lines)
