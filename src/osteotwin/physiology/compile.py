"""Compile the engine's numba kernels into the on-disk cache: ``python -m osteotwin.physiology.compile``.

``make install`` runs it after ``pip install``, so the first ``osteotwin simulate`` and the first
``osteotwin serve`` load machine code instead of compiling it (14-18 s on the 2-core machine). The
cache lives outside the package (physiology/cache_guard.py), so it survives a reinstall of the
same sources; a change to a kernel's source file, or to a file it inlines, recompiles that part.

Every caller (``simulate``, ``simulate_batch``, the web app, populations, calibration) reaches the
kernels through ``engine.run``, which passes C-contiguous float64/int64 arrays: one specialisation
of each of ``solve.integrate_batch``'s two kernels (serial below PARALLEL_FROM_PATIENTS, parallel above). The scenarios below still take every path once (an AI
alone, denosumab, a bisphosphonate, a rule-triggered start, the batched engine) in case a later
call site passes something else; :func:`compiled_kernels` lists what was built.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import osteotwin  # noqa: F401  (sets NUMBA_CACHE_DIR before numba is imported)

WARM_UP_SCENARIOS = (
    {"patient": {"age_years": 64, "years_since_menopause": 12, "weight_kg": 68, "height_cm": 162},
     "months": 12, "endocrine_therapy": [{"drug": "anastrozole", "start_month": 0}]},
    {"months": 12, "endocrine_therapy": [{"drug": "letrozole"}],
     "bone_agents": [{"drug": "denosumab", "every_months": 6},
                     {"drug": "zoledronic_acid", "every_months": 6, "start_when": {"site": "total_hip", "t_score_below": -2.0}}]},
)


def kernel_modules() -> tuple:
    from osteotwin.physiology import (
        background,
        bone,
        cells,
        drug_kernels,
        drugs,
        mechanostat,
        signalling,
        solve,
        system,
    )

    return (solve, system, signalling, mechanostat, cells, bone, drug_kernels, drugs, background)


def compiled_kernels() -> dict[str, int]:
    """``module.function`` -> number of compiled specialisations in this process (loaded or built)."""
    from numba.core.registry import CPUDispatcher

    counts: dict[str, int] = {}
    for module in kernel_modules():
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.overloads:
                counts[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = len(value.overloads)
    return counts


def warm_up() -> dict[str, object]:
    """Run every engine path once; returns seconds taken, the cache folder and the entry kernel's cache use."""
    start = time.perf_counter()
    from osteotwin.physiology import engine, solve
    from osteotwin.twin.simulation import simulate_batch

    simulate_batch(list(WARM_UP_SCENARIOS))  # one scenario at a time runs the serial kernel
    engine.run(engine.untreated_arrays(solve.PARALLEL_FROM_PATIENTS, 12))  # a batch runs the parallel one
    stats = solve._integrate_parallel.stats
    return {
        "seconds": time.perf_counter() - start,
        "cache_dir": os.environ.get("NUMBA_CACHE_DIR") or "numba's default (next to the sources)",
        "loaded": sum(stats.cache_hits.values()) > 0,
        "kernels": compiled_kernels(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m osteotwin.physiology.compile", description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    parser.add_argument("--list", action="store_true", help="also list every kernel and its specialisations")
    args = parser.parse_args(argv)
    report = warm_up()
    if not args.quiet:
        how = "loaded from the cache" if report["loaded"] else "compiled"
        kernels = report["kernels"]
        print(f"osteotwin engine {how} in {report['seconds']:.1f} s: {sum(kernels.values())} specialisations of "
              f"{len(kernels)} kernels; cache {report['cache_dir']}")
        if args.list:
            for name, count in sorted(kernels.items()):
                print(f"  {name}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
