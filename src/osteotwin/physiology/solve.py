"""Batched integration of the bone core and drug PK between dosing events (numba).

Integrator (chosen on evidence, see docs/calibration.md "Solver" and benchmarks/RESULTS.md):
adaptive, per patient. The core uses a two-stage production/loss scheme for
``dy/dt = P(y) - L(y) * y`` with P, L >= 0: stage 1 is the Patankar-Euler step
``y1 = (y + h P) / (1 + h L)``, stage 2 is exponential with rates averaged over both ends; each
step is positive and unconditionally stable, and a steady state is preserved exactly. The drug
states take exponential Rosenbrock-Euler sub-steps with their exact block-diagonal Jacobian (exact
for linear pharmacokinetics, so the drugs' fast plasma phases do not limit the step) on their own
time grid and error control; the core reads denosumab off that track by cubic Hermite interpolation
(``_drugs_at``). The core's step size follows the difference between its first- and second-order
results. Receptor binding is quasi-steady (algebraic), which removes the stiffest modes, so this
cheap scheme compiled with numba and run over patients in parallel (``prange``) beats a general
stiff solver here. Accuracy
against SciPy Radau at tight tolerance is a test (tests/physiology/test_solver_accuracy.py).

Events: inputs are piecewise constant per month; doses fall at any time (steps are cut at dose
times); a rule-triggered start is checked at every month end on the simulated T-score.
"""

from __future__ import annotations

import numba
import numpy as np

from osteotwin import catalog
from osteotwin.physiology import bone, cache_guard, spec
from osteotwin.physiology import drug_kernels as dk
from osteotwin.physiology import system as sy
from osteotwin.physiology.spec import P, S

cache_guard.invalidate_stale(__file__, (*sy.MECHANISM_FILES, spec.__file__, dk.__file__, cache_guard.drugs_source()))

DAYS_PER_MONTH = catalog.DAYS_PER_MONTH
N_STATES = spec.N_CORE_STATES + dk.N_DRUG_STATES

CORE_OUTPUT_NAMES = (
    "lumbar_spine_bmd_relative", "total_hip_bmd_relative",
    "lumbar_spine_resorption_relative", "total_hip_resorption_relative",
    "lumbar_spine_formation_relative", "total_hip_formation_relative",
    "rankl_opg_ratio_relative", "sclerostin_relative",
    "osteoclast_precursors_relative", "denosumab_serum_ug_per_ml", "bisphosphonate_resorption_inhibition",
    "integrator_steps", "integrator_rejected_steps", "integrator_drug_substeps",
)
OUTPUT_NAMES = CORE_OUTPUT_NAMES + tuple(f"drug_{name}" for name in dk.DRUG_STATE_NAMES)
N_OUTPUTS = len(OUTPUT_NAMES)
OUT = spec.index_space("Output", CORE_OUTPUT_NAMES)  # site s's BMD: OUT.lumbar_spine_bmd_relative + s
N_CORE_OUTPUTS = len(CORE_OUTPUT_NAMES)
assert all(CORE_OUTPUT_NAMES[getattr(OUT, f"lumbar_spine_{kind}_relative") + s] == f"{site}_{kind}_relative"
           for kind in ("bmd", "resorption", "formation") for s, site in enumerate(catalog.SITES))

NO_RULE = -1


# The per-step functions (_core_step, _drugs_at, _drug_step) are inlined into the patient loop
# (numba ``inline="always"``): each takes a dozen or more arrays, and passing them cost about 5-10% of
# a patient-decade (benchmarks/RESULTS.md).
H_MIN = 1e-3  # days
BURN_IN_DAYS = 1000.0  # > 5 time constants of the fast mineral phase (1/(r + kappa)); bone volume and the slow phase are held
BURN_IN_FIRST_STEP = 1.0
SAFETY = 0.9
MAX_GROWTH = 4.0
# Per core state, from its declaration (spec.SITE_STATES): absolute error scale as a fraction of its
# reference value, the vector index of that reference value, and its relative-tolerance factor.
_ABSOLUTE_SCALE = np.array(spec.STATE_ABSOLUTE_SCALE)
_REFERENCE_INDEX = np.array(spec.STATE_REFERENCE_INDEX, dtype=np.int64)
_RTOL_FACTOR = np.array(spec.STATE_RTOL_FACTOR)
_HELD_IN_BURN_IN = np.array(spec.HELD_IN_BURN_IN_INDEX, dtype=np.int64)  # bone volume and the slow phase


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _resorption_relative(y, p):
    """Skeleton resorption / baseline (mean of the two sites): releases buried bisphosphonate."""
    total = 0.0
    for s in range(len(catalog.SITES)):
        total += y[s * spec.N_SITE_STATES + S.osteoclasts_pM] / p[P.reference_osteoclasts_pM]
    return total / len(catalog.SITES)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _phi1_times(a, v, mats, vecs):
    """``vecs[1] = phi1(a) v`` with ``phi1(z) = (exp(z) - 1) / z``, for one BLOCK_SIZE x BLOCK_SIZE block ``a``.

    ``phi1(a) v`` is the last column of ``exp([[a, v], [0, 0]])`` (Hochbruck & Ostermann 2010 Acta
    Numerica 19:209); this computes that exponential by scaling and squaring with the Taylor series of
    order 7, keeping the matrix part ``E = exp(a)`` and the vector part ``w`` apart so that no work is
    spent on the augmented row of zeros: a term ``[[T, t], [0, 0]]`` times the augmented matrix is
    ``[[T a, T v], [0, 0]]``, and squaring ``[[E, w], [0, 1]]`` gives ``[[E E, E w + w], [0, 1]]``.
    ``a`` and ``v`` are scaled by ``2**-s`` so that the infinity norm of ``a`` is <= 0.25, where the
    truncated series is accurate to 0.25**8 / 8! ~ 4e-10 of ``|v|`` (far below the integrator's
    tolerance). The size is the compile-time BLOCK_SIZE, so the loops unroll. ``mats``: three work
    matrices; ``vecs``: three work vectors (the result in ``vecs[1]``).
    """
    n = dk.BLOCK_SIZE
    norm = 0.0
    for i in range(n):
        row = 0.0
        for j in range(n):
            row += abs(a[i, j])
        norm = max(norm, row)
    squarings = 0
    while norm > 0.25:
        norm *= 0.5
        squarings += 1
    scale = 0.5**squarings
    result, term, tmp = mats[0], mats[1], mats[2]
    v_scaled, w, tmp_v = vecs[0], vecs[1], vecs[2]
    for i in range(n):
        v_scaled[i] = v[i] * scale
        w[i] = 0.0
        for j in range(n):
            identity = 1.0 if i == j else 0.0
            result[i, j] = identity
            term[i, j] = identity
    for order in range(1, 8):
        factor = 1.0 / order
        for i in range(n):
            total = 0.0
            for k in range(n):
                total += term[i, k] * v_scaled[k]
            w[i] += total * factor  # T_{order-1} v / order: the vector part of this order's term
            for j in range(n):
                total = 0.0
                for k in range(n):
                    total += term[i, k] * a[k, j]
                tmp[i, j] = total * scale * factor
        for i in range(n):
            for j in range(n):
                term[i, j] = tmp[i, j]
                result[i, j] += tmp[i, j]
    for _ in range(squarings):
        for i in range(n):
            total = 0.0
            for k in range(n):
                total += result[i, k] * w[k]
            tmp_v[i] = total + w[i]
            for j in range(n):
                total = 0.0
                for k in range(n):
                    total += result[i, k] * result[k, j]
                tmp[i, j] = total
        for i in range(n):
            w[i] = tmp_v[i]
            for j in range(n):
                result[i, j] = tmp[i, j]


@numba.njit(cache=True, error_model="numpy", fastmath=True, inline="always")
def _drug_step(ds, r, dp, h, f0, f1, jac, increment, remainder, block, block_f, mats, vecs):
    """One exponential Rosenbrock-Euler step of the drug states: ``x+ = x + h phi1(h J) F(x)``.

    Exact when the right-hand side is linear in the states, which the bisphosphonate pools are
    (at the step's resorption) and denosumab is except for its Michaelis-Menten elimination; so
    steps are limited by the bone, not by the drugs' fast plasma phases (``_phi1_times``).
    The Jacobian is block diagonal (dk.BLOCK_START): each 3-state block is done on its own and
    blocks holding no drug are skipped. The denosumab effect site, ``dCe/dt = ke0 (C - Ce)``, is
    then integrated exactly for C linear over the step. Returns with ``remainder`` holding
    ``h/3 (F(x+) - F(x) - J (x+ - x))``, the local-error estimate (the nonlinear remainder weighted
    as in exprb32's embedded pair, with phi3 ~ 1/6).
    """
    n = dk.BLOCK_SIZE
    dk.drug_rhs(ds, r, dp, f0)
    dk.drug_jacobian(ds, r, dp, jac)
    for i in range(ds.size):
        increment[i] = ds[i]  # becomes x+
        remainder[i] = 0.0
    for blk in range(dk.N_BLOCKS):
        o = dk.BLOCK_START[blk]
        empty = True
        moving = False
        for i in range(n):
            if ds[o + i] != 0.0:
                empty = False
            if f0[o + i] != 0.0:
                moving = True
        if empty or not moving:
            continue
        for i in range(n):
            for j in range(n):
                block[i, j] = h * jac[o + i, o + j]
            block_f[i] = h * f0[o + i]
        _phi1_times(block, block_f, mats, vecs)
        for i in range(n):
            increment[o + i] += vecs[1][i]
    effect = dk.IDX_DMAB_EFFECT
    if ds[effect] != 0.0 or ds[dk.IDX_DMAB_CENTRAL] != 0.0:
        c0 = dk.denosumab_serum_ug_per_ml(ds, dp)
        c1 = dk.denosumab_serum_ug_per_ml(increment, dp)
        kh = dp[dk.K_DMAB_KE0] * h
        decay = np.exp(-kh)
        ramp = 1.0 - (1.0 - decay) / kh if kh > 1e-8 else 0.5 * kh
        increment[effect] = ds[effect] * decay + c0 * (1.0 - decay) + (c1 - c0) * ramp
    dk.drug_rhs(increment, r, dp, f1)
    for blk in range(dk.N_BLOCKS):
        o = dk.BLOCK_START[blk]
        for i in range(o, o + n):
            linear = 0.0
            for j in range(o, o + n):
                linear += jac[i, j] * (increment[j] - ds[j])
            remainder[i] = h / 3.0 * (f1[i] - f0[i] - linear)
    for i in range(ds.size):
        ds[i] = max(increment[i], 0.0)


@numba.njit(cache=True, error_model="numpy", fastmath=True, inline="always")
def _drugs_at(ds, t, t_target, limit, r, coupled, dp, rtol, h_max, drug_h, tally, track_t, track_x, track_f, ds_new, trial, f0,
              f1, jac, increment, remainder, block, block_f, mats, vecs):
    """The drug states at ``t_target`` into ``ds_new``, read off the drugs' own track.

    The drugs are integrated on their own time grid, apart from the core's steps: the denosumab
    central compartment's Michaelis-Menten elimination needs short steps where the bone does not,
    and the bone needs short steps where the drugs do not, so neither sets the other's step. The
    track holds the last accepted sub-step, from ``track_t[0]`` to ``track_t[1]``, with its end states
    ``track_x`` and their derivatives ``track_f``; the core reads the drugs anywhere on it by cubic
    Hermite interpolation (error O(hd**4), below the sub-step's own), and the track is extended by
    sub-steps until it reaches ``t_target``. A sub-step may run past the core's step, never past
    ``limit`` (the next dose) nor longer than ``h_max``. While a bisphosphonate is on board
    (``dk.depends_on_resorption``) the sub-steps end with the core's step and a rejected core step
    restarts the track: its pools move with the bone's resorption, which the core holds only over its
    own step, and its plasma phase (hours) is too fast for interpolation. ``coupled`` says whether one is
    (``dk.depends_on_resorption``, evaluated by the caller after each dose: a drug on board stays on
    board). The track also restarts, from ``ds`` (the drug states at the core's time ``t``), after a
    dose (``track_t[0]`` set to inf) and when a rejected core step asks for a time before the track's
    start.

    Each sub-step is ``_drug_step``; its error is the nonlinear remainder, ``O(hd**3)``, scaled by
    ``dk.RTOL_FACTOR * rtol * (|x| + atol)``; the next sub-step is ``hd * SAFETY / err**(1/3)``, the
    rule for an error of that order. ``drug_h[0]`` carries the preferred sub-step (reset after each
    dose). ``r`` (resorption relative to baseline, which releases buried bisphosphonate) is the core's
    at ``t``, held over each new sub-step. ``tally[0]`` counts the sub-steps taken, accepted or not
    (the ``integrator_drug_substeps`` output).
    """
    nd = ds.size
    if not track_t[0] <= t_target or (coupled and t_target < track_t[1] - 1e-9):
        track_t[0] = t
        track_t[1] = t
        dk.drug_rhs(ds, r, dp, f0)
        for i in range(nd):
            track_x[0, i] = ds[i]
            track_x[1, i] = ds[i]
            track_f[0, i] = f0[i]
            track_f[1, i] = f0[i]
    while track_t[1] < t_target - 1e-9:
        room = min(h_max, limit - track_t[1])
        if coupled:
            room = min(room, t_target - track_t[1])  # r is the core's at t: held no further than the core's step
        hd = min(drug_h[0], room)
        for i in range(nd):
            trial[i] = track_x[1, i]
        _drug_step(trial, r, dp, hd, f0, f1, jac, increment, remainder, block, block_f, mats, vecs)
        tally[0] += 1
        err = 0.0
        for i in range(nd):
            e = abs(remainder[i]) / (dk.RTOL_FACTOR * rtol * (abs(trial[i]) + dk.ABSOLUTE_TOLERANCE[i]))
            if e > err:
                err = e
        factor = min(MAX_GROWTH, SAFETY / max(err, 1e-12) ** (1.0 / 3.0))  # the remainder is O(hd**3)
        if err > 1.0 and hd > H_MIN:
            drug_h[0] = max(H_MIN, hd * max(0.2, factor))
            continue
        if hd < room - 1e-9 or hd * factor < drug_h[0]:
            drug_h[0] = hd * factor  # a sub-step cut short by the next dose does not shrink the preference
        track_t[0] = track_t[1]
        track_t[1] += hd
        for i in range(nd):
            track_x[0, i] = track_x[1, i]
            track_f[0, i] = f0[i]
            track_x[1, i] = trial[i]
            track_f[1, i] = f1[i]
    span = track_t[1] - track_t[0]
    if span <= 0.0:
        for i in range(nd):
            ds_new[i] = track_x[1, i]
        return
    theta = min(max((t_target - track_t[0]) / span, 0.0), 1.0)
    theta2 = theta * theta
    theta3 = theta2 * theta
    h00 = 2.0 * theta3 - 3.0 * theta2 + 1.0
    h10 = (theta3 - 2.0 * theta2 + theta) * span
    h01 = 3.0 * theta2 - 2.0 * theta3
    h11 = (theta3 - theta2) * span
    for i in range(nd):
        ds_new[i] = max(h00 * track_x[0, i] + h10 * track_f[0, i] + h01 * track_x[1, i] + h11 * track_f[1, i], 0.0)


@numba.njit(cache=True, error_model="numpy", fastmath=True, inline="always")
def _core_step(y, p, u, h, rtol, den0, bp0, den1, bp1, prod0, loss0, prod1, loss1, y1):
    """Advance the core states of one patient by h days in place; returns the scaled error estimate (<= 1 accepts).

    Stage 1 Patankar-Euler ``y1 = (y + h P) / (1 + h L)``; stage 2 exponential with rates averaged
    over both ends, ``y+ = P/L + (y - P/L) exp(-h L)``; the drugs' inhibitions are ``den0, bp0`` at the
    step's start (stage 1) and ``den1, bp1`` at its end (stage 2). Error estimate: the difference
    between the first-order stage 1 and the second-order result, scaled by
    ``rtol_factor * rtol * (|y| + absolute_scale * reference)`` (per state, from spec.SITE_STATES).
    """
    nc = spec.N_CORE_STATES
    err = 0.0
    sy.core_rates(y, p, u, den0, bp0, prod0, loss0)
    for k in range(nc):
        y1[k] = (y[k] + h * prod0[k]) / (1.0 + h * loss0[k])
    sy.core_rates(y1, p, u, den1, bp1, prod1, loss1)
    for k in range(nc):
        prod = 0.5 * (prod0[k] + prod1[k])
        loss = 0.5 * (loss0[k] + loss1[k])
        target = prod / loss
        new = target + (y[k] - target) * np.exp(-h * loss)
        e = abs(new - y1[k]) / (_RTOL_FACTOR[k] * rtol * (abs(new) + _ABSOLUTE_SCALE[k] * p[_REFERENCE_INDEX[k]]))
        if e > err:
            err = e
        y[k] = new
    return err


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _record(y, y_start, p, dp, u, out, m, i):
    """Monthly outputs; BMD and markers relative to the patient's own start (after burn-in)."""
    ds = y[spec.N_CORE_STATES:]
    den = dk.denosumab_inhibition(ds, dp)
    rankl_opg = 1.0
    sclerostin = 1.0
    for s in range(len(catalog.SITES)):
        o = s * spec.N_SITE_STATES
        phi, w, rankl, opg, pi_l, route = sy.site_signals(y, s, p, u, den)
        if s == 0:  # the spine's signals stand for the systemic RANKL/OPG and sclerostin outputs
            rankl_opg = rankl / opg
            sclerostin = 1.0 / w
        out[OUT.lumbar_spine_bmd_relative + s, m, i] = y[o + S.mineral_volume_pct] / y_start[o + S.mineral_volume_pct]
        out[OUT.lumbar_spine_resorption_relative + s, m, i] = y[o + S.osteoclasts_pM] / y_start[o + S.osteoclasts_pM]
        # P1NP: all bone formation, remodelling (osteoblasts) plus loading's modelling-based formation
        # (system.core_rates), relative to the start's formation; the burn-in holds habitual loading, so the
        # start has no modelling flux and the ratio is OBa/OBa_start + F_mod / (theta k_form OBa_start). Month 0
        # is that start (no time on a programme yet), so its record carries no modelling flux.
        remodelling_start = bone.remodelling_formation(p, s, y_start[o + S.osteoblasts_pM])
        modelling = bone.modelling_formation(p, s, route, y[o + S.bone_volume_pct]) if m > 0 else 0.0
        out[OUT.lumbar_spine_formation_relative + s, m, i] = y[o + S.osteoblasts_pM] / y_start[o + S.osteoblasts_pM] + modelling / remodelling_start
    out[OUT.rankl_opg_ratio_relative, m, i] = rankl_opg / (p[P.reference_rankl_pM] / p[P.reference_opg_pM])
    out[OUT.sclerostin_relative, m, i] = sclerostin
    out[OUT.osteoclast_precursors_relative, m, i] = y[S.osteoclast_precursors_pM] / p[P.reference_osteoclast_precursors_pM]
    out[OUT.denosumab_serum_ug_per_ml, m, i] = dk.denosumab_serum_ug_per_ml(ds, dp)
    out[OUT.bisphosphonate_resorption_inhibition, m, i] = dk.bisphosphonate_inhibition(ds, dp)
    for k in range(dk.N_DRUG_STATES):
        out[N_CORE_OUTPUTS + k, m, i] = ds[k]


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _integrate_one(i, y0, p, dp, inputs, burn_inputs, item_ptr, item_row, item_amount, item_interval, item_start, item_stop,
                   item_rule_site, item_rule_t, bmd0, t_ref, months, rtol, h_max, h_after_dose, out):
    n = y0.size
    y = y0.copy()
    prod0 = np.empty(spec.N_CORE_STATES)
    loss0 = np.empty(spec.N_CORE_STATES)
    prod1 = np.empty(spec.N_CORE_STATES)
    loss1 = np.empty(spec.N_CORE_STATES)
    y1 = np.empty(spec.N_CORE_STATES)
    nd = dk.N_DRUG_STATES
    ds_new = np.empty(nd)
    trial = np.empty(nd)
    drug_h = np.full(1, h_after_dose)  # the drugs' own preferred sub-step (_drugs_at)
    tally = np.zeros(1, dtype=np.int64)  # drug sub-steps taken (_drugs_at)
    track_t = np.full(2, np.inf)  # the drugs' own track (_drugs_at); inf: restart at the next step
    track_x = np.empty((2, nd))
    track_f = np.empty((2, nd))
    f0 = np.empty(nd)
    f1 = np.empty(nd)
    jac = np.zeros((nd, nd))  # off-block entries stay zero (drugs.drug_jacobian_kernel writes only the blocks)
    increment = np.empty(nd)
    remainder = np.empty(nd)
    block = np.empty((dk.BLOCK_SIZE, dk.BLOCK_SIZE))  # h J and h F of one drug block (_drug_step)
    block_f = np.empty(dk.BLOCK_SIZE)
    mats = np.empty((3, dk.BLOCK_SIZE, dk.BLOCK_SIZE))
    vecs = np.empty((3, dk.BLOCK_SIZE))
    saved = np.empty(n)
    u = np.empty(inputs.shape[0])
    h = h_max
    first = item_ptr[i]
    last = item_ptr[i + 1]
    next_dose = np.empty(last - first)
    for k in range(first, last):
        next_dose[k - first] = np.inf if item_rule_site[k] != NO_RULE else item_start[k]
    triggered = np.zeros(last - first, dtype=np.bool_)
    # Burn-in: the cells and the mineral fraction settle on the patient's untreated drive at the
    # start (background loss by years since menopause) with bone volume and the slow mineral
    # deficit held (BURN_IN_DAYS), so that month 0 is the patient's own quasi-steady state rather
    # than a step from the reference.
    for j in range(inputs.shape[0]):
        u[j] = burn_inputs[j, i]
    t = 0.0
    h = BURN_IN_FIRST_STEP
    while t < BURN_IN_DAYS - 1e-9:
        dt = min(h, BURN_IN_DAYS - t)
        for k in range(_HELD_IN_BURN_IN.size):
            saved[k] = y[_HELD_IN_BURN_IN[k]]
        err = _core_step(y, p, u, dt, rtol, 0.0, 0.0, 0.0, 0.0, prod0, loss0, prod1, loss1, y1)  # no dose before month 0
        for k in range(_HELD_IN_BURN_IN.size):
            y[_HELD_IN_BURN_IN[k]] = saved[k]
        t += dt
        h = min(h_max, dt * min(MAX_GROWTH, SAFETY / np.sqrt(max(err, 1e-12))))
    y_start = y.copy()
    for j in range(inputs.shape[0]):
        u[j] = inputs[j, 0, i]
    _record(y, y_start, p, dp, u, out, np.int64(0), i)  # the same specialisation as the monthly records
    out[OUT.integrator_steps, 0, i] = 0.0
    out[OUT.integrator_rejected_steps, 0, i] = 0.0
    out[OUT.integrator_drug_substeps, 0, i] = 0.0
    steps = 0
    rejected = 0
    tally[0] = 0  # the burn-in's sub-steps are not counted
    t = 0.0
    # The inputs jump at every month start; the first step of a month starts from the step that the
    # previous month's first step ended up accepting (grown as the error allows), not from the last
    # step of the month, which would be rejected at the jump, typically three times.
    h_month_start = h_max
    on_board = False  # a dose has been given: the drug states are integrated (_drugs_at)
    coupled = False  # a drug on board moves with the bone's resorption (set after each dose)
    for m in range(months):
        for j in range(inputs.shape[0]):
            u[j] = inputs[j, m, i]
        t_end = (m + 1) * DAYS_PER_MONTH
        h = min(h, h_month_start)
        first_step = True
        while True:
            soonest = np.inf
            dosed = False
            for k in range(first, last):
                kk = k - first
                while next_dose[kk] <= t + 1e-9:
                    y[spec.N_CORE_STATES + item_row[k]] += item_amount[k]
                    following = next_dose[kk] + item_interval[k]
                    if item_interval[k] > 0.0 and following < item_stop[k] - 1e-9:
                        next_dose[kk] = following
                    else:
                        next_dose[kk] = np.inf
                    dosed = True
                if next_dose[kk] < soonest:
                    soonest = next_dose[kk]
            if dosed:
                on_board = True
                drug_h[0] = h_after_dose
                track_t[0] = np.inf  # the drugs' track restarts from the dosed states
                coupled = dk.depends_on_resorption(y[spec.N_CORE_STATES:], dp, trial)
                # The core's step too: from no drug, denosumab's inhibition saturates within a day (its IC50 is
                # about 1/1000 of serum levels); letting the core's own control find that costs more steps and
                # doubled the BMD error against Radau (0.019 -> 0.041 pp, anastrozole + denosumab q6m).
                h = min(h, h_after_dose)
            if t >= t_end - 1e-9:
                break
            limit = min(t_end, soonest)
            dt = min(h, limit - t)
            cut = dt < h
            if limit - (t + dt) < 1e-6:
                dt = limit - t
            for k in range(n):
                saved[k] = y[k]
            if on_board:
                ds = y[spec.N_CORE_STATES:]
                _drugs_at(ds, t, t + dt, soonest, _resorption_relative(y, p), coupled, dp, rtol, h_max, drug_h, tally, track_t,
                          track_x, track_f, ds_new, trial, f0, f1, jac, increment, remainder, block, block_f, mats, vecs)
                err = _core_step(y, p, u, dt, rtol, dk.denosumab_inhibition(ds, dp), dk.bisphosphonate_inhibition(ds, dp),
                                 dk.denosumab_inhibition(ds_new, dp), dk.bisphosphonate_inhibition(ds_new, dp), prod0, loss0, prod1,
                                 loss1, y1)
                for k in range(ds.size):
                    ds[k] = ds_new[k]
            else:
                err = _core_step(y, p, u, dt, rtol, 0.0, 0.0, 0.0, 0.0, prod0, loss0, prod1, loss1, y1)
            factor = min(MAX_GROWTH, SAFETY / np.sqrt(max(err, 1e-12)))
            if err > 1.0 and dt > H_MIN:
                for k in range(n):
                    y[k] = saved[k]
                h = max(H_MIN, dt * max(0.2, factor))
                rejected += 1
                continue
            t = t + dt
            steps += 1
            h = min(h_max, dt * factor)
            if first_step:
                h_month_start = h
                first_step = False
            if cut and h < dt:
                h = dt
        _record(y, y_start, p, dp, u, out, m + 1, i)
        out[OUT.integrator_steps, m + 1, i] = steps
        out[OUT.integrator_rejected_steps, m + 1, i] = rejected
        out[OUT.integrator_drug_substeps, m + 1, i] = tally[0]
        for k in range(first, last):
            kk = k - first
            site = item_rule_site[k]
            if site != NO_RULE and not triggered[kk] and t < item_stop[k] - 1e-9:
                bmd = bmd0[site, i] * out[OUT.lumbar_spine_bmd_relative + site, m + 1, i]
                if (bmd - t_ref[2 * site]) / t_ref[2 * site + 1] < item_rule_t[k]:
                    triggered[kk] = True
                    next_dose[kk] = t


@numba.njit(cache=True, parallel=True, error_model="numpy", fastmath=True)
def _integrate_parallel(y0, p, dp, inputs, burn_inputs, item_ptr, item_row, item_amount, item_interval, item_start, item_stop,
                        item_rule_site, item_rule_t, bmd0, t_ref, months, rtol, h_max, h_after_dose, out):
    for i in numba.prange(inputs.shape[2]):  # prange's index is unsigned: cast so one _integrate_one serves both kernels
        _integrate_one(np.int64(i), y0[i], p[i], dp[i], inputs, burn_inputs, item_ptr, item_row, item_amount, item_interval, item_start,
                       item_stop, item_rule_site, item_rule_t, bmd0, t_ref[i], months, rtol, h_max, h_after_dose, out)


@numba.njit(cache=True, error_model="numpy", fastmath=True)
def _integrate_serial(y0, p, dp, inputs, burn_inputs, item_ptr, item_row, item_amount, item_interval, item_start, item_stop,
                      item_rule_site, item_rule_t, bmd0, t_ref, months, rtol, h_max, h_after_dose, out):
    for i in range(inputs.shape[2]):
        _integrate_one(i, y0[i], p[i], dp[i], inputs, burn_inputs, item_ptr, item_row, item_amount, item_interval, item_start,
                       item_stop, item_rule_site, item_rule_t, bmd0, t_ref[i], months, rtol, h_max, h_after_dose, out)


# Below this many patients a batch runs on the calling thread: waking numba's thread pool costs more
# than the work (one patient-decade is about a millisecond), and on a busy machine far more.
PARALLEL_FROM_PATIENTS = 8


def integrate_batch(y0, p, dp, inputs, burn_inputs, item_ptr, item_row, item_amount, item_interval, item_start, item_stop,
                    item_rule_site, item_rule_t, bmd0, t_ref, months, rtol, h_max, h_after_dose):
    """Integrate every patient; returns outputs shaped (N_OUTPUTS, months + 1, patients).

    Per patient (first axis, one row each): ``y0`` start states, ``p`` the packed core parameters
    (system.pack_parameters), ``dp`` the packed drug parameters, ``t_ref`` the T-score references
    (spine mean, spine SD, hip mean, hip SD; g/cm2) that rule-triggered starts read. Patients are
    integrated in parallel (numba ``prange``) from PARALLEL_FROM_PATIENTS on, serially below.
    """
    patients = inputs.shape[2]
    out = np.empty((N_OUTPUTS, months + 1, patients))
    kernel = _integrate_parallel if patients >= PARALLEL_FROM_PATIENTS else _integrate_serial
    kernel(y0, p, dp, inputs, burn_inputs, item_ptr, item_row, item_amount, item_interval, item_start, item_stop,
           item_rule_site, item_rule_t, bmd0, t_ref, months, rtol, h_max, h_after_dose, out)
    return out
