"""Outputs derived from a simulated trajectory beyond the bone-cell core: muscle, falls and
fracture risk over time, 25(OH)D and PTH (physiology part 3).

``extra_outputs`` is called by ``osteotwin.twin.simulation`` once per batch, after the core solve. It
reads the core's arrays (T-scores, estradiol, CTX) and the Scenario's lifestyle blocks and
returns, per patient and month:

| field | unit | model |
|---|---|---|
| ``serum_25ohd_ng_ml`` | ng/mL | minerals.py (Ekwaru 2014 dose-response; rises from the habitual level with t1/2 18 d) |
| ``pth_pct_change`` | % vs reference person | minerals.py (25(OH)D and absorbed calcium) |
| ``lean_mass_kg``, ``lean_mass_pct_change`` | kg, % | muscle.py (age, estrogen, inflammation, resistance training x protein) |
| ``strength_pct_change`` | % | muscle.py |
| ``falls_per_year`` | falls/y | muscle.py (age, balance training, strength; Sherrington 2019) |
| ``major_osteoporotic_fracture_10y_pct``, ``hip_fracture_10y_pct`` | % | fracture.py, model named in ``fracture_risk_model`` |
| ``any_clinical_fracture_10y_pct`` | % | fracture.py, all sites (osteoporotic hazard x all-site ratio), source in ``any_clinical_fracture_model`` |

``extra_notes`` returns the text notes (the fracture-risk model name, the source of the any-clinical-
fracture outcome and evidence warnings) that the Trajectory carries once per patient.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from osteotwin.physiology import fracture, gut, minerals, muscle
from osteotwin.physiology.lifestyle import LifestyleInputs, serum_25ohd_ng_ml
from osteotwin.physiology.parameters import ParameterTable, registry
from osteotwin.scenario import Scenario
from osteotwin.twin.lifestyle_inputs import lifestyle_inputs

AROMATASE_INHIBITORS = ("anastrozole", "letrozole", "exemestane")
CHUNK_PATIENTS = 5000  # ours: bounds intermediate memory to ~100 MB per chunk

FRACTURE_RISK_MODEL = fracture.MODEL_NAME
ANY_CLINICAL_FRACTURE_MODEL = fracture.ANY_CLINICAL_FRACTURE_NOTE

EVIDENCE_NOTES = (
    "gut-bone axis: rests mainly on animal evidence (Li 2016, mice) and one positive probiotic trial in "
    "women (Jansson 2019: spine +0.7 points vs placebo at 12 months, 95% CI 0.1 to 1.4); no trial in women on "
    "aromatase inhibitors, so the model gives a probiotic the same effect as in untreated women (not more on an AI) "
    "and only for the 12 months the trials lasted: no further gain after",
    "protein, magnesium, vitamin K2, fibre and polyphenol effects on bone: weak evidence, small by design",
    "exercise: calibrated (each trial row weighted by its precision) to trials of 8 months to 12 years in "
    "postmenopausal women (LIFTMOR, meta-analyses, EFOPS at 14 months and 12 years) and to the exercise trials' turnover "
    "markers (Zhang 2025: CTX a little lower, P1NP a little higher); the modelled LIFTMOR gain over control is +2.3 "
    "points at the spine and +1.1 at the hip at 8 months (trial: +4.1 and +2.2; the meta-analyses' typical programmes "
    "gain about 1 point, which the model meets), with CTX about 12% lower and P1NP about 16% higher in the first year. "
    "After about a year the osteocytes' accommodation to the new loading (fitted: onset 11.5 months, time constant "
    "5 months) ends the new formation, so the gain stops growing; it is kept while she goes on, and the bone already "
    "laid down at the hip goes on mineralising (+2.6 points at the spine and +3.5 at the hip after 5 years). If she "
    "stops (exercise.stop_month) the gain is given back over about a year, as in Dalsky 1988 (82% of a spine gain "
    "lost within 13 months of stopping). "
    "EFOPS, a multipurpose high-impact programme (not randomised), gained less at the hip than the model gives for it "
    "at 14 months (spine +2.5 vs model +3.3 points, hip +0.5 vs +2.2), and exercise trials in women on aromatase "
    "inhibitors found no significant hip difference: read the modelled hip gains as optimistic; walking alone changes "
    "little; balance and strength training lower falls (Sherrington 2019) and through them fracture risk; fracture "
    "risk counts turnover only for bone drugs",
    "fracture risk: our combination of QFracture-2009, the BMD gradient of risk (Johnell 2005), falls, an AI "
    "multiplier and turnover; not a validated calculator. Any clinical fracture (all sites) = the osteoporotic-"
    "fracture hazard x a ratio derived from one Dutch cohort (van Geel 2006) for women aged 65: uncertain by "
    "about -20%/+35% (emulated age 60-70)",
)


def ai_exposure(scenario: Scenario, months: np.ndarray) -> np.ndarray:
    """Fraction of each month on an aromatase inhibitor, times adherence (0..1)."""
    months = np.asarray(months, dtype=float)
    exposure = np.zeros(months.shape)
    for course in scenario.endocrine_therapy:
        if course.drug not in AROMATASE_INHIBITORS:
            continue
        stop = course.stop_month if course.stop_month is not None else np.inf
        on = (months >= course.start_month) & (months < stop)
        exposure = np.maximum(exposure, on * course.adherence)
    return exposure


def fracture_falls_per_year(risk_factors: Sequence[object | None], model_falls_per_year: np.ndarray) -> np.ndarray:
    """The fall rate the fracture risk reads, (patients, months).

    Without a risk-factor block: the muscle model's rate (population default). With one, the falls
    recorded in the last 12 months are her rate at month 0 and the muscle model's relative change
    (age, balance training, strength) carries it forward [A: ours]; no recorded fall stays 0, the
    QFracture reference of a woman without a history of falls.
    """
    model = np.asarray(model_falls_per_year, dtype=float)
    recorded = np.array([np.nan if rf is None else float(rf.falls_last_12_months) for rf in risk_factors])[:, None]
    relative = model / np.where(model[:, :1] > 0, model[:, :1], 1.0)
    return np.where(np.isnan(recorded), model, np.nan_to_num(recorded) * relative)


def extra_outputs(
    scenarios: Sequence[Scenario],
    months: np.ndarray,
    outputs: dict[str, np.ndarray],
    options: object | None = None,
    params: ParameterTable | None = None,
    inputs: LifestyleInputs | None = None,
    gut_barrier_relative: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Extra Trajectory fields, each an array shaped (patients, len(months)).

    ``inputs`` (the scenarios' lifestyle inputs) and ``gut_barrier_relative`` (the gut module's drive,
    ``LifestyleDrives.gut_barrier_relative``) are reused when the caller has them (the Scenario path
    builds them once per batch); otherwise they are built here.

    ``outputs`` holds the core's arrays (same shape) under the Trajectory field names, e.g.
    ``lumbar_spine_t_score``, ``total_hip_t_score``, ``estradiol_pg_ml``, ``ctx_pct_change``; an
    ``estrogen_ratio`` array (bone-effective estradiol relative to untreated postmenopausal) is
    used when present, otherwise serum estradiol / the postmenopausal reference.
    """
    if not scenarios:
        return {}
    months = np.asarray(months, dtype=float)
    params = registry() if params is None else params
    patients = len(scenarios)
    inputs = lifestyle_inputs(scenarios) if inputs is None else inputs
    if gut_barrier_relative is None and (options is None or getattr(options, "gut_axis", True)):
        from osteotwin.physiology.lifestyle import lifestyle_drives

        gut_barrier_relative = lifestyle_drives(inputs, options, params).gut_barrier_relative
    if patients <= CHUNK_PATIENTS:  # one chunk: no copies
        return _extra_outputs_chunk(scenarios, months, {name: np.asarray(values) for name, values in outputs.items()}, options,
                                    params, inputs, None if gut_barrier_relative is None else np.asarray(gut_barrier_relative))
    result: dict[str, np.ndarray] = {}
    # Chunks bound the memory of the intermediate (patients x months) arrays in large batches.
    for start in range(0, patients, CHUNK_PATIENTS):
        stop = min(start + CHUNK_PATIENTS, patients)
        chunk = {name: np.asarray(values)[start:stop] for name, values in outputs.items()}
        rows = np.arange(start, stop)
        barrier = None if gut_barrier_relative is None else np.asarray(gut_barrier_relative)[start:stop]
        part = _extra_outputs_chunk(scenarios[start:stop], months, chunk, options, params, inputs.select(rows), barrier)
        for name, values in part.items():
            if name not in result:
                result[name] = np.empty((patients, months.size))
            result[name][start:stop] = values
    return result


def _extra_outputs_chunk(
    scenarios: Sequence[Scenario], months: np.ndarray, outputs: dict[str, np.ndarray], options: object | None,
    params: ParameterTable, inputs: LifestyleInputs, gut_barrier_relative: np.ndarray | None,
) -> dict[str, np.ndarray]:
    patients = len(scenarios)
    shape = (patients, months.size)

    # 25(OH)D and PTH over time.
    start_25ohd, steady_25ohd = serum_25ohd_ng_ml(inputs, params)
    d_trajectory = minerals.serum_25ohd_trajectory_ng_ml(start_25ohd, steady_25ohd, months * 30.4375, params)
    # Supplements start at month 0: month 0 shows the habitual (diet-only) state, as 25(OH)D does.
    calcium = np.repeat(np.asarray(inputs.calcium_mg_per_day, dtype=float)[:, None], months.size, axis=1)
    calcium[:, months <= 0] = (np.asarray(inputs.calcium_mg_per_day) - np.asarray(inputs.supplemental_calcium_mg_per_day))[:, None]
    minerals_on = bool(getattr(options, "minerals", True)) if options is not None else True
    pth = minerals.pth_relative(calcium, d_trajectory, params) if minerals_on else np.ones(shape)

    # Estradiol and gut-derived inflammation.
    if "estrogen_ratio" in outputs:
        estrogen_ratio = np.asarray(outputs["estrogen_ratio"], dtype=float)
    else:
        e_pm = params.value("estradiol_postmenopausal_pg_ml")
        estrogen_ratio = np.asarray(outputs["estradiol_pg_ml"], dtype=float) / e_pm
    if gut_barrier_relative is not None:  # None: the gut module is switched off
        tnf = 1.0 + (gut.inflammation_rankl_relative(estrogen_ratio, gut_barrier_relative[:, None], months[None, :]) - 1.0) / gut.PHI_TNF
    else:
        tnf = np.ones(shape)

    # Muscle and falls.
    age = np.array([s.patient.age_years for s in scenarios])
    muscle_out = muscle.muscle_trajectories(
        age, months, estrogen_ratio, tnf,
        inputs.resistance_sessions_per_week, inputs.resistance_intensity_code, inputs.protein_g_per_kg_per_day,
        parameters=params,
    )
    lean0 = muscle.lean_body_mass_kg(
        np.array([s.patient.weight_kg for s in scenarios]), np.array([s.patient.height_cm for s in scenarios])
    )
    falls = muscle.falls_per_year(
        age, months, inputs.balance_sessions_per_week,
        muscle_out["strength_relative"], muscle_out["strength_reference_relative"], params,
    )

    # Fracture risk at every month: the one path (fracture.ten_year_fracture_risk).
    age_t = age[:, None] + months[None, :] / 12.0
    bmi = np.array([s.patient.bmi_kg_m2 for s in scenarios])[:, None]
    exposure = np.vstack([ai_exposure(s, months) for s in scenarios])
    # The turnover term (Bouxsein 2019) comes from drug trials: it acts only where a bone agent is given. An
    # AI's raised turnover is in the AI multiplier (Tseng 2018). Since session 3 the engine's exercise route adds
    # bone mainly by modelling-based formation and lowers CTX only as much as exercise trials show (~13%, Zhang
    # 2025; lifestyle suite EX-CTX-12), but the turnover-fracture relation is a drug-trial relation (antiresorptive
    # CTX suppression); whether a small exercise-related CTX fall protects is unsourced, so exercise still acts on
    # fracture risk only through BMD and falls (decision kept, ours [A]).
    has_agent = np.array([bool(s.bone_agents) for s in scenarios])[:, None]
    ctx_relative = np.where(has_agent, 1.0 + np.asarray(outputs["ctx_pct_change"], dtype=float) / 100.0, 1.0)
    risk_factors = [s.patient.risk_factors for s in scenarios]
    # Falls: the QFracture term reads her untrained rate; what training prevents acts on the fall-related share of
    # fractures (fracture.py, Sherrington 2019).
    training_ratio = muscle.training_falls_rate_ratio(inputs.balance_sessions_per_week, muscle_out["strength_relative"],
                                                      muscle_out["strength_untrained_relative"], params)
    untrained_falls = falls / training_ratio
    # month 0 is her state before the programme (as for supplements above)
    training_ratio[:, months <= 0] = 1.0
    falls = untrained_falls * training_ratio
    risk = fracture.ten_year_fracture_risk(
        age_t, bmi, np.asarray(outputs["total_hip_t_score"], dtype=float),
        fracture_falls_per_year(risk_factors, untrained_falls),
        exposure, ctx_relative, fracture.risk_factor_offsets(risk_factors), params, training_ratio,
    )

    return {
        "serum_25ohd_ng_ml": d_trajectory,
        "pth_pct_change": 100.0 * (pth - 1.0),
        "lean_mass_kg": lean0[:, None] * muscle_out["lean_mass_relative"],
        "lean_mass_pct_change": 100.0 * (muscle_out["lean_mass_relative"] - 1.0),
        "strength_pct_change": 100.0 * (muscle_out["strength_relative"] - 1.0),
        "falls_per_year": falls,
        "major_osteoporotic_fracture_10y_pct": risk["major_osteoporotic_fracture_10y_pct"],
        "hip_fracture_10y_pct": risk["hip_fracture_10y_pct"],
        "any_clinical_fracture_10y_pct": risk["any_clinical_fracture_10y_pct"],
    }


def extra_notes(scenarios: Sequence[Scenario]) -> dict[str, object]:
    """Text fields for each Trajectory: the fracture-risk model and the evidence notes."""
    return {"fracture_risk_model": FRACTURE_RISK_MODEL, "any_clinical_fracture_model": ANY_CLINICAL_FRACTURE_MODEL,
            "evidence_notes": list(EVIDENCE_NOTES)}
