"""Keep numba's on-disk cache honest across modules.

numba (``cache=True``) keys a cached kernel on its own source file only; a kernel that inlines
functions from other files (solve.py calls system.py and drugs.py) would otherwise keep running
stale machine code after those files change. Before the kernels are defined we delete the cache
index of a module when any file it depends on is newer than that index, so numba recompiles.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def drugs_source() -> str:
    return str(Path(__file__).with_name("drugs.py"))


def invalidate_stale(module_file: str, dependencies: Iterable[str]) -> None:
    """Remove numba index files of ``module_file`` older than any dependency (best effort)."""
    module = Path(module_file)
    cache_dir = module.parent / "__pycache__"
    try:
        newest = max(Path(d).stat().st_mtime for d in (*dependencies, module_file))
        for index in cache_dir.glob(f"{module.stem}.*.nbi"):
            if index.stat().st_mtime < newest:
                index.unlink(missing_ok=True)
    except OSError:  # read-only install or a race with another process: numba recompiles or reuses
        return
