"""Endpoint estimates of a finished trial (read column by column from its Parquet file), the
``--json`` document, the text summary and the ``--report DIR`` markdown with PNG figures.

Estimators: ``population/trial.py`` (t interval for means, chi-square for SDs, order statistics for
quantiles, Wilson for shares, Poisson rate ratio for hazard ratios).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from osteotwin.population.trial import (
    OUTCOMES,
    SITES,
    TrialSpec,
    endpoint_estimate,
    events_and_time,
    mean_difference,
    month_grid,
    rate_ratio,
)


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else round(float(value), 6)
    return value


def arm_columns(path: str | Path, arm: str, columns: list[str]) -> dict[str, np.ndarray]:
    """Some columns of one arm's rows (only those columns are read)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=columns, filters=[("arm", "=", arm)])
    return {name: table.column(name).to_numpy(zero_copy_only=False).astype(float) for name in columns}


def _needed(endpoint) -> list[str]:
    m = endpoint.month
    if endpoint.kind in ("bmd_pct_change", "bmd_pct_change_difference"):
        base = getattr(endpoint, "baseline_month", 0)
        return [f"{endpoint.site}_pct_m{m}"] + ([f"{endpoint.site}_pct_m{base}"] if base else [])
    if endpoint.kind == "share_below_t_score":
        return [f"{endpoint.site}_t_m{m}"]
    if endpoint.kind in ("fracture_cumulative_incidence", "fracture_hazard_ratio"):
        return [f"{endpoint.outcome}_fracture_month"]
    return ["bone_agent_start_month"]


def estimates(spec: TrialSpec, path: str | Path) -> dict[str, Any]:
    """``{"arms": {arm: {endpoint id: {"value", "ci95", "n"}}}, "hazard_ratios": {id: {...}},
    "differences": {id: {...}}}``."""
    arms: dict[str, dict] = {arm.name: {} for arm in spec.arms}
    ratios: dict[str, dict] = {}
    differences: dict[str, dict] = {}
    for endpoint in spec.endpoints:
        if endpoint.kind == "bmd_pct_change_difference":
            column = _needed(endpoint)[0]
            result = mean_difference(arm_columns(path, endpoint.arm, [column])[column],
                                     arm_columns(path, endpoint.reference, [column])[column])
            result |= {"arm": endpoint.arm, "reference": endpoint.reference, "site": endpoint.site, "month": endpoint.month}
            if endpoint.published is not None:
                result["published"] = endpoint.published.model_dump(exclude_none=True)
            differences[endpoint.id] = result
            continue
        if endpoint.kind == "fracture_hazard_ratio":
            column = _needed(endpoint)[0]
            counts = []
            for name in (endpoint.arm, endpoint.reference):
                counts.append(events_and_time(arm_columns(path, name, [column])[column], endpoint.start_month, endpoint.month))
            result = rate_ratio(counts[0][0], counts[0][1], counts[1][0], counts[1][1])
            result |= {"arm": endpoint.arm, "reference": endpoint.reference, "outcome": endpoint.outcome, "month": endpoint.month,
                       "n": [spec.patients_per_arm, spec.patients_per_arm]}
            if endpoint.published is not None:
                result["published"] = endpoint.published.model_dump(exclude_none=True)
            ratios[endpoint.id] = result
            continue
        for arm in spec.arms:
            if endpoint.arms is not None and arm.name not in endpoint.arms:
                continue
            result = endpoint_estimate(endpoint, arm_columns(path, arm.name, _needed(endpoint)))
            published = endpoint.published
            if published is not None and (published.model_extra or {}).get("arm", arm.name) == arm.name:
                result["published"] = published.model_dump(exclude_none=True)
            arms[arm.name][endpoint.id] = result
    return _clean({"trial": spec.name, "patients_per_arm": spec.patients_per_arm, "seed": spec.seed,
                   "arms": arms, "hazard_ratios": ratios, "differences": differences})


def _fmt(result: dict) -> str:
    value, (lo, hi) = result.get("value"), result.get("ci95", [None, None])
    if value is None:
        return "n/a"
    text = f"{value:.4g} ({lo:.4g} to {hi:.4g})" if lo is not None else f"{value:.4g}"
    published = result.get("published")
    if published:
        text += f"; published {published['value']:g}"
    return text


def _published(result: dict) -> str:
    """The published value with its 95% CI and note, for the report's column beside the model's value."""
    published = result.get("published") or {}
    if "value" not in published:
        return ""
    text = f"{published['value']:g}"
    if published.get("ci95"):
        text += f" ({published['ci95'][0]:g} to {published['ci95'][1]:g})"
    if published.get("note"):
        text += f"; {published['note']}"
    return text


def text_summary(spec: TrialSpec, results: dict) -> str:
    lines = [f"osteotwin trial {spec.name}: {spec.patients_per_arm} patients per arm, seed {spec.seed}; value (95% CI)"]
    for arm, endpoints in results["arms"].items():
        for endpoint_id, result in endpoints.items():
            lines.append(f"  {arm:<18} {endpoint_id:<14} {_fmt(result)}")
    for endpoint_id, result in results.get("differences", {}).items():
        lines.append(f"  {result['arm']} minus {result['reference']} {endpoint_id:<10} {_fmt(result)} (difference of means, Welch CI)")
    for endpoint_id, result in results["hazard_ratios"].items():
        lines.append(f"  HR {result['arm']} vs {result['reference']} {endpoint_id:<10} {_fmt(result)} "
                     f"(events {result['events'][0]} vs {result['events'][1]}; Poisson rate ratio)")
    return "\n".join(lines)


def write_report(spec: TrialSpec, path: str | Path, results: dict, folder: str | Path) -> list[Path]:
    """``folder/report.md`` with a fan chart of BMD per arm (p10/p50/p90) and cumulative-incidence curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, site in zip(axes, SITES, strict=True):
        for k, arm in enumerate(spec.arms):
            grid = month_grid(spec, arm)
            cols = arm_columns(path, arm.name, [f"{site}_pct_m{m}" for m in grid])
            q = np.array([np.nanpercentile(cols[f"{site}_pct_m{m}"], [10, 50, 90]) for m in grid])
            colour = f"C{k}"
            ax.fill_between(grid, q[:, 0], q[:, 2], color=colour, alpha=0.2)
            ax.plot(grid, q[:, 1], color=colour, label=f"{arm.name} (median, p10-p90)")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_title(site.replace("_", " "))
        ax.set_xlabel("month")
    axes[0].set_ylabel("BMD % change from baseline")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{spec.name}: BMD per arm ({spec.patients_per_arm} virtual patients per arm)")
    fig.tight_layout()
    fan = folder / "bmd_fan.png"
    fig.savefig(fan, dpi=110)
    plt.close(fig)
    written.append(fan)

    fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(13, 4))
    for ax, outcome in zip(axes, OUTCOMES, strict=True):
        for k, arm in enumerate(spec.arms):
            times = arm_columns(path, arm.name, [f"{outcome}_fracture_month"])[f"{outcome}_fracture_month"]
            months = np.arange(0, int(math.ceil(arm.months)) + 1)
            share = np.array([np.sum(times < m) for m in months]) / max(times.size, 1)
            ax.step(months, 100 * share, where="post", color=f"C{k}", label=arm.name)
        ax.set_title(f"{outcome.replace('_', ' ')} fracture")
        ax.set_xlabel("month")
        ax.set_ylabel("cumulative incidence %")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    curves = folder / "fracture_incidence.png"
    fig.savefig(curves, dpi=110)
    plt.close(fig)
    written.append(curves)

    lines = [f"# {spec.name}: virtual trial", "",
             f"{spec.patients_per_arm} virtual patients per arm, seed {spec.seed}, variability: {spec.variability} "
             "(docs/populations.md). Generated by `osteotwin trial`. BMD endpoints are computed from simulated DXA scans: "
             "each scan carries the device's precision error and, with fitted variability, the statistical residual "
             "(population/measurement.py).", ""]
    if spec.citation:
        lines += [f"Trial: {spec.citation}", ""]
    lines += ["| arm | endpoint | simulated (95% CI) | n | published (95% CI) | source |", "| --- | --- | --- | --- | --- | --- |"]
    for arm, endpoints in results["arms"].items():
        for endpoint_id, result in endpoints.items():
            published = result.get("published") or {}
            lines.append(f"| {arm} | {endpoint_id} | {_fmt({k: v for k, v in result.items() if k != 'published'})} | "
                         f"{result.get('n')} | {_published(result)} | {published.get('citation', '')} |")
    for endpoint_id, result in results.get("differences", {}).items():
        published = result.get("published") or {}
        lines.append(f"| {result['arm']} minus {result['reference']} | {endpoint_id} (difference of means, Welch CI) | "
                     f"{_fmt({k: v for k, v in result.items() if k != 'published'})} | {result['n']} | "
                     f"{_published(result)} | {published.get('citation', '')} |")
    for endpoint_id, result in results["hazard_ratios"].items():
        published = result.get("published") or {}
        lines.append(f"| {result['arm']} vs {result['reference']} | {endpoint_id} (HR, Poisson rate ratio) | "
                     f"{_fmt({k: v for k, v in result.items() if k != 'published'})} | events {result['events']} | "
                     f"{_published(result)} | {published.get('citation', '')} |")
    lines += ["", "![BMD fan chart](bmd_fan.png)", "", "![Cumulative incidence of fractures](fracture_incidence.png)", "",
              "Fracture events are sampled from the engine's 10-year probabilities (monthly hazard "
              "-ln(1 - p/100)/120); no competing mortality.", ""]
    report = folder / "report.md"
    report.write_text("\n".join(lines))
    written.append(report)
    return written
