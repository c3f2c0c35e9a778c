"""Start-up: where numba's cache lives, that a second process reuses it, and that it goes stale
when a kernel's source or a file it inlines changes (physiology/cache_guard.py)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import osteotwin
from osteotwin.physiology import cache_guard

PACKAGE = Path(osteotwin.__file__).parent


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without the cache variables the test process set for itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "OSTEOTWIN_NUMBA"))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env.update(extra)
    return env


def _python(code: str, env: dict[str, str]) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


PRINT_DIRS = "import os; from numba.core import config; print(os.environ.get('NUMBA_CACHE_DIR')); print(config.CACHE_DIR)"


def test_cache_folder_is_versioned_writable_and_outside_the_package(tmp_path):
    env_dir, numba_dir = _python("import osteotwin; " + PRINT_DIRS, _env(tmp_path))
    import numba

    expected = tmp_path / "xdg" / "osteotwin" / "numba" / f"{osteotwin.__version__}-numba{numba.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
    assert env_dir == numba_dir == str(expected)
    assert expected.is_dir() and os.access(expected, os.W_OK)
    assert PACKAGE not in expected.parents


def test_numba_imported_before_osteotwin_still_uses_the_folder(tmp_path):
    env_dir, numba_dir = _python("import numba, osteotwin; " + PRINT_DIRS, _env(tmp_path))
    assert env_dir == numba_dir and numba_dir.startswith(str(tmp_path / "xdg"))


def test_an_existing_numba_cache_dir_is_honoured(tmp_path):
    mine = str(tmp_path / "mine")
    assert _python("import osteotwin; " + PRINT_DIRS, _env(tmp_path, NUMBA_CACHE_DIR=mine)) == [mine, mine]
    off = _python("import osteotwin; " + PRINT_DIRS, _env(tmp_path, OSTEOTWIN_NUMBA_CACHE="off"))
    assert off == ["None", ""]


def test_unwritable_home_falls_back_to_a_private_temp_folder(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env_dir, numba_dir = _python("import osteotwin; " + PRINT_DIRS,
                                 _env(tmp_path, XDG_CACHE_HOME=str(blocker), HOME=str(blocker), TMPDIR=str(temp)))
    private = temp / f"osteotwin-{os.getuid()}"
    assert env_dir == numba_dir and Path(numba_dir).parent.parent == private
    assert stat.S_IMODE(private.stat().st_mode) == 0o700


def test_a_temp_folder_others_can_write_is_refused(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setenv("HOME", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    shared = tmp_path / f"osteotwin-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)
    assert cache_guard.default_cache_dir() is None
    shared.chmod(0o700)
    assert cache_guard.default_cache_dir() == str(shared / "numba" / cache_guard.cache_leaf())


def test_stale_indexes_follow_content_not_timestamps(tmp_path):
    module, dependency, cache = tmp_path / "solve.py", tmp_path / "system.py", tmp_path / "cache"
    module.write_text("a = 1\n")
    dependency.write_text("b = 1\n")
    cache.mkdir()

    def indexes() -> list[str]:
        for name in ("solve.f-1.py311.nbi", "solve.g-9.py311.nbi", "system.h-3.py311.nbi"):
            (cache / name).touch(exist_ok=True)
        return sorted(p.name for p in cache.glob("*.nbi"))

    indexes()
    assert cache_guard.invalidate_stale(str(module), (str(dependency),), cache)  # no record yet: drop
    assert sorted(p.name for p in cache.glob("*.nbi")) == ["system.h-3.py311.nbi"]
    indexes()
    assert not cache_guard.invalidate_stale(str(module), (str(dependency),), cache)  # same content: keep
    os.utime(dependency, (1e9, 1e9))  # an older file (a wheel reinstall) with the same content: keep
    os.utime(module, None)
    assert not cache_guard.invalidate_stale(str(module), (str(dependency),), cache)
    assert len(list(cache.glob("solve.*.nbi"))) == 2
    dependency.write_text("b = 2\n")
    os.utime(dependency, (1e9, 1e9))  # changed content with an old timestamp: drop
    assert cache_guard.invalidate_stale(str(module), (str(dependency),), cache)
    assert sorted(p.name for p in cache.glob("*.nbi")) == ["system.h-3.py311.nbi"]


SIMULATE = """
import os, time
start = time.perf_counter()
from osteotwin import simulate
from osteotwin.physiology import cache_guard, solve
simulate({"months": 12, "endocrine_therapy": [{"drug": "anastrozole"}],
          "bone_agents": [{"drug": "denosumab", "every_months": 6}]})
print("SECONDS", time.perf_counter() - start)
print("FOLDER", cache_guard.kernel_cache_path(solve.__file__))
"""


@pytest.mark.slow
def test_a_second_process_loads_the_cache_and_nothing_is_written_into_the_package(tmp_path):
    """A fresh cache folder: the first process compiles and saves; the second, with unchanged
    sources, loads every kernel and saves nothing (numba's own cache log); the package folder,
    made read-only, receives no cache file. Then a changed dependency drops solve's indexes."""
    copy = tmp_path / "site" / "osteotwin"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in (copy, *copy.rglob("*")):
        path.chmod(path.stat().st_mode & ~0o222)
    env = _env(tmp_path, PYTHONPATH=str(tmp_path / "site"), NUMBA_DEBUG_CACHE="1")
    first = _python(SIMULATE, env)
    second = _python(SIMULATE, env)
    assert any("data saved" in line for line in first)
    assert not [line for line in second if "data saved" in line]
    assert any("data loaded" in line and "_integrate_serial" in line for line in second)
    seconds = [float(line.split()[1]) for run in (first, second) for line in run if line.startswith("SECONDS")]
    assert seconds[1] < seconds[0]
    assert not [p for p in copy.rglob("*") if p.suffix in (".nbi", ".nbc")]
    folder = Path(next(line.split(" ", 1)[1] for line in second if line.startswith("FOLDER")))
    assert folder.is_relative_to(tmp_path / "xdg")
    assert (folder / "solve.osteotwin-deps").is_file() and list(folder.glob("solve._integrate_serial-*.nbi"))

    physiology = copy / "physiology"
    system = physiology / "system.py"
    system.chmod(0o644)
    system.write_text(system.read_text(encoding="utf-8") + "\n# changed\n")
    assert cache_guard.invalidate_stale(str(physiology / "solve.py"), (str(system), str(physiology / "drug_kernels.py"),
                                                                       str(physiology / "drugs.py")), folder)
    assert not list(folder.glob("solve.*.nbi")) and list(folder.glob("drug_kernels.*.nbi"))


def test_small_batches_run_serially_and_large_ones_in_parallel():
    from osteotwin.physiology import engine, solve

    small = engine.run(engine.untreated_arrays(2, 12, endocrine_code=1))
    assert solve._integrate_serial.signatures
    large = engine.run(engine.untreated_arrays(solve.PARALLEL_FROM_PATIENTS, 12, endocrine_code=1))
    assert solve._integrate_parallel.signatures
    for name, values in small.items():
        assert (values[0] == large[name][0]).all(), name  # same patient, same numbers on either kernel


def test_one_scenario_on_one_thread_matches_the_batch():
    """simulate() runs one patient on the calling thread; the same patient inside a batch gives the same numbers."""
    from osteotwin import simulate, simulate_batch

    scenario = {"months": 24, "endocrine_therapy": [{"drug": "anastrozole"}], "bone_agents": [{"drug": "denosumab", "every_months": 6}]}
    other = {"months": 24, "endocrine_therapy": [{"drug": "letrozole"}]}
    alone = simulate(scenario)
    together = simulate_batch([other, scenario, *[other] * 8])[1]  # above PARALLEL_FROM_PATIENTS
    assert alone.lumbar_spine_bmd_pct_change == together.lumbar_spine_bmd_pct_change
    assert alone.ctx_pct_change == together.ctx_pct_change
