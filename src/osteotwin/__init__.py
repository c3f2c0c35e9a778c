"""osteotwin: a digital twin of bone for women on aromatase inhibitors."""

from __future__ import annotations

__version__ = "0.1.0"

# Before numba is first imported: a versioned, writable cache for the compiled engine (outside the
# package folder, so it survives reinstalls and read-only installs; physiology/cache_guard.py).
from osteotwin.physiology.cache_guard import configure_numba_cache as _configure_numba_cache  # noqa: E402

_configure_numba_cache()

__all__ = ["simulate", "simulate_batch", "EngineOptions", "__version__"]


def __getattr__(name: str):
    """Lazy exports so that ``import osteotwin`` stays light (the engine compiles on first use)."""
    if name in ("simulate", "simulate_batch"):
        from osteotwin.twin import simulation

        return getattr(simulation, name)
    if name == "EngineOptions":
        from osteotwin.physiology.options import EngineOptions

        return EngineOptions
    raise AttributeError(name)
