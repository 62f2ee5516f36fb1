"""An earlier migration's module, for a later one. Migrations are frozen: a later one builds on an earlier one's
SQL as it was written (its cell selections, its functions) and restores it on downgrade. `versions/` holds files
alembic loads by path, not an importable package, so they are loaded by path here too."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).with_name("versions")


def migration(name: str) -> ModuleType:
    """The module of `versions/<name>` (for instance "0012_sites.py")."""
    spec = importlib.util.spec_from_file_location(f"sentrix_migration_{name[:4]}", VERSIONS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
