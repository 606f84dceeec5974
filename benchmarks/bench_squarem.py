"""Passes over the data to convergence: plain EM against SQUAREM.

Run from the repository root::

    python benchmarks/bench_squarem.py

For each data set and stopping rule (``stopping="change"`` and ``"aitken"``)
both methods start from the same parameters with the same ``tol``; ``passes``
is ``n_iter_`` (E-step passes over the data in both modes). The reference
optimum is a plain EM run with a far smaller tolerance; the table
gives each method's log-likelihood gap to it (relative). Results are also
written to ``benchmarks/results/bench_squarem.json``.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture

warnings.simplefilter("ignore", ConvergenceWarning)

TOL = 1e-10


def datasets():
    rng = np.random.RandomState(0)
    out = []
    z = rng.rand(1000) < 0.4
    X = np.where(z, rng.poisson(1.3, 1000), rng.poisson(2.7, 1000))[:, None]
    out.append(
        (
            "Poisson rates 1.3/2.7, n=1000 (overlapping)",
            PoissonMixture,
            X.astype(float),
            {
                "n_components": 2,
                "weights_init": [0.5, 0.5],
                "rates_init": [[1.0], [3.0]],
            },
        )
    )
    z = rng.rand(2000) < 0.5
    X = np.where(z, rng.normal(0.0, 1.0, 2000), rng.normal(1.0, 1.5, 2000))[:, None]
    out.append(
        (
            "Gaussian 1-d N(0,1)+N(1,1.5^2), n=2000 (overlapping)",
            GaussianMixtureEM,
            X,
            {
                "n_components": 2,
                "weights_init": [0.5, 0.5],
                "means_init": [[-1.0], [2.0]],
                "precisions_init": np.ones((2, 1, 1)),
            },
        )
    )
    probs = np.where(rng.rand(500) < 0.5, 0.45, 0.6)
    X = rng.binomial(20, probs)[:, None]
    out.append(
        (
            "Coins p=0.45/0.60, 500 rounds of 20 (overlapping)",
            CoinMixture,
            X.astype(float),
            {
                "n_components": 2,
                "n_trials": 20,
                "weights_init": [0.5, 0.5],
                "probs_init": [[0.3], [0.7]],
            },
        )
    )
    centers = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    X = rng.normal(size=(3000, 2)) + centers[rng.randint(3, size=3000)]
    out.append(
        (
            "Gaussian 2-d, 3 separated blobs, n=3000",
            GaussianMixtureEM,
            X,
            {"n_components": 3, "random_state": 0},
        )
    )
    z = rng.randint(2, size=2000)
    X = rng.poisson(np.where(z, 2.0, 20.0))[:, None]
    out.append(
        (
            "Poisson rates 2/20, n=2000 (separated)",
            PoissonMixture,
            X.astype(float),
            {"n_components": 2, "random_state": 0},
        )
    )
    return out


def run(cls, X, params, **extra):
    est = cls(**params, **extra)
    start = time.perf_counter()
    est.fit(X)
    return est, time.perf_counter() - start


def main() -> int:
    rows = []
    for (name, cls, X, params), stopping in itertools.product(
        datasets(), ("change", "aitken")
    ):
        common = {"tol": TOL, "max_iter": 100_000, "stopping": stopping}
        plain, t_plain = run(cls, X, params, **common, accelerate=None)
        fast, t_fast = run(cls, X, params, **common, accelerate="squarem")
        ref, _ = run(
            cls,
            X,
            params,
            tol=1e-15,
            max_iter=300_000,
            stopping="change",
            accelerate=None,
        )
        best = max(ref.lower_bound_, plain.lower_bound_, fast.lower_bound_)
        rows.append(
            {
                "data": name,
                "stopping": stopping,
                "EM passes": plain.n_iter_,
                "SQUAREM passes": fast.n_iter_,
                "ratio": f"{plain.n_iter_ / fast.n_iter_:.1f}x",
                "EM gap": f"{(best - plain.lower_bound_) / abs(best):.1e}",
                "SQUAREM gap": f"{(best - fast.lower_bound_) / abs(best):.1e}",
                "EM s": f"{t_plain:.3f}",
                "SQUAREM s": f"{t_fast:.3f}",
                "monotone": bool(np.all(np.diff(fast.lower_bounds_) >= -1e-12)),
            }
        )
    columns = list(rows[0])
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print(f"tol={TOL}; gap = (best log-likelihood - method's) / |best|\n")
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print(
            "  ".join(str(r[c]).rjust(w) for c, w in zip(columns, widths, strict=True))
        )
    out = Path("benchmarks/results/bench_squarem.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
