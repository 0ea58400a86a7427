"""Where the bundled vendor packs live, so contractgate finds its contracts from any directory."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

__all__ = ["CONTRACT_SUFFIXES", "bundled_dir", "bundled_file"]

# A contract is a YAML file; both spellings of the suffix are contracts.
CONTRACT_SUFFIXES = (".yaml", ".yml")


def bundled_dir() -> Path | None:
    """The folder of the bundled packs: `contractgate/contracts` in an installed wheel, `contracts/` in a checkout.

    The wheel carries the repository's top-level `contracts/` folder as package data (see pyproject.toml), so
    there is one source; a source checkout or an editable install reads that folder where it is.
    """
    packaged = importlib.resources.files(__package__ or "contractgate") / "contracts"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "contracts").is_dir():
        return checkout / "contracts"
    return None


def bundled_file(relative: str) -> Path | None:
    """A file of the bundled packs by its path relative to the packs' parent (`contracts/openapi/...`), if shipped."""
    folder = bundled_dir()
    if folder is None:
        return None
    path = folder.parent / relative
    return path if path.is_file() else None
