"""Reference integration of one patient with SciPy ``solve_ivp`` (Radau by default).

The same pure right-hand side as the compiled engine (system.core_rates, drugs.drug_rhs_kernel),
integrated month by month (inputs are piecewise constant) and restarted at every dose. Used as the
accuracy oracle for the engine's fixed-step scheme (tests) and as the SciPy peer in the benchmark.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from osteotwin.physiology import drug_kernels as dk
from osteotwin.physiology import engine, solve, spec
from osteotwin.physiology import system as sy
from osteotwin.physiology.parameters import ParameterTable, registry
from osteotwin.physiology.spec import S


def _full_derivative(y: np.ndarray, vector: np.ndarray, drug_vector: np.ndarray, u: np.ndarray) -> np.ndarray:
    nc = sy.N_CORE_STATES
    ds = y[nc:]
    prod = np.empty(nc)
    loss = np.empty(nc)
    sy.core_rates(y, vector, u, dk.denosumab_inhibition(ds, drug_vector), dk.bisphosphonate_inhibition(ds, drug_vector), prod, loss)
    out = np.empty(y.size)
    out[:nc] = prod - loss * y[:nc]
    drug_out = np.empty(dk.N_DRUG_STATES)
    dk.drug_rhs(ds, solve._resorption_relative(y, vector), drug_vector, drug_out)
    out[nc:] = drug_out
    return out


def simulate_one(arrays: engine.PatientArrays, patient: int = 0, *, params: ParameterTable | None = None,
                 method: str = "Radau", rtol: float = 1e-8, atol: float = 1e-12) -> dict[str, np.ndarray]:
    """BMD relative per site and resorption relative per site, monthly (months + 1,), for one patient.

    Rule-triggered starts are not supported here (fixed schedules only).
    """
    params = params if params is not None else registry()
    options = engine.EngineOptions()
    vector = sy.pack_parameters(params)
    drug_vector = dk.pack_drug_parameters(params.values_dict())
    u_all, burn, _, _ = engine.monthly_inputs(arrays, params, options, patient, patient + 1)
    schedule = arrays.schedule.select(patient, patient + 1)
    rows, amounts = engine.dose_rows_and_amounts(schedule, params)
    doses: list[tuple[float, int, float]] = []
    for k in range(schedule.drug_code.size):
        if schedule.rule_site[k] != engine.NO_RULE:
            raise ValueError("reference.simulate_one does not support rule-triggered starts")
        t = schedule.start_day[k]
        while True:
            doses.append((t, int(rows[k]), float(amounts[k])))
            t += schedule.interval_days[k]
            if schedule.interval_days[k] <= 0 or t >= schedule.stop_day[k] - 1e-9:
                break
    doses.sort()
    y = np.concatenate([sy.reference_state(vector), np.zeros(dk.N_DRUG_STATES)])
    frozen = list(spec.HELD_IN_BURN_IN_INDEX)  # held in the burn-in, as in solve.py
    u_burn = burn[:, 0].copy()

    def burn_derivative(_t: float, yy: np.ndarray) -> np.ndarray:
        d = _full_derivative(yy, vector, drug_vector, u_burn)
        d[frozen] = 0.0
        return d

    sol = solve_ivp(burn_derivative, (0.0, solve.BURN_IN_DAYS), y, method=method, rtol=rtol, atol=atol)
    y = sol.y[:, -1].copy()
    y_start = y.copy()
    months = arrays.months
    out = {name: np.empty(months + 1) for name in ("lumbar_spine_bmd_relative", "total_hip_bmd_relative",
                                                    "lumbar_spine_resorption_relative", "total_hip_resorption_relative")}

    def record(m: int, y: np.ndarray) -> None:
        for s, site in enumerate(sy.SITES):
            o = s * sy.N_SITE_STATES
            out[f"{site}_bmd_relative"][m] = y[o + S.mineral_volume_pct] / y_start[o + S.mineral_volume_pct]
            out[f"{site}_resorption_relative"][m] = y[o + S.osteoclasts_pM] / y_start[o + S.osteoclasts_pM]

    record(0, y)
    dose_index = 0
    t = 0.0
    for m in range(months):
        u = u_all[:, m, 0].copy()
        t_end = (m + 1) * solve.DAYS_PER_MONTH
        while True:
            while dose_index < len(doses) and doses[dose_index][0] <= t + 1e-9:
                y[sy.N_CORE_STATES + doses[dose_index][1]] += doses[dose_index][2]
                dose_index += 1
            if t >= t_end - 1e-9:
                break
            t_next = min(t_end, doses[dose_index][0]) if dose_index < len(doses) else t_end
            sol = solve_ivp(lambda _t, yy, u=u: _full_derivative(yy, vector, drug_vector, u), (t, t_next), y,
                            method=method, rtol=rtol, atol=atol)
            if not sol.success:
                raise RuntimeError(sol.message)
            y = sol.y[:, -1].copy()
            t = t_next
        record(m + 1, y)
    return out
