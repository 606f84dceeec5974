"""Where EM stops: scikit-learn's rule against Aitken's, on slow cases.

Run from the repository root::

    python benchmarks/bench_stopping.py

For each case the table gives the fitted weights and parameters, the mean
log-likelihood, its gap to a reference optimum (plain EM until the change is
below 1e-12, relative), ``n_iter_`` and ``converged_``: the old defaults
(``stopping="change"``, ``tol=1e-3``, plain EM) against the new ones of
PoissonMixture and CoinMixture (``stopping="aitken"``, ``tol=1e-8``,
``accelerate="squarem"``) and Aitken with plain EM. Results are also written
to ``benchmarks/results/bench_stopping.json``.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture

warnings.simplefilter("ignore", ConvergenceWarning)

SETTINGS = {
    "old default (change, 1e-3, plain EM)": {
        "stopping": "change",
        "tol": 1e-3,
        "max_iter": 100,
        "accelerate": None,
    },
    "new default (aitken, 1e-8, SQUAREM)": {
        "stopping": "aitken",
        "tol": 1e-8,
        "max_iter": 1000,
        "accelerate": "squarem",
    },
    "aitken, 1e-8, plain EM": {
        "stopping": "aitken",
        "tol": 1e-8,
        "max_iter": 5000,
        "accelerate": None,
    },
    "reference (change, 1e-12, plain EM)": {
        "stopping": "change",
        "tol": 1e-12,
        "max_iter": 200_000,
        "accelerate": None,
    },
}


def cases():
    rng = np.random.RandomState(0)
    z = rng.rand(1000) < 0.4
    X = np.where(z, rng.poisson(1.3, 1000), rng.poisson(2.7, 1000))[:, None]
    yield "Poisson rates 1.3/2.7 (weights .4/.6), n=1000", PoissonMixture, X, {}
    probs = np.where(rng.rand(500) < 0.5, 0.45, 0.6)
    X = rng.binomial(20, probs)[:, None]
    yield "Coins p=.45/.60, 500 rounds of 20", CoinMixture, X, {"n_trials": 20}
    z = rng.rand(2000) < 0.5
    X = np.where(z, rng.normal(0.0, 1.0, 2000), rng.normal(1.0, 1.5, 2000))[:, None]
    yield "Gaussian N(0,1)+N(1,1.5^2), n=2000", GaussianMixtureEM, X, {}


def main() -> int:
    rows = []
    for name, cls, X, extra in cases():
        X = X.astype(float)
        fits = {
            label: cls(2, random_state=0, **extra, **setting).fit(X)
            for label, setting in SETTINGS.items()
        }
        best = max(f.score(X) for f in fits.values())
        for label, est in fits.items():
            order = np.argsort(est.weights_)
            params = {
                key: np.asarray(getattr(est, key))[order].ravel().round(4).tolist()
                for key in ("weights_", "rates_", "probs_", "means_")
                if hasattr(est, key)
            }
            rows.append(
                {
                    "data": name,
                    "setting": label,
                    **{k: str(v) for k, v in params.items()},
                    "loglik": f"{est.score(X):.10f}",
                    "gap": f"{(best - est.score(X)) / abs(best):.1e}",
                    "n_iter": est.n_iter_,
                    "converged": est.converged_,
                }
            )
    for name in dict.fromkeys(r["data"] for r in rows):
        part = [r for r in rows if r["data"] == name]
        columns = [c for c in part[0] if c != "data"]
        widths = [max(len(c), *(len(str(r[c])) for r in part)) for c in columns]
        print(f"\n{name}")
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for r in part:
            print(
                "  ".join(
                    str(r[c]).ljust(w) for c, w in zip(columns, widths, strict=True)
                )
            )
    out = Path("benchmarks/results/bench_stopping.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
