"""Time of select_model over mclust's 14 structures x K = 1..9 on iris.

Run from the repository root::

    python benchmarks/bench_select_model.py [--max-k 9] [--jobs 1 2]

Prints, per setting, the wall time, the number of models, the EM iterations
of the kept fits, and the top three
models by BIC with mclust's published values beside them
(``summary(mclustBIC(iris[, -5]))``: VEV,2 -561.7285, VEV,3 -562.5514,
VVV,2 -574.0178, in mclust's sign convention). The "fresh only" row fits
each model once from the shared start, without the nested restarts, to show
what keeping nested models in order costs.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_iris
from threadpoolctl import threadpool_limits

from emmix import GaussianMixtureEM
from emmix.mixture import COVARIANCE_STRUCTURES
from emmix.model_selection import select_model

MCLUST = {"VEV,2": -561.7285, "VEV,3": -562.5514, "VVV,2": -574.0178}


def _fresh_only(estimator, X, grid):
    """Each model fitted once from the shared start (no nested restarts)."""
    start = time.perf_counter()
    iterations, fits = 0, 0
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in grid["covariance_type"]:
            for k in grid["n_components"]:
                model = clone(estimator).set_params(
                    covariance_type=name, n_components=k
                )
                iterations += model.fit(X).n_iter_
                fits += 1
    return time.perf_counter() - start, fits, iterations


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-k", type=int, default=9)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tol", type=float, default=1e-5)
    args = parser.parse_args()
    X = load_iris().data
    estimator = GaussianMixtureEM(random_state=0, tol=args.tol, max_iter=1000)
    grid = {
        "covariance_type": list(COVARIANCE_STRUCTURES),
        "n_components": range(1, args.max_k + 1),
    }
    print(f"iris, 14 structures x K = 1..{args.max_k}, tol={args.tol}")
    print(
        f"{'setting':>22} {'wall s':>8} {'models':>6} {'EM iters':>9}  "
        "top 3: -BIC (mclust's BIC)"
    )
    seconds, fits, iterations = _fresh_only(estimator, X, grid)
    print(f"{'fresh only, 1 job':>22} {seconds:8.1f} {fits:6d} {iterations:9d}")
    for jobs in args.jobs:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = select_model(estimator, X, grid, n_jobs=jobs)
        seconds = time.perf_counter() - start
        table = result.table_
        top = [
            f"{result._label(i)} {-result.scores_[i]:.4f}"
            f" ({MCLUST.get(result._label(i), float('nan')):.4f})"
            for i in result.top(3)
        ]
        print(
            f"{f'select_model, {jobs} job(s)':>22} {seconds:8.1f} "
            f"{len(result.params_):6d} {int(np.sum(table['n_iter'])):9d}  "
            + "; ".join(top)
        )


if __name__ == "__main__":
    main()
