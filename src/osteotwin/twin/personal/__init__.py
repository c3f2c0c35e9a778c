"""The personal twin (issue 15): her own turnover per site fitted to her DXA series and her CTX and P1NP, her
projections per regimen and expected-against-observed scan checks. ``fit_record(record)`` is the entry point."""

from osteotwin.twin.personal.fit import FITTED_PARAMETERS, Posterior, fit_posterior
from osteotwin.twin.personal.inputs import PersonalInputs, personal_inputs
from osteotwin.twin.personal.prior import (
           TransformedGaussianPrior,
           calibration_prior,
           default_prior,
           population_prior,
)
from osteotwin.twin.personal.projections import project, regimens
from osteotwin.twin.personal.scan_checks import ScanCheck, predictive_samples, scan_checks
from osteotwin.twin.personal.twin import PersonalTwin, fit_record

__all__ = ["FITTED_PARAMETERS", "PersonalInputs", "PersonalTwin", "Posterior", "ScanCheck", "TransformedGaussianPrior",
           "calibration_prior", "default_prior", "fit_posterior", "fit_record", "personal_inputs", "population_prior",
           "predictive_samples", "project", "regimens", "scan_checks"]
