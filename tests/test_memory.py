"""Bounded memory: no step of a fit builds arrays that grow faster than n x K.

numpy reports its buffers to ``tracemalloc``, so the traced peak of a fit is
the largest set of arrays alive at one time. The bound used here, ``4 x X``
(plus a small constant), is far below what one array of ``n x d(d+1)/2``
numbers (the full covariance's packed outer products of every row, ~8.5 x X
at d = 16) or of ``n x d^2`` numbers (16 x X) would take, and above what the
start legitimately needs: scikit-learn's ``KMeans`` holds a centred copy of
``X`` and, while it validates, one more temporary of that size (``np.var``);
the responsibilities are ``n x K``; the E-step chunks are limited by
``working_memory``. Whole-fit resident memory against scikit-learn, at sizes
near the machine's, is measured by ``benchmarks/bench_memory.py``.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from emmix import (
    CoinMixture,
    GaussianMixtureEM,
    MultivariateNormalImputer,
    PoissonMixture,
)

N, D, K = 40_000, 16, 3
#: working_memory (MiB) for these fits: chunks of a few thousand rows.
WORKING_MEMORY = 4


def _blobs(n=N, d=D, k=K, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.uniform(-5, 5, size=(k, d))
    return centres[rng.randint(k, size=n)] + rng.standard_normal((n, d))


def _traced_peak(func) -> int:
    """Bytes allocated at the peak of ``func()`` above what was alive before."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def _bound(X) -> int:
    # 4 x X plus the chunks' temporaries (working_memory) and 2 MB of slack.
    return 4 * X.nbytes + WORKING_MEMORY * 2**20 + 2 * 2**20


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random"])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_start_allocates_no_row_outer_products(covariance_type, init_params):
    X = _blobs()
    weights = np.random.RandomState(1).uniform(0.5, 2.0, size=N)
    packed = N * D * (D + 1) // 2 * X.itemsize  # the old start's temporary
    assert _bound(X) < packed < N * D * D * X.itemsize

    def start():
        with config_context(working_memory=WORKING_MEMORY):
            GaussianMixtureEM(
                K,
                covariance_type=covariance_type,
                init_params=init_params,
                max_iter=0,
                random_state=0,
            ).fit(X, sample_weight=weights)

    peak = _traced_peak(start)
    assert peak < _bound(X), (
        f"the start of a {covariance_type} fit allocated {peak / 2**20:.1f} MB at "
        f"its peak for X of {X.nbytes / 2**20:.1f} MB (bound "
        f"{_bound(X) / 2**20:.1f} MB; one n x d(d+1)/2 array is "
        f"{packed / 2**20:.1f} MB)"
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: GaussianMixtureEM(K, max_iter=3, tol=0.0, random_state=0),
        lambda: GaussianMixtureEM(
            K, max_iter=2, tol=0.0, n_init=2, accelerate="squarem", random_state=0
        ),
        lambda: PoissonMixture(K, max_iter=3, tol=0.0, random_state=0),
        lambda: CoinMixture(K, n_trials=20, max_iter=3, tol=0.0, random_state=0),
    ],
    ids=["gaussian", "gaussian-restarts-squarem", "poisson", "coin"],
)
def test_whole_fit_bounded(make):
    X = _blobs()
    estimator = make()
    if not isinstance(estimator, GaussianMixtureEM):
        X = np.minimum(np.abs(np.rint(X)), 20)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with config_context(working_memory=WORKING_MEMORY):
                estimator.fit(X)

    peak = _traced_peak(fit)
    assert peak < _bound(X), (
        f"{type(estimator).__name__}.fit allocated {peak / 2**20:.1f} MB at its "
        f"peak for X of {X.nbytes / 2**20:.1f} MB (bound {_bound(X) / 2**20:.1f} MB)"
    )


def test_imputer_fit_bounded():
    X = _blobs()
    X[np.random.RandomState(2).uniform(size=X.shape) < 0.1] = np.nan

    def fit():
        with config_context(working_memory=WORKING_MEMORY):
            MultivariateNormalImputer(max_iter=3, tol=0.0).fit(X)

    peak = _traced_peak(fit)
    assert peak < _bound(X), (
        f"MultivariateNormalImputer.fit allocated {peak / 2**20:.1f} MB at its "
        f"peak for X of {X.nbytes / 2**20:.1f} MB (bound {_bound(X) / 2**20:.1f} MB)"
    )


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("weighted", [False, True])
def test_chunked_start_is_the_kmeans_partition_moments(covariance_type, weighted):
    """The start, summed over many small chunks, equals the weighted moments of
    the k-means partition computed directly (scikit-learn's rule)."""
    X = _blobs(n=5000, d=4, k=K) + 100.0  # far from 0: rounding would show
    w = np.random.RandomState(3).uniform(0.5, 2.0, size=len(X)) if weighted else None
    reg = 1e-6
    with config_context(working_memory=1):  # ~20 chunks
        gm = GaussianMixtureEM(
            K, covariance_type=covariance_type, max_iter=0, random_state=0
        ).fit(X, sample_weight=w)
    labels = KMeans(K, n_init=1, random_state=0).fit(X, sample_weight=w).labels_
    ww = np.ones(len(X)) if w is None else w
    nk = np.array([ww[labels == k].sum() for k in range(K)])
    means = np.array([np.average(X[labels == k], 0, ww[labels == k]) for k in range(K)])
    covs = np.array(
        [
            np.cov(X[labels == k].T, aweights=ww[labels == k], bias=True)
            for k in range(K)
        ]
    )
    d = X.shape[1]
    expected = {
        "full": covs + reg * np.eye(d),
        "tied": np.einsum("k,kij->ij", nk, covs) / nk.sum() + reg * np.eye(d),
        "diag": np.diagonal(covs, axis1=1, axis2=2) + reg,
        "spherical": np.diagonal(covs, axis1=1, axis2=2).mean(axis=1) + reg,
    }[covariance_type]
    assert_allclose(gm.weights_, nk / nk.sum(), rtol=1e-12)
    assert_allclose(gm.means_, means, rtol=1e-12)
    assert_allclose(gm.covariances_, expected, rtol=1e-9)
