"""CategoricalMixture: an E-step pass on grouped answers against sparse one-hot rows.

Run from the repository root::

    python benchmarks/bench_categorical.py

The E-step needs ``log p(x | k)`` and the statistics ``S = resp.T @ Z`` with
``Z`` the one-hot answers (n rows, ``sum_j C_j`` columns, one 1 per answered
item). ``CategoricalMixture`` keeps, for the whole fit, either the grouped
answers (``grouped``: at most ``DENSE_COLUMNS_PER_ITEM`` columns per item on
average; consecutive items joined into groups of at most ``GROUP_STATES``
joint states, ``Z = A @ B`` with one term per row and group in both
products) or the one-hot rows as a CSR matrix (``sparse``: one term per
answer).

For each case both layouts are forced in turn on the same fitted model and
one engine pass (all chunks, the engine's threads, encodings already kept) is
timed, alternating the two, best of ``REPEAT``; their results are compared.
``chosen`` says which layout the model picks. The machine may be shared: the
load average is printed with the table.
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from emmix import CategoricalMixture
from emmix.datasets import make_latent_class

warnings.simplefilter("ignore", ConvergenceWarning)

CASES = [
    # n, items, categories per item, classes, share of missing answers
    (100_000, 20, 2, 4, 0.0),  # issue 16's binary latent class data
    (100_000, 20, 2, 4, 0.2),
    (100_000, 50, 3, 5, 0.0),
    (100_000, 20, 10, 5, 0.0),
]
REPEAT = 7


def pass_seconds(model, X, weights, params, dense: bool) -> tuple[float, tuple]:
    """Best time of one engine pass with the layout forced, and its result."""
    model._dense = lambda: dense  # an instance attribute: this model only
    best = np.inf
    with model._em_threads(X):
        result = model._em_pass(X, weights, params)  # keeps the encodings
        for _ in range(3):
            start = time.perf_counter()
            model._em_pass(X, weights, params)
            best = min(best, time.perf_counter() - start)
    del model._dense
    return best, result


def main():
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    header = (
        f"{'data':<36} {'chosen':>7} {'grouped ms/pass':>16} "
        f"{'sparse ms/pass':>15} {'sparse/grouped':>15}"
    )
    print(header)
    print("-" * len(header))
    for n, d, c, k, missing in CASES:
        X, _ = make_latent_class(
            n, n_classes=k, n_features=d, n_categories=c, random_state=0
        )
        X = np.asarray(X, dtype=np.float64)
        if missing:
            holes = np.random.RandomState(1).uniform(size=X.shape) < missing
            holes[holes.all(axis=1), 0] = False
            X[holes] = np.nan
        model = CategoricalMixture(k, random_state=0, max_iter=3).fit(X)
        codes, weights, _ = model._validated_fit_data(X, None, reset=False)
        params = model._em_load()
        times = {True: np.inf, False: np.inf}
        results = {}
        for _ in range(REPEAT):
            for dense in (True, False):
                seconds, results[dense] = pass_seconds(
                    model, codes, weights, params, dense
                )
                times[dense] = min(times[dense], seconds)
        (stats_d, ll_d), (stats_s, ll_s) = results[True], results[False]
        np.testing.assert_allclose(ll_d, ll_s, rtol=1e-12)
        for key in stats_d:
            np.testing.assert_allclose(stats_d[key], stats_s[key], rtol=1e-12)
        name = f"n={n:,} items={d} C={c} K={k} missing={missing:.0%}"
        chosen = "grouped" if model._dense() else "sparse"
        print(
            f"{name:<36} {chosen:>7} {times[True] * 1e3:>16.2f} "
            f"{times[False] * 1e3:>15.2f} {times[False] / times[True]:>14.2f}x",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
