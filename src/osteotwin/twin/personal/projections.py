"""Her projections: posterior-predictive trajectories per regimen (issue 15, item 2).

Parameter sets are drawn from the fit's posterior (fit.posterior_draws: the Laplace normal corrected by importance
resampling; pushed through the engine by fit.py's node
emulator: the engine runs each regimen at EMULATOR_NODES parameter sets), and with each her true BMD at the
simulation start (fit.baseline_log_bmd); nothing else is added (no measurement error: these are her bone,
not her next scans). Every regimen is simulated from her first scan with her recorded treatment, so month 0
of a projection is her latest scan; percentiles are over the draws.

Regimens (``continue`` is her current treatment as recorded):
- ``continue``: the recorded AI (to its stop date, else start + planned_ai_years) and bone agents (dated
  injections continued at their label interval unless stopped; courses as recorded);
- ``lifestyle_plan``: ``continue`` plus the exercise programme ``osteotwin simulate --compare`` uses
  (the planner's prescription for her latest T-scores, lifestyle/exercise.guideline_programme). A Scenario's
  exercise block acts over the whole scenario, so the programme's effect is taken from a pair of scenarios that
  start at her latest scan (same parameter sets, with and without the programme) and added to ``continue``
  (BMD as a ratio, fracture risk as a difference): ours;
- ``denosumab``: 60 mg every 6 months from her latest scan (Prolia label; clinic/projection.py SCHEDULES),
  replacing any continued bone agent;
- ``zoledronic_acid``: 4 mg every 6 months from her latest scan (adjuvant schedule, clinic/projection.py);
- ``stop_denosumab``: only when she is on denosumab: no dose after her latest scan.

T-score: her fitted BMD on the engine's reference (engine-frame baseline from her first scan's T-score,
scaled by her fitted true baseline over the first scan's measured value). Fracture risk: the trajectory's
``major_osteoporotic_fracture_10y_pct`` and ``hip_fracture_10y_pct`` (twin/outcomes.py / physiology/fracture.py).
"""

from __future__ import annotations

import math

import numpy as np

from osteotwin.lifestyle import exercise
from osteotwin.physiology import bone
from osteotwin.physiology.parameters import registry
from osteotwin.twin.personal.fit import (
    SITE_PARAMETER,
    Posterior,
    baseline_log_bmd,
    emulate,
    emulator_nodes,
    history_scenario,
    posterior_draws,
    relative_at,
)
from osteotwin.twin.personal.inputs import SITES, PersonalInputs
from osteotwin.twin.simulation import simulate_batch

PERCENTILES = (10, 50, 90)
OSTEOPOROSIS_T_SCORE = -2.5  # WHO 1994 densitometric definition of osteoporosis
CROSSING_MONTHS = 60  # "within 5 years" (issue 15)
FRACTURE_FIELD = "major_osteoporotic_fracture_10y_pct"
HIP_FRACTURE_FIELD = "hip_fracture_10y_pct"  # also in the fit's JSON (the web projection table's range)


def regimens(inputs: PersonalInputs) -> list[str]:
    names = ["continue", "lifestyle_plan", "denosumab", "zoledronic_acid"]
    return names + ["stop_denosumab"] if inputs.on_denosumab else names


def _switch(inputs: PersonalInputs, drug: str | None, months: int) -> dict:
    """History as recorded, then ``drug`` on its label schedule from the latest scan (None: nothing more)."""
    scenario = history_scenario(inputs, months, {})
    kept = []
    for agent in scenario["bone_agents"]:
        if "doses" in agent:
            kept.append(agent)
        elif agent.get("start_month", 0.0) < inputs.latest_month and "every_days" in agent:
            stop = min(agent.get("stop_month", math.inf), inputs.latest_month)
            kept.append({**agent, "stop_month": round(stop, 3)})
    if drug is not None:
        from osteotwin.clinic.projection import SCHEDULES

        kept.append({"drug": drug, **SCHEDULES[drug], "start_month": round(inputs.latest_month, 3)})
    return {**scenario, "bone_agents": kept}


def _fresh(inputs: PersonalInputs, months: int, exercise: dict | None) -> dict:
    """The continued treatment from the latest scan on, as a scenario starting there (for the exercise effect)."""
    shift = inputs.latest_month
    endocrine = []
    for course in inputs.future_endocrine:
        stop = course["stop_month"]
        if stop is not None and stop - shift <= 0:
            continue
        endocrine.append({**course, "start_month": max(0.0, course["start_month"] - shift),
                          "stop_month": None if stop is None else stop - shift})
    agents = []
    for agent in inputs.continuing_agents:
        stop = agent.get("stop_month")
        if stop is not None and stop - shift <= 0:
            continue
        moved = {**agent, "start_month": max(0.0, agent.get("start_month", 0.0) - shift)}
        if stop is not None:
            moved["stop_month"] = stop - shift
        agents.append(moved)
    patient = inputs.patient()
    years = shift / 12.0
    patient["age_years"] = min(110.0, patient["age_years"] + years)
    patient["years_since_menopause"] = min(patient["years_since_menopause"] + years, patient["age_years"] - 12.0)
    scenario = {"patient": patient, "months": months, "endocrine_therapy": endocrine, "bone_agents": agents}
    if exercise is not None:
        scenario["exercise"] = exercise
    return scenario


def exercise_plan(latest_t_scores: dict[str, float]) -> dict:
    """The planner's prescription for her latest T-scores (lifestyle/exercise.guideline_programme; the compare tool uses
    the same one)."""
    return exercise.guideline_programme(**{f"{site}_t_score": t for site, t in latest_t_scores.items()
                                           if site in ("lumbar_spine", "total_hip", "femoral_neck")}).model_dump()


def _bands(values: np.ndarray, digits: int, percentiles: tuple[float, ...]) -> dict[str, list[float]]:
    q = np.percentile(values, percentiles, axis=0)
    return {f"p{p:g}": [round(float(v), digits) for v in row] for p, row in zip(percentiles, q, strict=True)}


def project(inputs: PersonalInputs, posterior: Posterior, months: int, samples: int,
            rng: np.random.Generator, latest_t_scores: dict[str, float],
            percentiles: tuple[float, ...] = PERCENTILES) -> tuple[dict, dict]:
    """(projections per regimen, probability of T < -2.5 within 5 years per regimen and site)."""
    nodes = posterior.prior.overrides(emulator_nodes(posterior))
    count = len(nodes)
    start = int(round(inputs.latest_month))
    horizon = int(math.ceil(inputs.latest_month)) + months
    names = regimens(inputs)
    base = {"continue": history_scenario(inputs, horizon, {}), "lifestyle_plan": None,
            "denosumab": _switch(inputs, "denosumab", horizon), "zoledronic_acid": _switch(inputs, "zoledronic_acid", horizon),
            "stop_denosumab": _switch(inputs, None, horizon)}
    plan = exercise_plan(latest_t_scores)
    simulated = [n for n in names if n != "lifestyle_plan"]
    scenarios = [{**base[n], "parameters": p} for n in simulated for p in nodes]
    scenarios += [{**_fresh(inputs, months, e), "parameters": p} for e in (None, plan) for p in nodes]
    batch = simulate_batch(scenarios)
    table = registry()
    hip = SITE_PARAMETER["total_hip"]
    history_at_nodes = {site: relative_at(batch.series(f"{site}_bmd_pct_change")[:count], scans.months)
                        for site, scans in inputs.sites.items()}
    z = posterior_draws(inputs, posterior, history_at_nodes, samples, rng)

    def draws(name: str, index: int, parameter: str) -> np.ndarray:
        """The draws' series (samples, months + 1) of block ``index`` of the batch, by the node emulator."""
        values = batch.series(name)[index * count:(index + 1) * count]
        return emulate(values[:, :np.max(np.nonzero(np.isfinite(values[0]))[0]) + 1], posterior, z, parameter)

    fresh_without, fresh_with = len(simulated), len(simulated) + 1
    relative: dict[tuple[str, int], np.ndarray] = {}
    for site in SITES:
        for index in range(len(simulated) + 2):
            relative[site, index] = 1.0 + draws(f"{site}_bmd_pct_change", index, SITE_PARAMETER[site]) / 100.0
    offset: dict[str, np.ndarray] = {}
    for site in SITES:  # log(B / y_first): her fitted true baseline against her first measured scan
        scans = inputs.sites.get(site)
        if scans is None:
            offset[site] = np.zeros(samples)
            continue
        history = relative[site, 0]
        log_b = baseline_log_bmd(inputs, site, relative_at(history * 100.0 - 100.0, scans.months), None, rng)
        offset[site] = log_b - math.log(scans.bmd_g_cm2[0])
    result: dict[str, dict] = {}
    crossing: dict[str, dict[str, float]] = {}
    window = slice(start, start + months + 1)
    for name in names:
        source = simulated.index("continue" if name == "lifestyle_plan" else name)
        out: dict[str, object] = {"months": list(range(months + 1))}
        crossing[name] = {}
        for index, site in enumerate(SITES):
            r = relative[site, source][:, window]
            if name == "lifestyle_plan":
                r = r * (relative[site, fresh_with][:, :months + 1] / relative[site, fresh_without][:, :months + 1])
            pct = 100.0 * (r / r[:, :1] - 1.0)
            scans = inputs.sites.get(site)
            engine_baseline = (scans.engine_baseline_bmd_g_cm2 if scans is not None
                               else float(bone.bmd_from_t_score(inputs.t_score_at_first[site], index, table)))
            t = bone.t_score(engine_baseline * np.exp(offset[site])[:, None] * r, index, table)
            out[f"{site}_bmd_pct_change"] = _bands(pct, 2, percentiles)
            out[f"{site}_t_score"] = _bands(t, 2, percentiles)
            crossing[name][site] = round(float(np.mean(np.min(t[:, :CROSSING_MONTHS + 1], axis=1) < OSTEOPOROSIS_T_SCORE)), 3)
        for field, key in ((FRACTURE_FIELD, "osteoporotic_fracture_10y_pct"), (HIP_FRACTURE_FIELD, HIP_FRACTURE_FIELD)):
            fracture = draws(field, source, hip)[:, window]
            if name == "lifestyle_plan":
                fracture = fracture + (draws(field, fresh_with, hip) - draws(field, fresh_without, hip))[:, :months + 1]
            out[key] = _bands(np.clip(fracture, 0.0, 100.0), 2, percentiles)
        out["probability_t_below_minus_2_5_within_5y"] = crossing[name]
        result[name] = out
    return result, crossing


__all__ = ["PERCENTILES", "exercise_plan", "project", "regimens"]
