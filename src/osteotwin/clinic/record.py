"""PatientRecord: the input contract of ``osteotwin assess`` (e.g. examples/patients/design_example.json).

A record is what a clinician has at the visit: who the patient is, clinical risk factors, the DXA
series, labs, medications, the cancer context and (optionally) a FRAX result computed elsewhere.
Field names carry their units. Impossible values are refused (pydantic); unusual but possible
values are accepted and reported by :func:`record_warnings`.

Plausibility ranges marked "ours" are our own bounds, not published limits.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from osteotwin import catalog
from osteotwin.scenario import QFractureConditions

DxaSite = Literal[catalog.DXA_SITES]  # type: ignore[valid-type]
DxaDevice = Literal["hologic", "ge_lunar", "norland", "other", "unknown"]
MenopausalStatus = Literal["postmenopausal", "premenopausal", "perimenopausal"]
LabTest = Literal["vitamin_d_25_oh", "creatinine_clearance", "calcium", "ctx", "p1np"]
# Drug names from the one catalog (osteotwin/catalog.py); a record may list clodronate, which the engine does not dose.
AROMATASE_INHIBITORS: frozenset[str] = frozenset(catalog.AROMATASE_INHIBITORS)
BONE_AGENTS: frozenset[str] = frozenset((*catalog.BONE_AGENTS, *catalog.RECORDED_ONLY_BONE_AGENTS))
BISPHOSPHONATES: frozenset[str] = BONE_AGENTS - {"denosumab"}
OVARIAN_SUPPRESSION: frozenset[str] = frozenset(catalog.OVARIAN_SUPPRESSION_DRUGS)
ASSESSED_DRUGS: tuple[str, ...] = (*catalog.ENDOCRINE_DRUGS, *catalog.OVARIAN_SUPPRESSION_DRUGS, *catalog.BONE_AGENTS,
                                   *catalog.RECORDED_ONLY_BONE_AGENTS)
AromataseInhibitor = Literal[catalog.AROMATASE_INHIBITORS]  # type: ignore[valid-type]
BoneAgentName = Literal[tuple(sorted(BONE_AGENTS))]  # type: ignore[valid-type]
OtherEndocrine = Literal[("tamoxifen", *catalog.OVARIAN_SUPPRESSION_DRUGS)]  # type: ignore[valid-type]
MedicationName = Literal[ASSESSED_DRUGS]  # type: ignore[valid-type]

#: Allowed units per lab test; values are converted to the first unit on reading.
LAB_UNITS: dict[str, tuple[str, ...]] = {
    "vitamin_d_25_oh": ("ng/mL", "nmol/L"),
    "creatinine_clearance": ("mL/min",),
    "calcium": ("mmol/L", "mg/dL"),
    # Bone turnover markers (IOF-IFCC reference markers; Vasikaran et al., Osteoporos Int 2011;22:391): serum
    # beta-CTX (beta-CrossLaps) in ng/L = pg/mL (ng/mL x 1000), P1NP in ug/L = ng/mL. The personal twin fits
    # their change from her own first value (twin/personal/inputs.py).
    "ctx": ("ng/L", "pg/mL", "ng/mL"),
    "p1np": ("ug/L", "ng/mL"),
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


#: A FHIR ``date``: YYYY, YYYY-MM or YYYY-MM-DD (HL7 FHIR R4, datatypes: date).
FHIR_DATE_PATTERN = r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"


class PatientIdentifier(_Model):
    """A record number (e.g. the hospital MRN) with the system that issued it (FHIR Identifier)."""

    system: str | None = Field(None, max_length=200, description="Issuer namespace (URI), e.g. urn:oid:...")
    value: str = Field(min_length=1, max_length=100)


class PatientInfo(_Model):
    """Who the patient is. Sex is not asked: the rules encoded are for women (AIBL).

    ``name``, ``birth_date`` and ``identifier`` are optional and used only to carry the patient's
    identity through FHIR import and export; the rules use ``age_years``."""

    name: str | None = Field(None, max_length=200)
    birth_date: str | None = Field(None, pattern=FHIR_DATE_PATTERN,
                                   description="Birth date as given (FHIR date: YYYY, YYYY-MM or YYYY-MM-DD).")
    identifier: PatientIdentifier | None = None
    age_years: float = Field(ge=18, le=110, description="Age at the visit (ours: 18-110).")
    menopausal_status: MenopausalStatus = "postmenopausal"
    years_since_menopause: float | None = Field(None, ge=0, le=70, description="Used by the engine projection.")
    weight_kg: float = Field(ge=25, le=300, description="Body weight (ours: 25-300 kg).")
    height_cm: float = Field(ge=100, le=230, description="Standing height (ours: 100-230 cm).")

    @property
    def bmi_kg_m2(self) -> float:
        return self.weight_kg / (self.height_cm / 100.0) ** 2


class RiskFactors(_Model):
    """Clinical risk factors for fracture (AIBL list of Hadji 2017; QFracture-2009 inputs)."""

    current_smoker: bool = False
    former_smoker: bool = False
    cigarettes_per_day: float | None = Field(None, ge=0, le=100)
    family_history_hip_fracture: bool = False
    prior_fragility_fracture: bool = False
    fragility_fracture_sites: list[Literal["hip", "vertebra", "wrist", "other"]] = Field(default_factory=list)
    fracture_in_last_12_months: bool = False
    oral_glucocorticoid_months: float = Field(0, ge=0, le=1200)
    falls_last_12_months: int = Field(0, ge=0, le=365)
    alcohol_units_per_day: float = Field(0, ge=0, le=60)
    height_loss_cm_historical: float | None = Field(None, ge=0, le=40, description="Loss vs tallest adult height.")
    height_loss_cm_prospective: float | None = Field(None, ge=0, le=40, description="Measured loss between visits.")
    acute_back_pain: bool = False

    @model_validator(mode="after")
    def _sites_need_fracture(self) -> RiskFactors:
        if self.fragility_fracture_sites and not self.prior_fragility_fracture:
            raise ValueError(
                "fragility_fracture_sites: sites given but prior_fragility_fracture is false; "
                "allowed: set prior_fragility_fracture to true or leave the sites empty"
            )
        return self


class Conditions(QFractureConditions):
    """Comorbidities: the QFracture-2009 booleans (Hippisley-Cox & Coupland, BMJ 2009)."""
    family_history_osteoporosis: bool = False


class CancerContext(_Model):
    """The oncological context that changes which rules apply."""

    early_breast_cancer: bool = True
    adjuvant_systemic_therapy_candidate: bool = False
    recurrence_risk: Literal["low", "intermediate", "high"] | None = None
    bone_metastases: bool = False


class DxaMeasurement(_Model):
    """One DXA result at one site. Store the raw g/cm2, the device make and the reported scores."""

    date: date
    site: DxaSite
    bmd_g_cm2: float | None = Field(None, gt=0.2, lt=2.5, description="Areal BMD (ours: 0.2-2.5 g/cm2).")
    t_score: float | None = Field(None, ge=-7, le=7, description="Device-reported T-score (ours: -7 to 7).")
    z_score: float | None = Field(None, ge=-7, le=7, description="Device-reported Z-score (ours: -7 to 7).")
    device: DxaDevice = "unknown"
    device_model: str | None = Field(None, max_length=80)

    @model_validator(mode="after")
    def _something_measured(self) -> DxaMeasurement:
        if self.bmd_g_cm2 is None and self.t_score is None and self.z_score is None:
            raise ValueError("bmd_g_cm2: a DXA entry needs at least one of bmd_g_cm2, t_score, z_score")
        return self


class SitePrecision(_Model):
    """A facility's measured precision at one site (ISCD: RMS-SD in g/cm2 preferred; %CV accepted)."""

    rms_sd_g_cm2: float | None = Field(None, gt=0, le=0.1)
    cv_pct: float | None = Field(None, gt=0, le=10)

    @model_validator(mode="after")
    def _one_of(self) -> SitePrecision:
        if self.rms_sd_g_cm2 is None and self.cv_pct is None:
            raise ValueError("rms_sd_g_cm2: give rms_sd_g_cm2 or cv_pct")
        return self


class LabResult(_Model):
    date: date
    test: LabTest
    value: float = Field(ge=0, le=10000)
    unit: str
    reference_low: float | None = Field(None, ge=0, description="The reporting lab's lower reference limit (same unit).")
    comparator: Literal["<", "<=", ">=", ">"] | None = Field(
        None, description="Set when the lab reported a limit (e.g. '<20'), not a measured value (FHIR Quantity.comparator).")

    @model_validator(mode="after")
    def _unit_allowed(self) -> LabResult:
        allowed = LAB_UNITS[self.test]
        if self.unit not in allowed:
            raise ValueError(f"unit = {self.unit!r} for {self.test}: allowed {', '.join(allowed)}")
        return self

    def value_in_standard_unit(self) -> float:
        """The value in the first unit of LAB_UNITS (ng/mL, mL/min, mmol/L, ng/L, ug/L)."""
        return _convert(self.test, self.value, self.unit)

    def reference_low_in_standard_unit(self) -> float | None:
        return None if self.reference_low is None else _convert(self.test, self.reference_low, self.unit)


#: nmol/L per ng/mL of 25-hydroxyvitamin D (molar mass of 25(OH)D3 400.64 g/mol).
NMOL_PER_NG_25OHD = 2.496


def _convert(test: str, value: float, unit: str) -> float:
    # 25(OH)D: 1 ng/mL = 2.496 nmol/L (molar mass of 25-hydroxyvitamin D3, 400.64 g/mol: 1000 / 400.64);
    # calcium 1 mmol/L = 4.008 mg/dL (molar mass 40.08 g/mol).
    if test == "vitamin_d_25_oh" and unit == "nmol/L":
        return value / NMOL_PER_NG_25OHD
    if test == "calcium" and unit == "mg/dL":
        return value / 4.008
    if test == "ctx" and unit == "ng/mL":  # 1 ng/mL = 1000 ng/L; pg/mL = ng/L (SI prefixes)
        return value * 1000.0
    return value


class Medication(_Model):
    """A medication: a course (start/stop dates) or, for injections and infusions, dated doses."""

    drug: MedicationName
    start_date: date | None = None
    stop_date: date | None = None
    dose_mg: float | None = Field(None, gt=0, le=5000)
    dates: list[date] = Field(default_factory=list, description="Dates of each dose (denosumab, zoledronic acid).")
    planned_stop_date: date | None = None

    @model_validator(mode="after")
    def _dates(self) -> Medication:
        if self.start_date is None and not self.dates:
            raise ValueError(f"start_date: {self.drug} needs start_date or a list of dose dates")
        if self.start_date and self.stop_date and self.stop_date < self.start_date:
            raise ValueError(f"stop_date = {self.stop_date}: must not be before start_date = {self.start_date}")
        return self

    @property
    def first_date(self) -> date:
        candidates = [d for d in [self.start_date, *self.dates] if d is not None]
        return min(candidates)

    @property
    def last_dose_date(self) -> date | None:
        return max(self.dates) if self.dates else None


class FraxResult(_Model):
    """A FRAX result computed elsewhere (FRAX is proprietary; we only apply published thresholds to it)."""

    major_osteoporotic_10y_pct: float = Field(ge=0, le=100)
    hip_10y_pct: float = Field(ge=0, le=100)
    country: str = Field("US", max_length=40, description="FRAX country model; the thresholds are US-FRAX.")
    with_bmd: bool = True


class PatientRecord(_Model):
    """The input of ``osteotwin assess``: one patient's record at a visit."""

    patient: PatientInfo
    risk_factors: RiskFactors = Field(default_factory=RiskFactors)
    conditions: Conditions = Field(default_factory=Conditions)
    cancer: CancerContext = Field(default_factory=CancerContext)
    dxa: list[DxaMeasurement] = Field(default_factory=list)
    facility_precision: dict[DxaSite, SitePrecision] = Field(default_factory=dict)
    labs: list[LabResult] = Field(default_factory=list)
    medications: list[Medication] = Field(default_factory=list)
    frax: FraxResult | None = None
    planned_ai_years: float = Field(5, gt=0, le=15, description="Planned AI duration (default 5 years: ours).")

    @field_validator("dxa")
    @classmethod
    def _no_duplicate_scan(cls, value: list[DxaMeasurement]) -> list[DxaMeasurement]:
        seen: set[tuple[date, str]] = set()
        for index, item in enumerate(value):
            key = (item.date, item.site)
            if key in seen:
                raise ValueError(
                    f"dxa[{index}]: two results for {item.site} on {item.date}; allowed: one result per site and date"
                )
            seen.add(key)
        return value


def record_warnings(record: PatientRecord, today: date) -> list[str]:
    """Unusual but possible input: accepted and reported."""
    warnings: list[str] = []
    bmi = record.patient.bmi_kg_m2
    if bmi < 16 or bmi > 45:
        warnings.append(f"patient: BMI {bmi:.1f} kg/m2 is outside 16-45; check weight and height")
    for item in record.dxa:
        if item.date > today:
            warnings.append(f"dxa: a scan is dated {item.date}, after the assessment date {today}")
    for lab in record.labs:
        if lab.date > today:
            warnings.append(f"labs: {lab.test} is dated {lab.date}, after the assessment date {today}")
        if lab.comparator is not None:
            warnings.append(f"labs: {lab.test} on {lab.date} was reported as '{lab.comparator}{lab.value:g} {lab.unit}', "
                            f"a limit rather than a measurement; the rules read it as {lab.value:g}")
    if record.patient.menopausal_status != "postmenopausal" and any(
        m.drug in AROMATASE_INHIBITORS for m in record.medications
    ) and not any(m.drug in OVARIAN_SUPPRESSION for m in record.medications):
        warnings.append(
            "medications: an aromatase inhibitor without ovarian suppression in a woman who is not postmenopausal"
        )
    return warnings
