"""The publications behind every rule, threshold and coefficient of the clinic module.

Evidence tags (also in docs/clinic.md):
``V`` checked against the primary source or its abstract; ``S`` checked only against a secondary page
(summary, drug-label excerpt quoted by a clinical page, public code); ``ours`` our own assumption.
Items the research notes tag ``R`` (recalled, unverified) are not encoded as rules; where a recalled
cut-off is used (two AIBL risk-factor cut-offs), the rule output says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EvidenceTag = Literal["V", "S", "R", "ours"]

TAG_MEANING: dict[str, str] = {
    "V": "verified against the primary source or its abstract",
    "S": "verified only against a secondary source; confirm before production use",
    "R": "recalled, not verified against any stored text",
    "ours": "our own assumption, not a published value",
}


@dataclass(frozen=True)
class Source:
    id: str
    short: str
    citation: str


SOURCES: dict[str, Source] = {
    s.id: s
    for s in [
        Source("hadji2017", "Hadji 2017 (AIBL joint position statement)",
               "Hadji P, Aapro MS, Body JJ, et al. Management of aromatase inhibitor-associated bone loss "
               "(AIBL) in postmenopausal women with hormone sensitive breast cancer: joint position statement "
               "of the IOF, CABS, ECTS, IEG, ESCEO, IMS and SIOG. J Bone Oncol 2017;7:1-12. "
               "doi:10.1016/j.jbo.2017.03.001 (PMC5384888)"),
        Source("hadji2025", "Hadji 2025 (AIBL joint position statement, update)",
               "Hadji P, Aapro M, Al-Daghri N, et al. Management of aromatase inhibitor-associated bone loss (AIBL) "
               "in women with hormone-sensitive breast cancer: an updated joint position statement of the IOF, "
               "CABS, ECTS, IEG, ESCEO, IMS, and SIOG. J Bone Oncol 2025;53:100694. "
               "doi:10.1016/j.jbo.2025.100694 (PubMed abstract read in part; full text not read)"),
        Source("hadji2011", "Hadji 2011 (AIBL practical guidance)",
               "Hadji P, Aapro MS, Body JJ, et al. Management of aromatase inhibitor-associated bone loss in "
               "postmenopausal women with breast cancer: practical guidance for prevention and treatment. Ann Oncol "
               "2011;22:2546-55 (abstract, as reproduced by a third-party page)"),
        Source("asco2019", "ASCO 2019 (bone health in cancer survivors)",
               "Shapiro CL, Van Poznak C, Lacchetti C, et al. ASCO guideline on osteoporosis in survivors of "
               "adult cancers with non-metastatic disease. J Clin Oncol 2019;37(31):2916-46. "
               "doi:10.1200/JCO.19.01696 (Guideline Central pocket version)"),
        Source("bhof2022", "BHOF 2022 (clinician's guide)",
               "LeBoff MS, Greenspan SL, Insogna KL, et al. The clinician's guide to prevention and treatment "
               "of osteoporosis. Osteoporos Int 2022;33:2049-2102. doi:10.1007/s00198-021-05900-y"),
        Source("aus2019", "Australian position statement 2019 (AIBL)",
               "Australian position statement on aromatase inhibitor-associated bone loss. Med J Aust "
               "2019;211:224-9. doi:10.5694/mja2.50280"),
        Source("ebctcg2015", "EBCTCG 2015 (adjuvant bisphosphonates meta-analysis)",
               "Early Breast Cancer Trialists' Collaborative Group (EBCTCG), individual-patient-data meta-analysis "
               "of adjuvant bisphosphonates. Lancet 2015;386:1353-61. doi:10.1016/S0140-6736(15)60908-4"),
        Source("asco_cco2017", "ASCO/CCO 2017 (adjuvant bone-modifying agents)",
               "Dhesy-Thind S, et al. ASCO/Cancer Care Ontario guideline on adjuvant bisphosphonates and other "
               "bone-modifying agents in breast cancer. J Clin Oncol 2017;35(18):2062-81 (abstract)"),
        Source("asco_oh2022", "ASCO-OH (CCO) 2022 update",
               "Eisen A, et al. ASCO-Ontario Health (CCO) guideline update on adjuvant bone-modifying agents in "
               "breast cancer. J Clin Oncol 2022 (PubMed abstract)"),
        Source("hba2021", "Healthy Bones Australia 2021 (denosumab discontinuation)",
               "Healthy Bones Australia position on stopping denosumab (2021), as summarised by Medicine Today "
               "2024; see also the Prolia prescribing information, warning on multiple vertebral fractures "
               "after discontinuation"),
        Source("prolia_label", "Prolia (denosumab) prescribing information",
               "Prolia (denosumab) US prescribing information, Amgen: Warnings and Precautions 5.1 "
               "(hypocalcaemia: pre-existing hypocalcaemia must be corrected before initiating) and 5.4 "
               "(osteonecrosis of the jaw: oral examination before starting)"),
        Source("bp_labels", "Bisphosphonate prescribing information (renal limits)",
               "US prescribing information: Reclast (zoledronic acid 5 mg) contraindicated at creatinine "
               "clearance < 35 mL/min; Fosamax (alendronate) not recommended at < 35 mL/min; risedronate and "
               "ibandronate not recommended at < 30 mL/min (as quoted by Medscape and KDOQI summaries)"),
        Source("iscd2006", "ISCD 2005 official positions",
               "International Society for Clinical Densitometry 2005 official positions. J Clin Densitom "
               "2006;9:22-30"),
        Source("who_racgp", "WHO diagnostic categories (as given by RACGP)",
               "WHO T-score categories for postmenopausal women; classification on the lowest T-score of "
               "lumbar spine, total hip and femoral neck (RACGP osteoporosis guideline; ISCD)"),
        Source("iscd_precision", "ISCD precision assessment",
               "ISCD precision calculator: least significant change = 2.77 x precision error (95% confidence); "
               "precision as RMS-SD in g/cm2; repeat after a scanner change"),
        Source("hologic_precision", "Hologic precision white paper",
               "Hologic white paper reviewing 57 studies of short-term DXA precision: AP spine CV 1.08% "
               "(Hologic) and 1.22% (GE Lunar); femoral neck 1.50% and 1.97%; total hip about 1.3%"),
        Source("nccn2009", "NCCN Task Force 2009 (bone health in cancer care)",
               "NCCN Task Force Report: Bone Health in Cancer Care. J Natl Compr Canc Netw "
               "2009;7(Suppl 3):S1-35 (PMC3047404); updated JNCCN 2013;11(Suppl 3)"),
        Source("iom2011", "IOM 2011 (dietary reference intakes for calcium and vitamin D)",
               "Institute of Medicine. Dietary Reference Intakes for Calcium and Vitamin D. 2011 "
               "(25(OH)D < 12 ng/mL deficient, 12-20 inadequate, >= 20 adequate)"),
        Source("endo2024", "Endocrine Society 2024 (vitamin D)",
               "Demay MB, et al. Endocrine Society clinical practice guideline on vitamin D. J Clin Endocrinol "
               "Metab 2024;109(8):1907-47. doi:10.1210/clinem/dgae290"),
        Source("qfracture2009", "QFracture-2009",
               "Hippisley-Cox J, Coupland C. BMJ 2009;339:b4229. Coefficients from the open-source 2009 release (LGPL-3, ClinRisk Ltd)"),
        Source("johnell2005", "Johnell 2005 (gradient of risk per SD of BMD)",
               "Johnell O, et al. J Bone Miner Res 2005;20:1185-94. doi:10.1359/JBMR.050304 "
               "(12 cohorts, 29,082 women)"),
        Source("tseng2018", "Tseng 2018 (AI and fracture meta-analysis)",
               "Tseng et al. Ther Adv Musculoskelet Dis 2018;10:71-90. doi:10.1177/1759720X18759291 "
               "(meta-analysis of AI use and fracture)"),
        Source("garvan2008", "Garvan nomogram (points approximation)",
               "Nguyen ND, et al. Osteoporos Int 2008;19:1431-44 (Dubbo study); points approximation as transcribed by "
               "medicalalgorithms.com (third party)"),
        Source("nhanes3_looker1998", "NHANES III femoral neck reference",
               "Looker 1998, Osteoporos Int 8:468-89 (NHANES III): femoral neck young-adult white women mean 0.858, SD 0.120 g/cm2"),
        Source("dxa_crossmake", "Cross-manufacturer DXA differences",
               "Spine T-scores and BMD differ between manufacturers (J Clin Densitom 2003;6:1-6; "
               "Eur J Radiol 2007: Hologic 0.950 vs Lunar 1.068 g/cm2 in the same women)"),
        Source("esmo_mets", "ESMO 2020 bone metastases (summary)",
               "ESMO Bone Health in Cancer guideline 2020, metastatic-setting summary (univadis 2020): "
               "start zoledronic acid or denosumab for bone metastases (I, A)"),
        Source("sg_algorithm", "Singapore cancer-centre bone algorithm",
               "Singapore MOH-style AIBL algorithm (cancernetwork.sg): T > -1 rescreen at 1 year then every "
               "1-2 years; T -1.0 to -1.5 yearly; T -1.5 to -2.0 check 25(OH)D and consider a bisphosphonate "
               "by risk factors; T < -2.0 check 25(OH)D and treat"),
        Source("ours", "osteotwin (our assumption)", "osteotwin team: our own assumption, not a published value"),
    ]
}


def cite(source_id: str) -> str:
    """The short citation shown next to an output line."""
    return SOURCES[source_id].short
