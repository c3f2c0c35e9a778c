"""Fit the lifestyle and fracture-risk parameters to their rows of calibration_targets.csv.

Usage: ``python scripts/calibrate_lifestyle.py [--write] [--groups NAME ...]``
(``--groups "AI fracture" "drug fracture"`` fits only those groups and writes only their module)

Groups of parameters are fitted one after another, each to the rows it governs (the core's
parameters are fixed; they belong to the core's own calibration):

| group | parameters | rows |
|---|---|---|
| exercise | mechanics: stimulus_gain, resistance_intensity_scale_moderate, impact_relative_stress_{hip,spine} (EFOPS's high-impact programme gained little at the hip; the resistance stresses stay fixed priors); mechanostat: {lumbar_spine,total_hip}_exercise_loading_sensitivity (the exercise route's Wnt/sclerostin gain), {lumbar_spine,total_hip}_modelling_formation_per_day (modelling-based formation), exercise_osteocyte_rankl_sensitivity (the route's osteocyte RANKL gain), exercise_accommodation_{onset,time}_days (when the route stops growing the gain) | LIFTMOR differences (S4-010..013), Howe (S4-018/019), Shojaa (S4-021..023), exercise CTX and P1NP checks EX-CTX-12/EX-P1NP-12 (Zhang 2025; lifestyle suite MARKER_CHECKS), EFOPS 14-month spine and hip and 12-year spine differences (S4-101..S4-104, S4-107/108) |
| probiotic | gut: probiotic_permeability_reduction | Jansson difference (S4-045) |
| calcium / vitamin D | minerals: pth_absorbed_calcium_exponent | Tang (S4-026/027), WHI (S4-029, recalled: standard error doubled) |
| AI fracture | fracture: ai_residual_multiplier | Tseng AI vs no AI (S5-025) |
| drug fracture | fracture: turnover_exponent_{mof,hip} | Bouxsein (S5-034..037), HORIZON (S5-040/041) |

Detraining (a programme's ``exercise.stop_month``) has no parameter of its own: the route mirrors its build-up
(physiology/mechanostat.py), and its give-back is a validation check beside the rows (Dalsky 1988, lifestyle suite
``validation_checks``), never fitted.

Not fitted but re-derived and written with the fracture groups: fracture
``any_clinical_to_osteoporotic_hazard_ratio`` (derived [D] from van Geel 2006 by
``fracture.any_clinical_ratio_from_van_geel``; the ATAC absolute rows S5-002..009 only evaluate it).

Objective: sum of squared errors in units of each row's standard error (population/calibration/lifestyle.py,
``weighted_error``, ``standard_error``: weights by precision, none by hand), bounded Nelder-Mead / bounded scalar search inside each parameter's prior
range. ``--write`` rewrites the values in their ``Parameter(...)`` declarations (the only place they live;
``osteotwin.physiology.parameters.write_values``, which refuses a value outside the prior range) and
regenerates docs/parameters.md.
Runtime: the exercise group ~7 min per start on 2 shared cores; the other groups a minute.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import optimize

from osteotwin.physiology import engine, fracture, gut, mechanics, mechanostat, minerals, muscle, parameters
from osteotwin.population.calibration import lifestyle as suite

ROOT = Path(__file__).resolve().parents[1]
# docs/parameters.md, in a fresh process (this one's registry() holds the values from before --write).
DOCS_COMMAND = "from osteotwin.cli import main; raise SystemExit(main(['parameters', '--markdown']))"

GROUPS = [
    ("exercise", (mechanics, mechanostat),
     ("stimulus_gain", "lumbar_spine_exercise_loading_sensitivity", "total_hip_exercise_loading_sensitivity", "resistance_intensity_scale_moderate",
      "lumbar_spine_modelling_formation_per_day", "total_hip_modelling_formation_per_day", "exercise_osteocyte_rankl_sensitivity",
      "exercise_accommodation_onset_days", "exercise_accommodation_time_days", "impact_relative_stress_hip",
      "impact_relative_stress_spine"),
     (suite._liftmor, suite._exercise_meta, suite._exercise_markers, suite._efops)),
    ("probiotic", gut, ("probiotic_permeability_reduction",), (suite._probiotics,)),
    ("calcium / vitamin D", minerals, ("pth_absorbed_calcium_exponent",), (suite._calcium_vitamin_d,)),
    ("AI fracture", fracture, ("ai_residual_multiplier",), (suite._ai_fracture,)),
    ("drug fracture", fracture, ("turnover_exponent_mof", "turnover_exponent_hip"), (suite._drug_fracture,)),
]


# Nelder-Mead evaluation budget per start (default 150) and number of starts per group (default 1): the exercise
# group has eleven parameters, a few of them poorly identified, so it starts from the shipped values and from a
# seeded random point inside the prior ranges and keeps the best (~0.1 s of CPU per evaluation; one start took
# ~7 min on 2 shared cores, the random start over 25 min: the shipped values come from the first start, error 36.95).
MAX_EVALUATIONS = {"exercise": 700}
STARTS = {"exercise": 2}

_ENGINE_RUN = engine.run
_CACHE: dict[str, dict[str, np.ndarray]] = {}
_OUTCOME_ONLY = set(fracture.PARAMETERS) | set(muscle.PARAMETERS)


def _feed(digest, value) -> None:
    if dataclasses.is_dataclass(value):
        for field in dataclasses.fields(value):
            _feed(digest, getattr(value, field.name))
    elif isinstance(value, np.ndarray):
        digest.update(np.ascontiguousarray(value).tobytes())
        digest.update(str(value.shape).encode())
    else:
        digest.update(repr(value).encode())


def _cached_engine_run(arrays, *, params=None, options=None, outputs=engine.DEFAULT_OUTPUTS, dtype=np.float64):
    """engine.run, memoised on its inputs: fitting outcome-only (fracture) parameters reuses the core solve."""
    digest = hashlib.sha1()
    _feed(digest, arrays)
    if params is not None:
        _feed(digest, sorted((k, v) for k, v in params.values_dict().items() if k not in _OUTCOME_ONLY))
    _feed(digest, (options, tuple(outputs), str(dtype)))
    key = digest.hexdigest()
    if key not in _CACHE:
        _CACHE[key] = _ENGINE_RUN(arrays, params=params, options=options, outputs=outputs, dtype=dtype)
    return {name: value.copy() for name, value in _CACHE[key].items()}


engine.run = _cached_engine_run


def _modules(module) -> tuple:
    return module if isinstance(module, tuple) else (module,)


def _owner(module, name):
    """The module (of a group's one or more) whose parameter table holds ``name``."""
    return next(m for m in _modules(module) if name in m.PARAMETERS.values_dict())


def _set(module, names, values) -> None:
    for name, value in zip(names, map(float, values), strict=True):
        owner = _owner(module, name)
        owner.PARAMETERS = owner.PARAMETERS.with_values(**{name: value})
    parameters.registry.cache_clear()  # registry() is built once per process; the suite reads a fresh one


def fit_group(name, module, names, experiments) -> dict[str, float]:
    bounds = [_owner(module, n).PARAMETERS[n].prior_range for n in names]
    low = np.array([b[0] for b in bounds])
    width = np.array([b[1] - b[0] for b in bounds])
    # Nelder-Mead works on each parameter scaled to its prior range (0..1): the group mixes parameters of
    # order 1 with modelling rates of order 1e-4/d, and xatol is then 0.1% of each prior range.
    start = (np.array([_owner(module, n).PARAMETERS.value(n) for n in names]) - low) / width

    def objective(z: np.ndarray) -> float:
        x = low + width * np.clip(z, 0.0, 1.0)
        _set(module, names, x)
        return suite.weighted_error(suite.evaluate_rows(experiments))

    t0 = time.time()
    if len(names) == 1:
        result = optimize.minimize_scalar(lambda v: objective(np.array([v])), bounds=(0.0, 1.0), method="bounded",
                                          options={"xatol": 1e-3})
        best_z = np.array([result.x])
    else:
        rng = np.random.default_rng(13)
        starts = [start] + [rng.uniform(0.05, 0.95, len(names)) for _ in range(STARTS.get(name, 1) - 1)]
        results = []
        for z0 in starts:
            results.append(optimize.minimize(objective, z0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(names),
                                             options={"maxfev": MAX_EVALUATIONS.get(name, 150), "xatol": 1e-3, "fatol": 1e-4}))
            print(f"  start {len(results)}: error {results[-1].fun:.4f}  "
                  + ", ".join(f"{n} {v:.4g}" for n, v in zip(names, low + width * np.clip(results[-1].x, 0.0, 1.0), strict=True)))
        result = min(results, key=lambda r: r.fun)
        best_z = np.clip(result.x, 0.0, 1.0)
    error = objective(best_z)
    best = low + width * best_z
    print(f"{name}: {dict(zip(names, (float(f'{v:.4g}') for v in best), strict=True))}  error {error:.4f}  "
          f"({result.nfev if hasattr(result, 'nfev') else '?'} evaluations, {time.time() - t0:.0f} s)")
    return dict(zip(names, (float(v) for v in best), strict=True))


def _format(value: float) -> str:
    """4 decimals, or 4 significant digits for small values (modelling rates ~1e-4/d would round to 0)."""
    return f"{round(value, 4):g}" if abs(value) >= 0.1 or value == 0.0 else f"{value:.4g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the fitted values into the parameter tables")
    parser.add_argument("--groups", nargs="+", choices=[group[0] for group in GROUPS], default=None,
                        help="fit only these groups (default: all)")
    args = parser.parse_args(argv)
    fitted = []
    for name, module, names, experiments in GROUPS:
        if args.groups is not None and name not in args.groups:
            continue
        fitted.append((module, fit_group(name, module, names, experiments)))
    if any(module is fracture for module, _ in fitted):
        derivation = fracture.any_clinical_ratio_from_van_geel()
        ratio = round(derivation["geometric mean"], 2)
        fracture.PARAMETERS = fracture.PARAMETERS.with_values(any_clinical_to_osteoporotic_hazard_ratio=ratio)
        parameters.registry.cache_clear()
        print("any clinical fracture ratio (derived from van Geel 2006): "
              + ", ".join(f"{k} {v:.3f}" for k, v in derivation.items()) + f" -> {ratio}")
        fitted.append((fracture, {"any_clinical_to_osteoporotic_hazard_ratio": ratio}))
    rows = suite.evaluate_rows()
    print(f"\n{'target':<16}{'model':>10}{'target':>10}  fitted  note")
    for row in rows:
        print(f"{row.target_id:<16}{row.model_value:>10.3f}{suite.target_value(row.target_id):>10.3f}  "
              f"{'yes' if row.fitted else 'no ':<6}  {row.note}")
    if args.write:
        written = parameters.write_values({name: float(_format(value)) for _, values in fitted for name, value in values.items()})
        docs = ROOT / "docs" / "parameters.md"
        docs.write_text(subprocess.run([sys.executable, "-c", DOCS_COMMAND], check=True, capture_output=True, text=True).stdout,
                        encoding="utf-8")
        print(f"written to {', '.join(str(path) for path in written)} and {docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
