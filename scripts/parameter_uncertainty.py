"""Write the calibration's parameter uncertainty that ``simulate --intervals`` draws from
(src/osteotwin/data/parameter_uncertainty.json; twin/intervals.py).

Usage: ``python scripts/parameter_uncertainty.py`` (about a minute: one Jacobian of the joint fit's
residuals). Run it after every refit (scripts/calibrate.py --write).

Method: the Gauss-Newton covariance of the joint core + drug fit at the shipped values
(population/calibration/fit.identifiability: residuals in units of each row's standard error, so
(J^T J)^-1 approximates the posterior covariance under flat priors inside the prior ranges), moved
from prior-range units to the logit of each parameter's position in its range (the delta method:
dz/ds = 1 / (s (1 - s)) at position s). Parameters at a prior bound (fit.at_bound) are left out and
held at their value: the Laplace approximation is undefined there. A parameter the rows do not
identify gets a logit SD capped at MAX_LOGIT_SD: drawn that way it spreads over most of its prior
range (a logistic-normal with SD 1.8 is close to uniform) rather than piling up at both bounds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from osteotwin.physiology.parameters import registry
from osteotwin.population.calibration import fit

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src/osteotwin/data/parameter_uncertainty.json"
MAX_LOGIT_SD = 1.8  # ours: a logistic-normal with this SD is close to uniform over the range (see docstring)


def main() -> int:
    ident = fit.identifiability("all")
    bounded = {name for name, *_ in fit.at_bound()}
    keep = [i for i, name in enumerate(ident.names) if name not in bounded]
    names = [ident.names[i] for i in keep]
    table = registry()
    low = np.array([table[n].prior_range[0] for n in names])
    high = np.array([table[n].prior_range[1] for n in names])
    share = (ident.values[keep] - low) / (high - low)
    derivative = 1.0 / (share * (1.0 - share))
    sd_share = ident.half_width_share[keep] / 1.96
    sd_logit = np.minimum(sd_share * derivative, MAX_LOGIT_SD)
    correlation = ident.correlation[np.ix_(keep, keep)]
    covariance = correlation * np.outer(sd_logit, sd_logit)
    eigenvalues, vectors = np.linalg.eigh(0.5 * (covariance + covariance.T))
    covariance = (vectors * np.clip(eigenvalues, 0.0, None)) @ vectors.T  # nearest PSD (pinv leaves tiny negatives)
    data = {
        "method": "Laplace (Gauss-Newton) approximation of the joint core and drug fit at the shipped values, on the "
                  "logit of each parameter's position in its prior range; scripts/parameter_uncertainty.py",
        "parameters": names,
        "logit_sd": np.round(np.sqrt(np.diag(covariance)), 6).tolist(),
        "covariance_logit": np.round(covariance, 8).tolist(),
        "held_at_bound": sorted(n for n in ident.names if n in bounded),
        "capped_at_max_logit_sd": [n for n, sd in zip(names, sd_share * derivative, strict=True) if sd >= MAX_LOGIT_SD],
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(names)} parameters, {len(data['held_at_bound'])} held at a bound, "
          f"{len(data['capped_at_max_logit_sd'])} not identified (capped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
