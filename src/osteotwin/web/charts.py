"""Plotly figure specs (plain dicts) for the pages; ``static/charts.js`` draws them.

The least-significant-change (LSC) band around the first scan of each site comes from the clinic's
DXA monitoring when available; otherwise from ISCD's minimum acceptable precision (LSC = 2.77 x
precision CV: lumbar spine 5.3%, total hip 5.0%, femoral neck 6.9%; ISCD Official Positions,
recalled, unverified), labelled as such on the page.
"""

from __future__ import annotations

from typing import Any

from osteotwin.records.models import Patient
from osteotwin.web.rendering import SITE_LABELS

FALLBACK_LSC_PCT = {"lumbar_spine": 5.3, "total_hip": 5.0, "femoral_neck": 6.9}
FALLBACK_LSC_SOURCE = "ISCD minimum acceptable precision x 2.77 (recalled, unverified)"
COLOURS = {"lumbar_spine": "#1f77b4", "total_hip": "#d62728", "femoral_neck": "#2ca02c"}
REGIMEN_COLOURS = {"ai_alone": "#7f7f7f", "ai_lifestyle": "#2ca02c", "ai_denosumab": "#1f77b4",
                   "ai_zoledronic_acid": "#9467bd", "ai_denosumab_stopped": "#ff7f0e"}

LAYOUT = {"margin": {"l": 50, "r": 10, "t": 30, "b": 40}, "height": 360, "legend": {"orientation": "h", "y": -0.3},
          "font": {"size": 12}}


def lsc_by_site(monitoring: list[dict[str, Any]] | None) -> dict[str, tuple[float, str]]:
    """LSC (% of BMD) and its source per site: the clinic's DXA monitoring (precision CV x 2.77,
    ISCD) when available, else the fallback above."""
    result = {site: (pct, FALLBACK_LSC_SOURCE) for site, pct in FALLBACK_LSC_PCT.items()}
    for series in monitoring or []:
        site = series.get("site")
        change = series.get("change_since_first") or {}
        pct = change.get("lsc_pct")
        if pct is None and series.get("precision_cv_pct"):
            pct = 2.77 * float(series["precision_cv_pct"])
        if site and pct:
            result[site] = (float(pct), f"osteotwin.clinic: {series.get('precision_source', 'default')} precision "
                                        f"CV {series.get('precision_cv_pct')}% x 2.77 (ISCD)")
    return result


def dxa_history_figure(patient: Patient, lsc: dict[str, tuple[float, str]]) -> dict[str, Any]:
    """BMD per site over time with the LSC band around the first scan."""
    traces: list[dict[str, Any]] = []
    for site in ("lumbar_spine", "total_hip", "femoral_neck"):
        rows = sorted((r for r in patient.dxa_results if r.site == site), key=lambda r: r.date)
        if not rows:
            continue
        dates = [r.date.isoformat() for r in rows]
        base = rows[0].bmd_g_cm2
        pct = lsc.get(site, (FALLBACK_LSC_PCT.get(site, 5.0), FALLBACK_LSC_SOURCE))[0]
        low, high = base * (1 - pct / 100), base * (1 + pct / 100)
        colour = COLOURS[site]
        span = [dates[0], dates[-1]] if len(dates) > 1 else [dates[0], dates[0]]
        traces.append({"x": span, "y": [high, high], "mode": "lines", "line": {"width": 0},
                       "showlegend": False, "hoverinfo": "skip", "legendgroup": site})
        traces.append({"x": span, "y": [low, low], "mode": "lines", "line": {"width": 0}, "fill": "tonexty",
                       "fillcolor": colour + "22", "name": f"{SITE_LABELS[site]} LSC band ±{pct:g}%",
                       "hoverinfo": "skip", "legendgroup": site})
        traces.append({"x": dates, "y": [r.bmd_g_cm2 for r in rows], "mode": "lines+markers",
                       "name": SITE_LABELS[site], "line": {"color": colour}, "legendgroup": site,
                       "text": [f"T {r.t_score:+.1f}" for r in rows],
                       "hovertemplate": "%{x}: %{y:.3f} g/cm² (%{text})<extra></extra>"})
    layout = {**LAYOUT, "yaxis": {"title": {"text": "BMD (g/cm²)"}}, "xaxis": {"type": "date"}}
    return {"data": traces, "layout": layout}


def projection_figures(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """BMD T-score per site and fracture-risk fields (when the engine provides them) per regimen."""
    figures: dict[str, dict[str, Any]] = {}
    for site in ("lumbar_spine", "total_hip"):
        traces = []
        for name, item in result["regimens"].items():
            trajectory = item["trajectory"]
            traces.append({"x": [m / 12 for m in trajectory["months"]], "y": trajectory[f"{site}_t_score"],
                           "mode": "lines", "name": item["label"], "meta": name,
                           "line": {"color": REGIMEN_COLOURS.get(name)},
                           "hovertemplate": "year %{x:.1f}: T %{y:.2f}<extra>%{fullData.name}</extra>"})
        layout = {**LAYOUT, "title": {"text": SITE_LABELS[site]}, "xaxis": {"title": {"text": "years from today"}},
                  "yaxis": {"title": {"text": "T-score"}},
                  "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": -2.5, "y1": -2.5,
                              "line": {"dash": "dot", "color": "#999"}}]}
        figures[site] = {"data": traces, "layout": layout}
    risk_fields = fracture_risk_fields(result)
    if risk_fields:
        traces = []
        for name, item in result["regimens"].items():
            trajectory = item["trajectory"]
            for field in risk_fields:
                label, dash = RISK_CHART_FIELDS[field]
                traces.append({"x": [m / 12 for m in trajectory["months"]], "y": trajectory[field], "mode": "lines",
                               "name": f"{item['label']}: {label}", "meta": name,
                               "line": {"color": REGIMEN_COLOURS.get(name), "dash": dash}})
        layout = {**LAYOUT, "title": {"text": "Fracture risk"}, "xaxis": {"title": {"text": "years from today"}},
                  "yaxis": {"title": {"text": "%"}}}
        figures["fracture_risk"] = {"data": traces, "layout": layout}
    return figures


# The two 10-year probabilities a clinician reads (as FRAX reports them); the engine's any-clinical-fracture
# output stays in the JSON and the CLI, not on this chart (three lines per regimen were unreadable).
RISK_CHART_FIELDS = {
    "major_osteoporotic_fracture_10y_pct": ("major osteoporotic fracture, 10-year %", "solid"),
    "hip_fracture_10y_pct": ("hip fracture, 10-year %", "dash"),
}


def fracture_risk_fields(result: dict[str, Any]) -> list[str]:
    """The charted fracture-risk fields present in the trajectories, in RISK_CHART_FIELDS order."""
    first = next(iter(result["regimens"].values()), None)
    if first is None:
        return []
    trajectory = first["trajectory"]
    return [field for field in RISK_CHART_FIELDS if isinstance(trajectory.get(field), list) and trajectory[field]]
