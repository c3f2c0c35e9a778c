"""Generate docs/figures/drug_scenarios.png: the shipped bone-drug example scenarios side by side.

Usage: ``python scripts/figure_drug_scenarios.py`` (simulates examples/*.json in one batch).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from osteotwin import simulate_batch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {
    "anastrozole alone": "anastrozole_5y.json",
    "anastrozole + denosumab q6m": "anastrozole_denosumab_5y.json",
    "anastrozole + zoledronic acid 4 mg q6m": "anastrozole_zoledronic_acid_5y.json",
    "denosumab stopped at 3 y": "denosumab_stopped_3y.json",
    "denosumab stopped at 3 y, then zoledronic acid 5 mg": "denosumab_stopped_3y_then_zoledronic_acid.json",
}
OUTPUT = ROOT / "docs" / "figures" / "drug_scenarios.png"


def main() -> int:
    scenarios = [json.loads((ROOT / "examples" / name).read_text(encoding="utf-8")) for name in EXAMPLES.values()]
    trajectories = simulate_batch(scenarios)
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5), constrained_layout=True)
    for label, trajectory in zip(EXAMPLES, trajectories, strict=True):
        axes[0].plot(trajectory.months, trajectory.lumbar_spine_bmd_pct_change, label=label)
        axes[1].plot(trajectory.months, trajectory.total_hip_bmd_pct_change, label=label)
        axes[2].plot(trajectory.months, trajectory.ctx_pct_change, label=label)
    for axis, title in zip(axes, ("lumbar spine BMD (% change)", "total hip BMD (% change)", "CTX (% change)"), strict=True):
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.axvline(36, color="grey", linewidth=0.5, linestyle=":")
        axis.set_title(title)
        axis.set_xlabel("months")
    axes[0].legend(fontsize="small")
    figure.suptitle("osteotwin: 64-year-old woman on anastrozole for 5 years, with and without bone drugs (examples/*.json)")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(OUTPUT, dpi=100)
    print(f"written {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
