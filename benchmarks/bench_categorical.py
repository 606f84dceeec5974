"""CategoricalMixture: the E-step on sparse one-hot answers against dense ones.

Run from the repository root::

    python benchmarks/bench_categorical.py

The E-step needs ``log p(x | k) = Z @ log(theta).T`` and the statistics
``Z.T @ resp`` with ``Z`` the one-hot answers (n rows, ``sum_j C_j`` columns,
one 1 per answered item). ``dense`` builds ``Z`` as a numpy array (what the
first version did), ``sparse`` as a CSR matrix (what ``CategoricalMixture``
uses). Both are timed on the same chunk, and their results compared; then a
whole fit (20 passes from the same start) is timed. Seconds are the best of
three runs.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from emmix import CategoricalMixture
from emmix.datasets import make_latent_class
from emmix.mixture._categorical import (
    categorical_log_prob,
    category_index,
    one_hot,
    one_hot_sparse,
)

warnings.simplefilter("ignore", ConvergenceWarning)

CASES = [
    # n, items, categories per item, classes
    (5_000, 20, 2, 4),
    (100_000, 50, 3, 5),
    (100_000, 20, 10, 5),
]


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def estep(build, X, offsets, sizes, probs, resp):
    Z = build(category_index(X, offsets, sizes), int(sizes.sum()), X.dtype)
    log_prob = categorical_log_prob(Z, probs)
    counts = np.asarray(Z.T @ resp).T
    return log_prob, counts


def main():
    rows = []
    for n, d, c, k in CASES:
        X, _ = make_latent_class(
            n, n_classes=k, n_features=d, n_categories=c, random_state=0
        )
        model = CategoricalMixture(k, random_state=0, max_iter=0).fit(X)
        sizes, offsets = model.n_categories_, model.category_offsets_[:-1]
        resp = model.predict_proba(X)
        dense = estep(one_hot, X, offsets, sizes, model.probs_, resp)
        sparse = estep(one_hot_sparse, X, offsets, sizes, model.probs_, resp)
        for a, b in zip(dense, sparse, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10)
        t_dense = best_of(
            lambda: estep(one_hot, X, offsets, sizes, model.probs_, resp)  # noqa: B023
        )
        t_sparse = best_of(
            lambda: estep(one_hot_sparse, X, offsets, sizes, model.probs_, resp)  # noqa: B023
        )
        fit = CategoricalMixture(k, random_state=0, max_iter=20, tol=0.0)
        t_fit = best_of(lambda: fit.fit(X), repeat=1)  # noqa: B023
        start = CategoricalMixture(k, random_state=0, max_iter=0)
        t_start = best_of(lambda: start.fit(X), repeat=1)  # noqa: B023
        rows.append(
            (
                f"n={n:,} items={d} C={c} K={k}",
                t_dense * 1e3,
                t_sparse * 1e3,
                t_dense / t_sparse,
                t_start,
                (t_fit - t_start) / 20 * 1e3,
            )
        )
    header = (
        f"{'data':<32} {'dense E-step ms':>16} {'sparse E-step ms':>17} "
        f"{'speed-up':>9} {'start s':>8} {'fit ms/pass':>12}"
    )
    print(header)
    print("-" * len(header))
    for name, dense_ms, sparse_ms, ratio, start_s, pass_ms in rows:
        print(
            f"{name:<32} {dense_ms:>16.1f} {sparse_ms:>17.1f} {ratio:>8.1f}x "
            f"{start_s:>8.2f} {pass_ms:>12.1f}"
        )


if __name__ == "__main__":
    main()
