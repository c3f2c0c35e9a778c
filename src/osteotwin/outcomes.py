"""Outputs derived from a simulated trajectory beyond the bone-cell core: muscle, falls and
fracture risk over time, 25(OH)D and PTH (physiology part 3).

``extra_outputs`` is called by ``osteotwin.simulation`` once per batch, after the core solve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from osteotwin.scenario import Scenario


def extra_outputs(
    scenarios: Sequence[Scenario], months: np.ndarray, outputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Extra Trajectory fields, each an array shaped (patients, len(months)).

    ``outputs`` holds the core's arrays (same shape) under the Trajectory field names, e.g.
    ``lumbar_spine_t_score``, ``total_hip_t_score``, ``estradiol_pg_ml``, ``ctx_pct_change``.
    """
    return {}
