"""Engine benchmark (``make bench``): our engine vs the bone-models package and SciPy, one run.

Measures, in one process and run (after warm-up, i.e. numba compilation excluded and reported):
  1. one patient, 10 years, anastrozole (engine.run and the public ``simulate``);
  2. 10,000 patients, 10 years, anastrozole;
  3. 10,000 patients, 10 years, anastrozole + denosumab 60 mg every 6 months; 10,000 patients through
     the public ``simulate_batch`` with every lifestyle and outcome module on;
  4. peak memory for 100,000 patients, 10 years (separate child process, chunked);
  5. SciPy ``solve_ivp`` (Radau and LSODA, rtol 1e-6) on our own right-hand side, one patient 10 years;
  6. the ``bone-models`` package (cmodiz/Bone-Models; its Martinez-Reina 2019 model, one patient),
     run for 1 simulated year and scaled linearly to 10 years (its cost is per simulated day).
Writes benchmarks/RESULTS.md and prints the same table.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from osteotwin.physiology import engine, estrogen, reference
from osteotwin.physiology.options import EngineOptions
from osteotwin.physiology.solve import DAYS_PER_MONTH

MONTHS = 120
ANASTROZOLE = estrogen.ENDOCRINE_DRUG_CODES["anastrozole"]
RESULTS = Path(__file__).with_name("RESULTS.md")


def _arrays(patients: int, denosumab: bool = False) -> engine.PatientArrays:
    arrays = engine.untreated_arrays(patients, MONTHS, endocrine_code=ANASTROZOLE)
    if denosumab:
        item = ("denosumab", 60.0, 6 * DAYS_PER_MONTH, 0.0, MONTHS * DAYS_PER_MONTH + 1, engine.NO_RULE, 0.0)
        arrays = engine.PatientArrays(**{**arrays.__dict__, "schedule": engine.DoseSchedule.from_items([[item]] * patients)})
    return arrays


def _lifestyle_scenario(i: int) -> dict:
    """The patient of examples/anastrozole_5y.json with every lifestyle block, ages 55-79 (AI for 5 of the 10 years)."""
    return {
        "patient": {"age_years": 55 + i % 25, "years_since_menopause": 12, "weight_kg": 68, "height_cm": 162,
                    "lumbar_spine_t_score": -1.2, "total_hip_t_score": -0.8},
        "months": MONTHS,
        "endocrine_therapy": [{"drug": "anastrozole", "start_month": 0, "stop_month": 60, "adherence": 1.0}],
        "diet": {"calcium_mg_per_day": 900, "vitamin_d_iu_per_day": 400, "protein_g_per_kg_per_day": 1.0},
        "supplements": {"calcium_mg_per_day": 500, "vitamin_d_iu_per_day": 800},
        "exercise": {"walking_minutes_per_week": 150, "impact_sessions_per_week": 0, "resistance_sessions_per_week": 2,
                     "resistance_intensity": "moderate", "balance_sessions_per_week": 2},
        "gut": {"probiotic": False, "fiber_g_per_day": 20},
    }


def _max_bmd_error_pp(arrays: engine.PatientArrays, options: EngineOptions) -> float:
    """Largest BMD difference (percentage points, either site, any month) from SciPy Radau at rtol 1e-9."""
    fast = engine.run(arrays, options=options, outputs=("lumbar_spine_bmd_relative", "total_hip_bmd_relative"))
    ref = reference.simulate_one(arrays, 0, rtol=1e-9, atol=1e-13)
    return max(100.0 * float(np.max(np.abs(fast[f"{site}_bmd_relative"][0] - ref[f"{site}_bmd_relative"])))
               for site in ("lumbar_spine", "total_hip"))


def _best_of(function, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def memory_child(patients: int) -> None:
    arrays = _arrays(patients)
    out = engine.run(arrays, outputs=("lumbar_spine_bmd_relative", "total_hip_bmd_relative"), dtype=np.float32)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak_mb:.0f} {out['lumbar_spine_bmd_relative'].shape[0]}")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--memory-child":
        memory_child(int(sys.argv[2]))
        return 0
    # First, while this process is still small: on Linux a child's peak RSS (ru_maxrss) starts from the
    # parent's resident size at fork, so measuring after the 10,000-patient runs would count the parent.
    child = subprocess.run([sys.executable, __file__, "--memory-child", "100000"], capture_output=True, text=True, check=True)
    peak_mb, patients = child.stdout.split()
    rows: list[tuple[str, str]] = []
    start = time.perf_counter()
    engine.run(_arrays(2, denosumab=True))
    compile_s = time.perf_counter() - start
    rows.append(("first call (numba compile or cache load) + 2 patients", f"{compile_s:.2f} s"))

    one = _arrays(1)
    single_s = _best_of(lambda: engine.run(one), 20)
    rows.append(("1 patient, 10 y, anastrozole (engine.run)", f"{1000 * single_s:.1f} ms"))
    from osteotwin import simulate, simulate_batch

    scenario = {"months": MONTHS, "endocrine_therapy": [{"drug": "anastrozole"}]}
    simulate(scenario)
    api_s = _best_of(lambda: simulate(scenario), 5)
    rows.append(("1 patient, 10 y, anastrozole (public simulate(), incl. lifestyle and outcome modules)", f"{1000 * api_s:.1f} ms"))

    batch = [_lifestyle_scenario(i) for i in range(10_000)]
    simulate_batch(batch[:2])
    batch_s = _best_of(lambda: simulate_batch(batch), 1)
    rows.append(("10,000 patients, 10 y, public simulate_batch() with diet, supplements, exercise and gut blocks "
                 "(every lifestyle and outcome module on; Trajectories built)", f"{batch_s:.2f} s"))

    big = _arrays(10_000)
    ai_s = _best_of(lambda: engine.run(big), 2)
    rows.append(("10,000 patients, 10 y, anastrozole", f"{ai_s:.2f} s ({10_000 / ai_s:,.0f} patient-decades/s)"))
    big_dmab = _arrays(10_000, denosumab=True)
    dmab_s = _best_of(lambda: engine.run(big_dmab), 2)
    rows.append(("10,000 patients, 10 y, anastrozole + denosumab q6m", f"{dmab_s:.2f} s ({10_000 / dmab_s:,.0f} patient-decades/s)"))
    loose = EngineOptions(rtol=2e-3)
    for label, arrays, big_arrays in (("anastrozole", one, big), ("anastrozole + denosumab", _arrays(1, denosumab=True), big_dmab)):
        errors = {name: _max_bmd_error_pp(arrays, options) for name, options in (("default", EngineOptions()), ("rtol 2e-3", loose))}
        loose_s = _best_of(lambda big_arrays=big_arrays: engine.run(big_arrays, options=loose), 1)
        rows.append((f"10,000 patients, 10 y, {label}, rtol 2e-3 (max BMD error vs Radau, 1 patient: "
                     f"{errors['rtol 2e-3']:.3f} pp; at the default rtol {errors['default']:.3f} pp)", f"{loose_s:.2f} s"))

    rows.append(("100,000 patients, 10 y: peak resident memory (child process, chunks of "
                 f"{EngineOptions().chunk_patients:,}, float32 BMD outputs)", f"{peak_mb} MB for {int(patients):,} patients"))

    for method in ("Radau", "LSODA"):
        scipy_s = _best_of(lambda method=method: reference.simulate_one(one, 0, method=method, rtol=1e-6, atol=1e-10), 1)
        rows.append((f"SciPy solve_ivp {method} (rtol 1e-6) on our RHS, 1 patient 10 y", f"{scipy_s:.2f} s = {scipy_s / single_s:,.0f} x our engine"))

    try:
        from bone_models.load_cases.martinez_reina_load_cases import Martinez_Reina_Load_Case
        from bone_models.models.martinez_reina_model import Martinez_Reina_Model

        model = Martinez_Reina_Model(load_case=Martinez_Reina_Load_Case())
        start = time.perf_counter()
        model.solve_bone_cell_population_model([0, 365])
        peer_year_s = time.perf_counter() - start
        peer_10y_s = 10 * peer_year_s
        rows.append(("bone-models 0.1 Martinez-Reina 2019, 1 patient: 1 simulated year (measured)", f"{peer_year_s:.1f} s"))
        rows.append(("bone-models, 1 patient 10 y (scaled x10 from 1 year)", f"{peer_10y_s:.0f} s = {peer_10y_s / single_s:,.0f} x our engine"))
    except ImportError:
        rows.append(("bone-models", "not installed (pip install bone-models)"))

    header = [
        "# Engine benchmark results",
        "",
        f"Generated by `python benchmarks/run.py` (`make bench`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "The machine is shared: other processes may have been running. Timings are the best of several runs after warm-up; "
        "the engine integrates months 0-120 with monthly outputs (adaptive production/loss scheme, rtol 2e-4).",
        "",
        "| measurement | result |",
        "|---|---|",
    ]
    text = "\n".join(header + [f"| {a} | {b} |" for a, b in rows]) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
