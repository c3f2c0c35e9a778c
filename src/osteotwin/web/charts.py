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
REGIMEN_COLOURS = {"continue": "#111111", "ai_alone": "#7f7f7f", "lifestyle_plan": "#2ca02c", "denosumab": "#1f77b4",
                   "zoledronic_acid": "#9467bd", "denosumab_2y_then_stop": "#ff7f0e"}

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


def dxa_history_figure(patient: Patient, lsc: dict[str, tuple[float, str]],
                       personal: dict[str, Any] | None = None) -> dict[str, Any]:
    """BMD per site over time with the LSC band around the first scan; with a fitted personal twin also what it
    expected before each follow-up scan (80% range as an error bar) and her 80% range ahead on current
    treatment (:func:`personal_dxa_traces`)."""
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
    if personal and personal.get("status") == "fitted":
        traces.extend(personal_dxa_traces(patient, personal))
    layout = {**LAYOUT, "yaxis": {"title": {"text": "BMD (g/cm²)"}}, "xaxis": {"type": "date"}}
    return {"data": traces, "layout": layout}


def personal_dxa_traces(patient: Patient, personal: dict[str, Any], step_months: int = 3) -> list[dict[str, Any]]:
    """The personal twin on the DXA chart: for each follow-up scan the expected BMD (median, 80% range as an
    error bar, from the scans before it: twin/personal/scan_checks.py) and, from the latest scan, her 80% range
    on current treatment (the fit's ``continue`` % change applied to the latest measured BMD of the site)."""
    import datetime as dt

    from osteotwin.catalog import DAYS_PER_MONTH

    traces: list[dict[str, Any]] = []
    for site in ("lumbar_spine", "total_hip"):
        colour = COLOURS[site]
        checks = [c for c in personal.get("scan_checks", []) if c["site"] == site]
        if checks:
            traces.append({
                "x": [c["date"] for c in checks], "y": [c["expected_p50"] for c in checks], "mode": "markers",
                "marker": {"symbol": "diamond-open", "size": 10, "color": colour}, "legendgroup": site,
                "name": f"{SITE_LABELS[site]}: expected before the scan (80% range)",
                "error_y": {"type": "data", "symmetric": False, "color": colour,
                            "array": [c["expected_p90"] - c["expected_p50"] for c in checks],
                            "arrayminus": [c["expected_p50"] - c["expected_p10"] for c in checks]},
                "hovertemplate": "%{x}: expected %{y:.3f} g/cm²<extra></extra>"})
        band = ((personal.get("projections") or personal.get("bands") or {}).get("continue") or {}).get(
            f"{site}_bmd_pct_change")
        rows = sorted((r for r in patient.dxa_results if r.site == site), key=lambda r: r.date)
        if not band or not rows:
            continue
        start, base = dt.date.fromisoformat(personal["month_0_date"]), rows[-1].bmd_g_cm2
        months = list(range(0, len(band["p50"]), step_months))
        dates = [(start + dt.timedelta(days=round(m * DAYS_PER_MONTH))).isoformat() for m in months]
        low, mid, high = ([base * (1 + band[k][m] / 100) for m in months] for k in ("p10", "p50", "p90"))
        traces += [
            {"x": dates, "y": high, "mode": "lines", "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip",
             "legendgroup": site},
            {"x": dates, "y": low, "mode": "lines", "line": {"width": 0}, "fill": "tonexty", "fillcolor": colour + "33",
             "name": f"{SITE_LABELS[site]}: her 80% range on current treatment", "legendgroup": site,
             "hoverinfo": "skip"},
            {"x": dates, "y": mid, "mode": "lines", "line": {"color": colour, "dash": "dash", "width": 1},
             "showlegend": False, "legendgroup": site, "hovertemplate": "%{x}: her median %{y:.3f} g/cm²<extra></extra>"},
        ]
    return traces


def _band_traces(name: str, band: dict[str, list[float]], x: list[float], colour: str | None) -> list[dict[str, Any]]:
    """Her personal 80% range (p10-p90, shaded) and its median (dashed) for one regimen (toggled with it)."""
    fill = (colour or "#444444") + "33"
    return [
        {"x": x, "y": band["p90"], "mode": "lines", "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip",
         "meta": name},
        {"x": x, "y": band["p10"], "mode": "lines", "line": {"width": 0}, "fill": "tonexty", "fillcolor": fill,
         "showlegend": False, "hoverinfo": "skip", "meta": name, "name": "her 80% range"},
        {"x": x, "y": band["p50"], "mode": "lines", "line": {"color": colour, "dash": "dash", "width": 1.5},
         "showlegend": False, "meta": name, "name": "her median",
         "hovertemplate": "year %{x:.1f}: her median %{y:.2f}<extra></extra>"},
    ]


def projection_layout(title: str, y_title: str, entries: int) -> dict[str, Any]:
    """The projection charts' layout: the legend below the plot, with room for every entry (a legend of five
    long names was cut off in a fixed 360-pixel chart)."""
    rows = (entries + 1) // 2
    return {**LAYOUT, "height": 340 + 22 * rows, "margin": {**LAYOUT["margin"], "b": 60 + 22 * rows},
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
            "title": {"text": title}, "xaxis": {"title": {"text": "years from today"}},
            "yaxis": {"title": {"text": y_title}}}


def projection_figures(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """T-score per site per regimen, with her personal bands where the twin is fitted, and the two 10-year
    fracture risks once a year (month 0, 12, ... 60)."""
    figures: dict[str, dict[str, Any]] = {}
    personal = result.get("personal") or {}
    bands = personal.get("bands") or {}
    shift = float(personal.get("months_since_month_0") or 0.0)
    for site in ("lumbar_spine", "total_hip"):
        traces = []
        for name, item in result["regimens"].items():
            trajectory = item["trajectory"]
            colour = REGIMEN_COLOURS.get(name)
            traces.append({"x": [m / 12 for m in trajectory["months"]], "y": trajectory[f"{site}_t_score"],
                           "mode": "lines", "name": item["short"], "meta": name, "line": {"color": colour},
                           "hovertemplate": "year %{x:.1f}: T %{y:.2f}<extra>%{fullData.name}</extra>"})
            band = (bands.get(name) or {}).get(f"{site}_t_score")
            if band:
                x = [round((m - shift) / 12, 3) for m in bands[name]["months"]]
                traces.extend(_band_traces(name, band, x, colour))
        layout = projection_layout(SITE_LABELS[site], "T-score", len(result["regimens"]))
        layout["shapes"] = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": -2.5, "y1": -2.5,
                             "line": {"dash": "dot", "color": "#999"}}]
        figures[site] = {"data": traces, "layout": layout}
    risk_fields = fracture_risk_fields(result)
    if risk_fields:
        traces = []
        for name, item in result["regimens"].items():
            trajectory = item["trajectory"]
            yearly = [i for i, m in enumerate(trajectory["months"]) if m % 12 == 0]
            for field in risk_fields:
                label, dash = RISK_CHART_FIELDS[field]
                traces.append({"x": [trajectory["months"][i] / 12 for i in yearly],
                               "y": [trajectory[field][i] for i in yearly], "mode": "lines+markers",
                               "name": f"{item['short']}: {label}", "meta": name,
                               "line": {"color": REGIMEN_COLOURS.get(name), "dash": dash}})
        figures["fracture_risk"] = {"data": traces, "layout": projection_layout(
            "Fracture risk (10-year, once a year)", "%", len(traces))}
    return figures


# The two 10-year probabilities a clinician reads (as FRAX reports them); the engine's any-clinical-fracture
# output stays in the JSON and the CLI, not on this chart (three lines per regimen were unreadable).
RISK_CHART_FIELDS = {
    "major_osteoporotic_fracture_10y_pct": ("major osteoporotic", "solid"),
    "hip_fracture_10y_pct": ("hip", "dash"),
}


def fracture_risk_fields(result: dict[str, Any]) -> list[str]:
    """The charted fracture-risk fields present in the trajectories, in RISK_CHART_FIELDS order."""
    first = next(iter(result["regimens"].values()), None)
    if first is None:
        return []
    trajectory = first["trajectory"]
    return [field for field in RISK_CHART_FIELDS if isinstance(trajectory.get(field), list) and trajectory[field]]
