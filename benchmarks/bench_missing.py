"""Mixtures fitted with missing values (NaN) against the complete-data fits.

Run from the repository root::

    python benchmarks/bench_missing.py

For each family, data are generated, fitted complete, then fitted again with
10%, 20% and 40% of the entries removed at random (MCAR, every row keeping at
least one value). Components are matched to the complete fit's by their
means / rates / probabilities; the table gives the largest parameter
difference and the held-out log-likelihood (complete test rows) of both fits,
and the time of the fit with missing values. Written to
``benchmarks/results/bench_missing.json`` too.
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
from emmix.datasets import make_coin_rounds, make_poisson_mixture

warnings.simplefilter("ignore", ConvergenceWarning)


def knock_out(X, rate, rng):
    X = X.astype(float, copy=True)
    mask = rng.rand(*X.shape) < rate
    mask[mask.all(axis=1), 0] = False
    X[mask] = np.nan
    return X


def gaussian_data(n, rng):
    centers = np.array(
        [[0.0, 0.0, 0.0, 0.0], [4.0, 1.0, -2.0, 0.0], [0.0, 5.0, 1.0, 3.0]]
    )
    A = np.array(
        [
            [1.0, 0.6, 0.2, 0.0],
            [0.0, 1.0, 0.5, 0.3],
            [0.0, 0.0, 0.8, 0.4],
            [0, 0, 0, 1.0],
        ]
    )
    return (
        rng.normal(size=(n, 4)) @ A + centers[rng.choice(3, size=n, p=[0.5, 0.3, 0.2])]
    )


def match(reference, estimate):
    """Permutation of estimate's components closest to the reference's."""
    k = len(reference)
    best = min(
        itertools.permutations(range(k)),
        key=lambda p: np.sum((estimate[list(p)] - reference) ** 2),
    )
    return list(best)


def families(rng):
    X = gaussian_data(6000, rng)
    yield (
        "GaussianMixtureEM full",
        lambda: GaussianMixtureEM(3, random_state=0, n_init=3, tol=1e-6),
        X[:4000],
        X[4000:],
        lambda m: m.means_,
        lambda m, p: np.concatenate([m.means_[p].ravel(), m.covariances_[p].ravel()]),
    )
    yield (
        "GaussianMixtureEM diag",
        lambda: GaussianMixtureEM(
            3, covariance_type="diag", random_state=0, n_init=3, tol=1e-6
        ),
        X[:4000],
        X[4000:],
        lambda m: m.means_,
        lambda m, p: np.concatenate([m.means_[p].ravel(), m.covariances_[p].ravel()]),
    )
    Xp, _ = make_poisson_mixture(
        n_samples=6000,
        rates=[[2.0, 8.0, 1.0], [9.0, 1.0, 4.0], [5.0, 5.0, 12.0]],
        weights=[0.4, 0.35, 0.25],
        random_state=rng,
    )
    yield (
        "PoissonMixture",
        lambda: PoissonMixture(3, random_state=0, n_init=3, tol=1e-6),
        Xp[:4000],
        Xp[4000:],
        lambda m: m.rates_,
        lambda m, p: m.rates_[p].ravel(),
    )
    Xc, _ = make_coin_rounds(
        n_rounds=6000,
        n_trials=20,
        probs=[[0.2, 0.7, 0.5], [0.8, 0.3, 0.5], [0.5, 0.5, 0.9]],
        weights=[0.4, 0.35, 0.25],
        random_state=rng,
    )
    yield (
        "CoinMixture",
        lambda: CoinMixture(3, n_trials=20, random_state=0, n_init=3, tol=1e-6),
        Xc[:4000],
        Xc[4000:],
        lambda m: m.probs_,
        lambda m, p: m.probs_[p].ravel(),
    )


def main() -> int:
    rng = np.random.RandomState(0)
    rows = []
    for name, make, X, X_test, centres, flat in families(rng):
        complete = make().fit(X)
        reference = flat(complete, list(range(complete.n_components)))
        for rate in (0.1, 0.2, 0.4):
            Xm = knock_out(X, rate, np.random.RandomState(1))
            start = time.perf_counter()
            model = make().fit(Xm)
            seconds = time.perf_counter() - start
            perm = match(centres(complete), centres(model))
            w_diff = np.max(np.abs(model.weights_[perm] - complete.weights_))
            diff = np.max(np.abs(flat(model, perm) - reference))
            rows.append(
                {
                    "model": name,
                    "missing": f"{rate:.0%}",
                    "max |param - complete|": f"{diff:.3f}",
                    "weights diff": f"{w_diff:.3f}",
                    "held-out ll complete": f"{complete.score(X_test):.4f}",
                    "held-out ll missing": f"{model.score(X_test):.4f}",
                    "fit s": f"{seconds:.2f}",
                    "iterations": model.n_iter_,
                }
            )
    columns = list(rows[0])
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for r in rows:
        print(
            "  ".join(str(r[c]).rjust(w) for c, w in zip(columns, widths, strict=True))
        )
    out = Path("benchmarks/results/bench_missing.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
