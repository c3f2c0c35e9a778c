"""Engine benchmark (``make bench``): our engine vs the bone-models package and SciPy, one run.

Measures, in one process and run (after warm-up, i.e. numba compilation excluded and reported):
  1. one patient, 10 years, anastrozole (engine.run and the public ``simulate``);
  2. steps per patient-decade (core steps, rejected steps, drug sub-steps: deterministic counts, which
     hold on a shared machine where timings do not), anastrozole alone and with denosumab;
  3. 20,000 patients, 10 years, anastrozole, and anastrozole + denosumab 60 mg every 6 months, on
     numba's thread pool, with 100,000 patient-decades extrapolated linearly from them (the kernel's
     cost is per patient, in chunks of EngineOptions.chunk_patients), from the wall time and from the
     CPU time (what the work costs on idle cores); 10,000 patients through the public ``simulate_batch``
     with every lifestyle and outcome module on; one chunk of the population path (trial.run_chunk:
     sampling, scenarios, simulate_batch, endpoint columns, fracture times) against its kernel's share;
  4. peak memory for 100,000 patients, 10 years (separate child process, chunked);
  5. SciPy ``solve_ivp`` (Radau and LSODA, rtol 1e-6) on our own right-hand side, one patient 10 years;
  6. the ``bone-models`` package (cmodiz/Bone-Models; its Martinez-Reina 2019 model, one patient),
     run for 1 simulated year and scaled linearly to 10 years (its cost is per simulated day);
  7. start-up and per call (its own section, ``--startup`` regenerates only that section): the first
     ``osteotwin simulate`` in a new process with a fresh numba cache folder and with a filled one,
     the time until ``osteotwin serve`` answers, each against a new process that only imports the
     dependencies (numpy, scipy, numba, pydantic: the floor no start-up can beat), pair by pair;
     and the warm per-call ``simulate()`` of 1 patient-decade on an AI and with denosumab against
     the engine kernel alone (``solve.integrate_batch`` on the same arrays), interleaved.
Writes benchmarks/RESULTS.md and prints the same tables.
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from osteotwin.physiology import engine, estrogen, reference
from osteotwin.physiology.options import EngineOptions
from osteotwin.physiology.solve import DAYS_PER_MONTH

MONTHS = 120
ANASTROZOLE = estrogen.ENDOCRINE_DRUG_CODES["anastrozole"]
RESULTS = Path(__file__).with_name("RESULTS.md")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "anastrozole_5y.json"
STARTUP_HEADING = "## Start-up and per call"
FLOOR_IMPORTS = "import numpy, scipy.integrate, numba, pydantic"
BIG = 20_000  # patients of the batch timings; 100,000 is extrapolated from them
KERNEL_PATIENTS = 200  # patients of the kernel's CPU-time measurement
STEP_OUTPUTS = ("integrator_steps", "integrator_rejected_steps", "integrator_drug_substeps")


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


def _best_wall_and_cpu(function, repeats: int) -> tuple[float, float]:
    """Best wall time and best CPU time of this process (every thread) over ``repeats`` calls: on a shared
    machine the CPU time is what the work costs; the wall time also holds the time other jobs had the cores."""
    wall, cpu = np.inf, np.inf
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def _kernel_cpu_ms(arrays: engine.PatientArrays, solve) -> float:
    """Best CPU time (ms) per patient of solve's serial kernel on these arrays (captured from engine.run)."""
    captured: list[tuple] = []
    kernel = solve.integrate_batch

    def spy(*args):
        captured.append(args)
        return kernel(*args)

    solve.integrate_batch = spy
    try:
        engine.run(arrays)
    finally:
        solve.integrate_batch = kernel
    args = captured[-1]
    out = np.empty((solve.N_OUTPUTS, args[15] + 1, arrays.patients))
    best = np.inf
    for _ in range(3):
        start = time.process_time()
        solve._integrate_serial(*args, out)
        best = min(best, time.process_time() - start)
    return 1000 * best / arrays.patients


def population_chunk_row(patients: int = 500) -> tuple[str, str]:
    """CPU time per patient of one chunk of benchmarks/population.py's arm (trial.run_chunk, kernel on the
    calling thread) and the kernel's share of it, after a first chunk (a worker's steady state)."""
    from osteotwin.physiology import solve
    from osteotwin.population.trial import run_chunk
    from population import SPEC

    spec = {**SPEC, "patients_per_arm": 2 * patients}
    kernel, threshold = solve.integrate_batch, solve.PARALLEL_FROM_PATIENTS
    kernel_cpu = [0.0]

    def timed(*args):
        start = time.process_time()
        result = kernel(*args)
        kernel_cpu[0] += time.process_time() - start
        return result

    solve.integrate_batch, solve.PARALLEL_FROM_PATIENTS = timed, 10**9  # serial: CPU time is the work's
    try:
        run_chunk(spec, 0, 0, 0, patients)
        kernel_cpu[0] = 0.0
        start = time.process_time()
        run_chunk(spec, 0, 1, patients, patients)
        total = time.process_time() - start
    finally:
        solve.integrate_batch, solve.PARALLEL_FROM_PATIENTS = kernel, threshold
    return (f"population path, one chunk of {patients} patients (trial.run_chunk: letrozole + denosumab q6m, 120 months, fitted "
            "between-patient variability; sampling, scenarios, simulate_batch, endpoint columns, fracture times; CPU time)",
            f"{1000 * total / patients:.2f} ms per patient, of which the engine kernel {kernel_cpu[0] / total:.0%}")


def memory_child(patients: int) -> None:
    arrays = _arrays(patients)
    out = engine.run(arrays, outputs=("lumbar_spine_bmd_relative", "total_hip_bmd_relative"), dtype=np.float32)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak_mb:.0f} {out['lumbar_spine_bmd_relative'].shape[0]}")


# -- start-up and per call -------------------------------------------------------------------------


def _median_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def _spread(values: list[float], scale: float = 1.0, unit: str = "s", digits: int = 2) -> str:
    return f"min {min(values) * scale:.{digits}f} / median {statistics.median(values) * scale:.{digits}f} {unit}"


def _process_seconds(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _serve_ready_seconds(env: dict[str, str], database_dir: str) -> float:
    """From launching ``osteotwin serve`` (demo clinic, a new SQLite file) until /healthz answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**env, "OSTEOTWIN_DATABASE_URL": f"sqlite:///{database_dir}/bench-{port}.sqlite3"}
    start = time.perf_counter()
    server = subprocess.Popen([str(Path(sys.executable).with_name("osteotwin")), "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < 300:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return time.perf_counter() - start
            if server.poll() is not None:
                raise RuntimeError("osteotwin serve exited before answering")
            time.sleep(0.02)
        raise RuntimeError("osteotwin serve did not answer within 300 s")
    finally:
        server.terminate()
        server.wait(30)


def startup_rows(cold_runs: int = 2, warm_runs: int = 5) -> list[tuple[str, str]]:
    """New processes: the first simulate (fresh and filled numba cache) and serve's ready time, each paired
    with a new process that only imports the dependencies (run in turn, A B A B ...)."""
    rows: list[tuple[str, str]] = []
    simulate_cli = [str(Path(sys.executable).with_name("osteotwin")), "simulate", str(EXAMPLE)]
    floor = [sys.executable, "-c", FLOOR_IMPORTS]
    with tempfile.TemporaryDirectory() as tmp:
        base = {key: value for key, value in os.environ.items() if key != "NUMBA_CACHE_DIR"}
        fresh, fresh_floor = [], []
        for run in range(cold_runs):
            env = {**base, "NUMBA_CACHE_DIR": f"{tmp}/fresh-{run}"}
            fresh.append(_process_seconds(simulate_cli, env))
            fresh_floor.append(_process_seconds(floor, env))
        env = {**base, "NUMBA_CACHE_DIR": f"{tmp}/fresh-0"}  # filled by the first cold run
        warm, warm_floor, ready, ready_floor = [], [], [], []
        for _ in range(warm_runs):
            warm.append(_process_seconds(simulate_cli, env))
            warm_floor.append(_process_seconds(floor, env))
        for _ in range(max(3, warm_runs // 2)):
            ready.append(_serve_ready_seconds(env, tmp))
            ready_floor.append(_process_seconds(floor, env))
    rows.append(("first `osteotwin simulate examples/anastrozole_5y.json` in a new process, fresh numba cache folder "
                 f"(compiles; {cold_runs} runs)", f"{_spread(fresh)}; {_median_ratio(fresh, fresh_floor):.1f} x the dependency floor"))
    rows.append((f"the same with the cache filled (what follows `make install`; {warm_runs} runs)",
                 f"{_spread(warm)}; {_median_ratio(warm, warm_floor):.1f} x the dependency floor"))
    rows.append((f"`osteotwin serve` (demo clinic, new SQLite file, filled cache): launch until /healthz answers ({len(ready)} runs)",
                 f"{_spread(ready)}; {_median_ratio(ready, ready_floor):.1f} x the dependency floor"))
    rows.append(("dependency floor: a new process that imports numpy, scipy.integrate, numba and pydantic",
                 _spread(fresh_floor + warm_floor + ready_floor)))
    return rows


def per_call_rows(repeats: int = 200) -> list[tuple[str, str]]:
    """Warm ``simulate()`` of 1 patient-decade against the engine kernel alone on the same arrays, interleaved."""
    from osteotwin import simulate
    from osteotwin.physiology import solve

    rows: list[tuple[str, str]] = []
    scenarios = {
        "anastrozole": {"months": MONTHS, "endocrine_therapy": [{"drug": "anastrozole"}]},
        "anastrozole + denosumab q6m": {"months": MONTHS, "endocrine_therapy": [{"drug": "anastrozole"}],
                                        "bone_agents": [{"drug": "denosumab", "every_months": 6}]},
    }
    kernel = solve.integrate_batch
    for label, scenario in scenarios.items():
        captured: list[tuple] = []

        def spy(*args, captured=captured):
            captured.append(args)
            return kernel(*args)

        solve.integrate_batch = spy
        try:
            simulate(scenario)
        finally:
            solve.integrate_batch = kernel
        args = captured[-1]
        api, alone, pooled, api_cpu, alone_cpu = [], [], [], [], []
        for _ in range(repeats):  # CPU times first: the parallel kernel's pool threads may spin after a call
            start = time.process_time()
            simulate(scenario)
            api_cpu.append(time.process_time() - start)
            start = time.process_time()
            kernel(*args)
            alone_cpu.append(time.process_time() - start)
        for _ in range(repeats):
            start = time.perf_counter()
            simulate(scenario)
            api.append(time.perf_counter() - start)
            start = time.perf_counter()
            kernel(*args)  # one patient: solve's serial kernel, on the calling thread
            alone.append(time.perf_counter() - start)
            start = time.perf_counter()
            solve._integrate_parallel(*args, np.empty((solve.N_OUTPUTS, args[15] + 1, 1)))
            pooled.append(time.perf_counter() - start)
        rows.append((f"1 patient-decade, {label}: public simulate() (warm; lifestyle and outcome modules included)",
                     f"{_spread(api, 1000, 'ms')}; {_median_ratio(api, alone):.1f} x the engine kernel alone. CPU time: "
                     f"{_spread(api_cpu, 1000, 'ms')}; {_median_ratio(api_cpu, alone_cpu):.1f} x the kernel's "
                     f"({_spread(alone_cpu, 1000, 'ms', 3)}; target <= {1.0 if label == 'anastrozole' else 1.5} ms)"))
        rows.append((f"1 patient-decade, {label}: engine kernel alone (solve.integrate_batch, serial below {solve.PARALLEL_FROM_PATIENTS} patients)",
                     f"{_spread(alone, 1000, 'ms', 3)}; the parallel kernel on numba's {_threads()}-thread pool "
                     f"{_spread(pooled, 1000, 'ms', 3)} ({_median_ratio(pooled, alone):.1f} x)"))
    return rows


def _threads() -> int:
    import numba

    return numba.get_num_threads()


def startup_section() -> str:
    rows = startup_rows() + per_call_rows()
    return "\n".join([
        STARTUP_HEADING,
        "",
        f"Generated by `python benchmarks/run.py --startup` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        "(also part of the whole run). Wall times of whole processes, or of calls inside one, min and median; each "
        "ratio is the median of pairs measured in turn in this run (the machine is shared, so ratios hold better "
        "than absolute times). numba's cache: physiology/cache_guard.py; `make install` fills it "
        "(`python -m osteotwin.physiology.compile`).",
        "",
        "| measurement | result |",
        "|---|---|",
        *[f"| {a} | {b} |" for a, b in rows],
    ]) + "\n"


def write_startup_section(section: str) -> None:
    """Replace the start-up section of RESULTS.md (or append it), leaving the rest as it is."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    if STARTUP_HEADING in text:
        before, after = text.split(STARTUP_HEADING, 1)
        following = after.find("\n## ")
        rest = after[following + 1:] if following >= 0 else ""
        text = before + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    RESULTS.write_text(text, encoding="utf-8")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--memory-child":
        memory_child(int(sys.argv[2]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--startup":
        section = startup_section()
        write_startup_section(section)
        print(section)
        return 0
    # First, while this process is still small: on Linux a child's peak RSS (ru_maxrss) starts from the
    # parent's resident size at fork, so measuring after the 10,000-patient runs would count the parent.
    load_start = os.getloadavg()[0]
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

    for label, denosumab in (("anastrozole", False), ("anastrozole + denosumab q6m", True)):
        counts = engine.run(_arrays(1, denosumab=denosumab), outputs=STEP_OUTPUTS)
        core, rejected, drug = (int(counts[name][0, -1]) for name in STEP_OUTPUTS)
        rows.append((f"steps per patient-decade, {label} (deterministic)",
                     f"{core:,} core steps ({rejected:,} more rejected), {drug:,} drug sub-steps"))

    from osteotwin.physiology import solve

    for label, denosumab, target_s in (("anastrozole", False, 15), ("anastrozole + denosumab q6m", True, 30)):
        cpu_ms = _kernel_cpu_ms(_arrays(KERNEL_PATIENTS, denosumab=denosumab), solve)
        rows.append((f"engine kernel CPU time per patient-decade, {label} (1 thread, {KERNEL_PATIENTS} patients, best of 3; "
                     "CPU time does not count the time other processes hold the cores)",
                     f"{cpu_ms:.3f} ms: 100,000 patient-decades on 2 idle cores ~ {cpu_ms * 100_000 / 2 / 1000:.1f} s "
                     f"of kernel (target <= {target_s} s)"))

    big = _arrays(BIG)
    big_dmab = _arrays(BIG, denosumab=True)
    for label, arrays, target_s in (("anastrozole", big, 15), ("anastrozole + denosumab q6m", big_dmab, 30)):
        seconds, cpu_seconds = _best_wall_and_cpu(lambda arrays=arrays: engine.run(arrays), 2)
        rows.append((f"{BIG:,} patients, 10 y, {label} (engine.run, numba's {_threads()}-thread pool)",
                     f"{seconds:.2f} s wall ({BIG / seconds:,.0f} patient-decades/s); {cpu_seconds:.2f} s of CPU"))
        rows.append((f"100,000 patient-decades, {label}: extrapolated x{100_000 // BIG} from the {BIG:,} above (cost is per "
                     f"patient, chunks of {EngineOptions().chunk_patients:,}); target <= {target_s} s",
                     f"{seconds * 100_000 / BIG:.1f} s at this run's load; {cpu_seconds * 100_000 / BIG / os.cpu_count():.1f} s "
                     f"on {os.cpu_count()} idle cores (its CPU time / {os.cpu_count()})"))
    rows.append(population_chunk_row())
    loose = EngineOptions(rtol=2e-3)
    for label, arrays, big_arrays in (("anastrozole", one, big), ("anastrozole + denosumab", _arrays(1, denosumab=True), big_dmab)):
        errors = {name: _max_bmd_error_pp(arrays, options) for name, options in (("default", EngineOptions()), ("rtol 2e-3", loose))}
        loose_s = _best_of(lambda big_arrays=big_arrays: engine.run(big_arrays, options=loose), 1)
        rows.append((f"{BIG:,} patients, 10 y, {label}, rtol 2e-3 (max BMD error vs Radau, 1 patient: "
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
        f"The machine is shared: other processes may have been running (load average {load_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end). Timings are the best of several runs after warm-up; "
        "the engine integrates months 0-120 with monthly outputs (adaptive production/loss scheme, rtol 2e-4; the drugs "
        "on their own exponential Rosenbrock sub-steps, physiology/solve.py).",
        "",
        "| measurement | result |",
        "|---|---|",
    ]
    text = "\n".join(header + [f"| {a} | {b} |" for a, b in rows]) + "\n\n" + startup_section()
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
