"""Where numba keeps the compiled engine, and keeping that cache honest across modules.

**Where.** By default numba (``cache=True``) writes next to the sources, in the package's
``__pycache__``: a wheel reinstall throws the machine code away (14-18 s to compile again) and a
read-only install cannot keep it at all. :func:`configure_numba_cache` (called by
``osteotwin/__init__.py``, so before numba is first imported) points ``NUMBA_CACHE_DIR`` at a
versioned, writable folder instead::

    $XDG_CACHE_HOME/osteotwin/numba/<osteotwin version>-numba<numba version>-py<major><minor>

(``~/.cache`` when ``XDG_CACHE_HOME`` is unset), or, when that cannot be written (a read-only
home), ``<temp dir>/osteotwin-<uid>/numba/...`` (created 0700 and used only when it is ours). A
``NUMBA_CACHE_DIR`` already in the environment is honoured as it is; ``OSTEOTWIN_NUMBA_CACHE=off``
leaves numba's default alone. numba reads ``NUMBA_CACHE_DIR`` when ``numba.core.config`` is
imported and again at every compile (``config.reload_config``); a dispatcher picks its cache folder
when it is created (its ``njit``), so when numba is already imported we reload its config at once.
Note the variable is process-wide: other numba code in the same process caches there too.
Inside that folder numba files each source folder under its own hashed sub-folder, so checkouts in
different places never share entries. ``python -m osteotwin.physiology.compile`` (run by
``make install``) fills the cache once.

**Honest.** numba keys a cached kernel on the content of its own source file only; a kernel that
inlines functions from other files (solve.py calls system.py, drug_kernels.py and drugs.py) would
otherwise keep running stale machine code after one of those files changes. Before the kernels
are defined, :func:`invalidate_stale` compares a content hash of the module and its dependencies
with the one recorded beside the module's cache entries, and deletes the module's cache indexes
when they differ, so numba recompiles. Content, not timestamps: a wheel reinstall can carry
files older than the cache, and a checkout can make unchanged files look new.
"""

from __future__ import annotations

# Only os and sys here: osteotwin/__init__.py imports this module, and ``import osteotwin`` stays light.
import os
import sys

ENV_VARIABLE = "NUMBA_CACHE_DIR"
OPT_OUT_VARIABLE = "OSTEOTWIN_NUMBA_CACHE"
MARKER_SUFFIX = ".osteotwin-deps"


def drugs_source() -> str:
    return os.path.join(os.path.dirname(__file__), "drugs.py")


# -- where ---------------------------------------------------------------------------------------


def _numba_version() -> str:
    """numba's version without importing numba: the ``numba-X.Y.Z.dist-info`` beside the package."""
    for entry in sys.path:
        if not os.path.isfile(os.path.join(entry or ".", "numba", "__init__.py")):
            continue
        try:
            names = os.listdir(entry or ".")
        except OSError:
            return "unknown"
        for name in names:
            if name.startswith("numba-") and name.endswith((".dist-info", ".egg-info")):
                return name[len("numba-"):].rsplit(".", 1)[0].split("-")[0]
        return "unknown"
    return "unknown"


def cache_leaf() -> str:
    """``<osteotwin version>-numba<numba version>-py<major><minor>``."""
    from osteotwin import __version__

    return f"{__version__}-numba{_numba_version()}-py{sys.version_info[0]}{sys.version_info[1]}"


def _usable(folder: str, *, private: bool) -> bool:
    """Create ``folder`` if needed; True when this process can write it (and, if ``private``,
    when it belongs to this user and nobody else can write it: a shared temp folder must not
    let another user plant machine code that we would load)."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if private:
            info = os.lstat(folder)
            if not os.path.isdir(folder) or os.path.islink(folder) or info.st_uid != os.getuid() or info.st_mode & 0o022:
                return False
        return os.access(folder, os.W_OK | os.X_OK)
    except OSError:
        return False


def default_cache_dir() -> str | None:
    """The versioned, writable cache folder for this install (None: none could be made)."""
    leaf = cache_leaf()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "osteotwin", "numba", leaf)
    if os.path.isabs(base) and _usable(folder, private=False):
        return folder
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else "user"
    private_root = os.path.join(tempfile.gettempdir(), f"osteotwin-{uid}")
    if _usable(private_root, private=True):
        folder = os.path.join(private_root, "numba", leaf)
        if _usable(folder, private=False):
            return folder
    return None


def configure_numba_cache() -> str | None:
    """Point numba's cache at :func:`default_cache_dir` unless ``NUMBA_CACHE_DIR`` is already set.

    Returns the folder numba will use (None: numba's own default). Cheap (no numba import); call
    it before the first kernel is defined.
    """
    current = os.environ.get(ENV_VARIABLE)
    if current:
        return current
    if os.environ.get(OPT_OUT_VARIABLE, "").lower() in ("0", "off", "no", "false"):
        return None
    folder = default_cache_dir()
    if folder is None:
        return None
    os.environ[ENV_VARIABLE] = folder
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba came first: its config was read without us
        config.reload_config()
    return folder


# -- honest --------------------------------------------------------------------------------------


def kernel_cache_path(module_file: str) -> os.PathLike[str] | None:
    """The folder numba caches ``module_file``'s kernels in (numba's own locator rules), or None."""
    from pathlib import Path

    from numba.core import caching, config

    config.reload_config()
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)  # renamed in numba 0.68
    locators = getattr(impl, "_locator_classes", None)
    if locators:
        def probe() -> None:  # the locators read only the first line number of a function
            return None

        try:
            for locator_class in locators:
                locator = locator_class.from_function(probe, module_file)
                if locator is not None:
                    return Path(locator.get_cache_path())
            return None
        except Exception:  # numba internals changed: the rule below
            pass
    if config.CACHE_DIR:  # numba's UserProvidedCacheLocator
        return Path(config.CACHE_DIR) / caching._CacheLocator.get_suitable_cache_subpath(module_file)
    return Path(module_file).parent / "__pycache__"


def sources_digest(files: tuple[str, ...] | list[str]) -> str:
    """sha256 over the contents of ``files`` in order (a missing file hashes as the word "missing")."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for name in files:
        try:
            digest.update(Path(name).read_bytes())
        except OSError:  # e.g. a dependency removed
            digest.update(b"missing")
        digest.update(b"\0")
    return digest.hexdigest()


def invalidate_stale(module_file: str, dependencies: tuple[str, ...] | list[str], cache_path: str | os.PathLike | None = None) -> bool:
    """Delete numba's cache indexes of ``module_file`` if it or a dependency changed content.

    The digest of ``module_file`` and ``dependencies`` is kept in ``<stem>.osteotwin-deps`` beside
    the indexes (``cache_path``: the folder; default, numba's folder for the module). Returns True
    when the indexes were dropped. Best effort: on a read-only cache numba does not write either.
    """
    from pathlib import Path

    module = Path(module_file)
    folder = Path(cache_path) if cache_path is not None else kernel_cache_path(module_file)
    if folder is None:
        return False
    marker = folder / f"{module.stem}{MARKER_SUFFIX}"
    digest = sources_digest((module_file, *dependencies))
    try:
        if marker.read_text(encoding="ascii") == digest:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    try:
        # indexes first, then the marker: a process that sees the new digest finds no stale index
        for index in folder.glob(f"{module.stem}.*.nbi"):
            index.unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{marker.name}.{os.getpid()}.tmp"
        partial.write_text(digest, encoding="ascii")
        os.replace(partial, marker)
    except OSError:  # read-only cache or a race with another process: numba recompiles or reuses
        return False
    return True
