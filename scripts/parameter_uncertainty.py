"""Write the calibration's parameter uncertainty that ``simulate --intervals`` draws from
(src/osteotwin/data/parameter_uncertainty.json; twin/intervals.py).

Usage: ``python scripts/parameter_uncertainty.py`` (about a minute: one Jacobian of the joint fit's
residuals). Run it after every refit (scripts/calibrate.py --write).

Method: a Laplace approximation of the posterior of the joint core + drug fit at the shipped values, on
the logit of each parameter's position s in its prior range, z = logit(s). The likelihood's curvature is
the Gauss-Newton information J^T J of the standardised residuals (population/calibration/fit.py:
residuals in units of each row's standard error), moved to the logit scale by the chain rule
(dz = ds / (s (1 - s))); the prior is the one the personal twin uses (twin/personal/prior.py: z ~ N(logit
of the shipped value, SD_Z^2), so that the prior range is about its 95% interval). Posterior covariance
= (J_z^T J_z + I / SD_Z^2)^-1: combinations of parameters the rows pin down stay tight, and a parameter
the rows say nothing about keeps its prior spread instead of an undefined one. Parameters at a prior
bound (fit.at_bound) are left out and held at their value (the approximation is undefined there).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from osteotwin.physiology.parameters import registry
from osteotwin.population.calibration import fit
from osteotwin.twin.personal.prior import SD_Z

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src/osteotwin/data/parameter_uncertainty.json"


def main() -> int:
    ident = fit.identifiability("all")
    bounded = {name for name, *_ in fit.at_bound()}
    keep = [i for i, name in enumerate(ident.names) if name not in bounded]
    names = [ident.names[i] for i in keep]
    table = registry()
    low = np.array([table[n].prior_range[0] for n in names])
    high = np.array([table[n].prior_range[1] for n in names])
    share = (ident.values[keep] - low) / (high - low)
    ds_dz = share * (1.0 - share)  # s = sigmoid(z)
    information_z = ident.information[np.ix_(keep, keep)] * np.outer(ds_dz, ds_dz)
    covariance = np.linalg.inv(information_z + np.eye(len(names)) / SD_Z**2)
    covariance = 0.5 * (covariance + covariance.T)
    prior_share = np.sqrt(np.diag(covariance)) / SD_Z  # posterior SD as a share of the prior SD
    data = {
        "method": "Laplace approximation of the joint core and drug fit at the shipped values (Gauss-Newton "
                  "information of the calibration rows plus the personal twin's prior), on the logit of each "
                  "parameter's position in its prior range; scripts/parameter_uncertainty.py",
        "parameters": names,
        "logit_sd": np.round(np.sqrt(np.diag(covariance)), 6).tolist(),
        "covariance_logit": np.round(covariance, 8).tolist(),
        "held_at_bound": sorted(n for n in ident.names if n in bounded),
        "prior_dominated": [n for n, r in zip(names, prior_share, strict=True) if r > 0.9],
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(names)} parameters, {len(data['held_at_bound'])} held at a bound, "
          f"{len(data['prior_dominated'])} left near their prior (posterior SD > 90% of the prior's)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
