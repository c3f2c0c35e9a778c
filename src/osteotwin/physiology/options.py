"""Engine options: which optional modules take part in a simulation (immutable)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineOptions:
    """Switches handed to the lifestyle modules and the integrator.

    ``mechanics``, ``minerals``, ``gut_axis``, ``weak_evidence_nutrients``: include these lifestyle
    effects (all on by default; off means the drive stays at its baseline of 1.0).
    ``rtol``: relative error per step of the adaptive integrator (solve.py; the drug sub-steps use
    drug_kernels.RTOL_FACTOR x rtol); the default keeps BMD within 0.05 percentage point of SciPy
    Radau at tight tolerance over 10 years (tests/physiology/test_solver_accuracy.py;
    benchmarks/RESULTS.md). ``max_step_days``: largest step, of the core and of the drugs' sub-steps;
    ``step_after_dose_days``: the core's step and the drugs' sub-step are cut back to this after each dose.
    ``chunk_patients``: patients per chunk in the batched path (bounds memory; 1,000 measured
    faster than 10,000 on the 2-core machine, cache-friendlier).
    """

    mechanics: bool = True
    minerals: bool = True
    gut_axis: bool = True
    weak_evidence_nutrients: bool = True
    rtol: float = 2e-4
    max_step_days: float = 30.0
    step_after_dose_days: float = 0.5
    chunk_patients: int = 1_000

    def __post_init__(self) -> None:
        if not 1e-8 <= self.rtol <= 0.1:
            raise ValueError(f"rtol = {self.rtol}: allowed 1e-8 to 0.1")
        if not 0.01 <= self.step_after_dose_days <= self.max_step_days <= 31.0:
            raise ValueError("step_after_dose_days <= max_step_days <= 31 days required")
        if self.chunk_patients < 1:
            raise ValueError(f"chunk_patients = {self.chunk_patients}: must be at least 1")

