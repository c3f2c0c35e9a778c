"""The clinician's summary of an Assessment: what to decide in a 15-minute visit, each line sourced.

Order: the decision card (what to do now, why, which guideline), alerts by urgency, where sources
differ, next scan and whether the last change is real, fracture risk with its caveats, the remaining
recommendations.
"""

from __future__ import annotations

from osteotwin.clinic.assessment import Assessment

CATEGORY_WORDS = {
    "normal": "normal BMD",
    "low_bone_mass": "low bone mass (osteopenia)",
    "osteoporosis": "osteoporosis",
    "below_expected_range_for_age": "below the expected range for age (Z <= -2.0)",
    "within_expected_range_for_age": "within the expected range for age",
    "unknown": "not classifiable (no usable DXA score)",
}
SITE_WORDS = {"lumbar_spine": "lumbar spine", "total_hip": "total hip", "femoral_neck": "femoral neck"}


def _tag(evidence: str) -> str:
    return {"V": "", "S": " [secondary source]", "ours": " [our assumption]"}.get(evidence, f" [{evidence}]")


def summary_text(a: Assessment) -> str:
    """A plain-text summary for a clinician (the non-JSON output of ``osteotwin assess``)."""
    c = a.classification
    d = a.decision
    lines: list[str] = [f"osteotwin bone-health assessment, {a.assessed_on.isoformat()}", "", "AT A GLANCE",
                        f"  NOW: {d.text}", f"  why: {d.reason} [{d.guideline}]",
                        f"  BMD: {CATEGORY_WORDS[a.who_category]}; AIBL risk factors: "
                        + (", ".join(d.risk_factors) or "none")]
    if a.alerts:
        lines.append(f"  alerts: {len(a.alerts)}, most urgent first ({a.alerts[0].urgency_words})")
    dxa = "now" if a.next_dxa_months == 0 else "no rule" if a.next_dxa_months is None else f"in {a.next_dxa_months} months"
    lines.append(f"  next DXA: {dxa}; sources differ on: "
                 + (", ".join(d.title for d in a.disagreements) or "nothing"))
    fr0 = a.fracture_risk
    lines.append(f"  10-year risk (osteotwin: QFracture-2009 x BMD x falls x AI; not built for AI users): osteoporotic "
                 f"{fr0.ten_year_osteoporotic_fracture_pct:.1f}%, hip {fr0.ten_year_hip_fracture_pct:.1f}%")
    lines.append("")
    score = ""
    if c.lowest_score is not None:
        kind = "T" if c.uses == "t_score" else "Z"
        score = f" (lowest {kind}-score {c.lowest_score:+.1f} at the {SITE_WORDS.get(c.lowest_site or '', c.lowest_site)})"
    lines.append(f"BMD: {CATEGORY_WORDS[a.who_category]}{score}. [{c.source}]")
    for note in c.notes:
        lines.append(f"  note: {note}")
    lines.append("")
    lines.append(f"DECISION: {d.text}")
    lines.append(f"  because: {d.reason}")
    lines.append(f"  follows: {d.guideline}")
    for rule in d.rules:
        follows = "" if rule.source.startswith(rule.follows) else f"; {rule.follows}"
        lines.append(f"  - {rule.text} [{rule.source}{follows}]{_tag(rule.evidence)} ({rule.id})")
    shown_ids = [rule.id for rule in d.rules]
    if a.alerts:
        lines += ["", "ALERTS (most urgent first):"]
        for alert in a.alerts:
            lines.append(f"  ! [{alert.urgency_words}] {alert.text} [{alert.source}]{_tag(alert.evidence)}")
    if a.disagreements:
        lines += ["", "WHERE SOURCES DIFFER (shown, not resolved):"]
        for d in a.disagreements:
            lines.append(f"  {d.title}:")
            for p in d.positions:
                lines.append(f"    - {p.source}: {p.says}{_tag(p.evidence)}")
    lines.append("")
    if a.next_dxa_months is None:
        lines.append("Next DXA: no interval rule applies.")
    elif a.next_dxa_months == 0:
        lines.append("Next DXA: now (baseline).")
    else:
        lines.append(f"Next DXA: in {a.next_dxa_months} months (shortest interval given; "
                     + "; ".join(f"{i.source}: {i.months} mo" for i in a.dxa_intervals) + ").")
    for series in a.monitoring:
        change = series.changes_since_previous[-1] if series.changes_since_previous else None
        if change is None:
            continue
        site = SITE_WORDS[series.site]
        if change.is_significant is None:
            verdict = "not comparable" + (f" ({change.note})" if change.note else "")
        else:
            verdict = "REAL change" if change.is_significant else "within measurement error"
        annual = "" if change.annualised_pct_per_year is None else f", {change.annualised_pct_per_year:+.1f}%/year"
        lines.append(f"  {site}: {change.change_pct:+.1f}% since {change.from_date}{annual}; LSC {change.lsc_pct:.1f}% "
                     f"({series.precision_source} precision) -> {verdict}.")
    fr = a.fracture_risk
    lines += ["", f"Fracture risk, 10 years ({fr.model}):"]
    for est in fr.estimates:
        ext = " [our extension]" if est.our_extension else ""
        lines.append(f"  {est.label}: osteoporotic {est.osteoporotic_fracture_10y_pct:.1f}%, "
                     f"hip {est.hip_fracture_10y_pct:.1f}%{ext}")
    if fr.frax:
        over = "meets" if fr.frax.over_us_threshold else "is below"
        lines.append(f"  FRAX (supplied): MOF {fr.frax.major_osteoporotic_10y_pct:g}%, hip {fr.frax.hip_10y_pct:g}% "
                     f"{over} the US threshold ({fr.frax.thresholds}).")
    if fr.garvan:
        lines.append(f"  Garvan (points approximation) [secondary source]: 10-year any fracture {fr.garvan.ten_year_any_fracture}.")
    for caveat in fr.caveats:
        lines.append(f"  caveat: {caveat}")
    if a.projection is not None:
        p = a.projection
        lines += ["", f"Projection by the osteotwin engine (simulation, not a guideline): without -> with {p.bone_agent}"]
        for without, with_ in zip(p.without_bone_agent, p.with_bone_agent, strict=False):
            hip_risk = ""
            if without.hip_fracture_10y_pct is not None and with_.hip_fracture_10y_pct is not None:
                hip_risk = f"; 10-y hip fracture {without.hip_fracture_10y_pct:.1f}% -> {with_.hip_fracture_10y_pct:.1f}%"
            lines.append(f"  at {without.months // 12} y: spine T {without.lumbar_spine_t_score:+.1f} -> "
                         f"{with_.lumbar_spine_t_score:+.1f}; total hip T {without.total_hip_t_score:+.1f} -> "
                         f"{with_.total_hip_t_score:+.1f}{hip_risk} [our extension]")
        for caveat in p.caveats:
            lines.append(f"  caveat: {caveat}")
    elif a.projection_note:
        lines += ["", f"Projection: {a.projection_note}"]
    shown = set(shown_ids)
    rest = [r for r in a.recommendations if r.id not in shown]
    if rest:
        lines += ["", "Other recommendations:"]
        for rec in rest:
            lines.append(f"  - {rec.text} [{rec.source}]{_tag(rec.evidence)}")
            for other in rec.also:
                lines.append(f"      also {other}")
    if a.warnings:
        lines += ["", "Input warnings:"] + [f"  - {w}" for w in a.warnings]
    lines += ["", a.disclaimer]
    return "\n".join(lines)
