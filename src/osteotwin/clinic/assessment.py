"""Assessment: the output of ``osteotwin assess`` (``.model_dump(mode="json")`` is the --json form)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, computed_field

from osteotwin.clinic.fracture_risk import FractureRisk
from osteotwin.clinic.monitoring import SiteSeries

WhoCategory = Literal["normal", "low_bone_mass", "osteoporosis", "below_expected_range_for_age",
                      "within_expected_range_for_age", "unknown"]


class Recommendation(BaseModel):
    id: str
    text: str
    source: str
    strength: str
    evidence: str = Field(description="V verified primary, S secondary only, ours = our assumption")
    citation: str
    follows: str = Field(description="the guideline (and AIBL statement version) the recommendation follows")
    also: list[str] = Field(default_factory=list, description=(
        "the same advice from other sources, merged into this line (rule id, source and what it says)"))


class Alert(BaseModel):
    id: str
    text: str
    source: str
    rule_id: str
    evidence: str
    urgency: int = Field(description="1 most urgent; rules.URGENCY_WORDS says what each level means")
    urgency_words: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fingerprint(self) -> str:
        """The first 16 hex digits of the SHA-256 of the text: an acknowledgement holds while the text is the same."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


DecisionAction = Literal["out_of_scope", "give_denosumab_now", "do_not_stop_denosumab", "next_dose_due",
                         "continue", "switch", "treat_after_fracture", "start", "consider", "no_agent_now"]


class DecisionRule(BaseModel):
    """One rule behind the decision (the "why" of the decision card)."""

    id: str
    text: str
    follows: str
    source: str
    evidence: str


class Decision(BaseModel):
    """What to do now about a bone agent, given current treatment (clinic/decision.py)."""

    action: DecisionAction
    text: str = Field(description="one line: what to do now")
    reason: str = Field(description="why, in a clinician's words")
    guideline: str = Field(description="the guideline(s) the decision follows, with the AIBL version")
    rules: list[DecisionRule] = Field(description="the rules that fired for this decision")
    current_agents: list[str] = Field(default_factory=list, description="bone agents in effect today")
    next_dose_due: date | None = None
    risk_factors: list[str] = Field(default_factory=list, description="AIBL risk factors present, in words")
    basis: str = Field(description="how the action is chosen among the rules (ours)")


class Position(BaseModel):
    rule_id: str
    source: str
    says: str
    evidence: str


class Disagreement(BaseModel):
    topic: str
    title: str = Field(description="the topic in words (rules.TOPIC_WORDS)")
    positions: list[Position]


class DxaInterval(BaseModel):
    rule_id: str
    months: int
    source: str
    text: str


class Classification(BaseModel):
    who_category: WhoCategory
    uses: Literal["t_score", "z_score", "none"]
    lowest_score: float | None
    lowest_site: str | None
    sites: dict[str, float]
    source: str
    notes: list[str]


class ProjectionPoint(BaseModel):
    months: int
    lumbar_spine_t_score: float
    total_hip_t_score: float
    lumbar_spine_bmd_pct_change: float
    total_hip_bmd_pct_change: float
    hip_fracture_10y_pct: float | None = None
    osteoporotic_fracture_10y_pct: float | None = None


class Projection(BaseModel):
    """Engine projection with and without the recommended bone agent (simulation, not a guideline)."""

    bone_agent: str
    without_bone_agent: list[ProjectionPoint]
    with_bone_agent: list[ProjectionPoint]
    method: str
    caveats: list[str]


class Assessment(BaseModel):
    assessed_on: date
    who_category: WhoCategory
    classification: Classification
    bone_agent_indicated: bool
    because: list[str] = Field(description="ids of the indication rules that fired")
    considered_because: list[str] = Field(description="ids of 'consider' rules that fired")
    deferred_by: list[str] = Field(description="ids of 'defer' rules that fired")
    risk_factors: list[str]
    risk_factor_notes: list[str]
    next_dxa_months: int | None
    next_dxa_rule: str = "ours: the shortest of the intervals the sources give (all listed in dxa_intervals)"
    dxa_intervals: list[DxaInterval]
    decision: Decision
    recommendations: list[Recommendation]
    alerts: list[Alert] = Field(description="ordered by urgency (rules.URGENCY_WORDS), then rule order")
    disagreements: list[Disagreement]
    fracture_risk: FractureRisk
    monitoring: list[SiteSeries]
    projection: Projection | None = None
    projection_note: str | None = None
    fired_rules: list[str]
    warnings: list[str]
    disclaimer: str = (
        "Decision support from published guidelines; not a substitute for clinical judgement. "
        "Evidence tags: V verified against the primary source, S secondary source only, ours = our assumption."
    )
