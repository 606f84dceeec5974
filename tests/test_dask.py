"""Fits on Dask arrays through a real dask.distributed cluster (two processes).

From the same initial parameters a fit on a Dask array must give the numbers
of the in-memory fit: the statistics are the same sums, added in another
order, so they agree to rounding (1e-8 relative asked; ~1e-14 seen).
"""

import logging
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix._dask import is_dask
from emmix.impute import MultivariateNormalImputer

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("dask.distributed")

RTOL = 1e-8


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(autouse=True)
def no_key_clashes(caplog):
    """The graphs never reuse a task name for other work (dask/dask#9888)."""
    yield
    clashes = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING and "run_spec" in record.getMessage()
    ]
    assert not clashes


def assert_close(a, b, rtol=RTOL):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    scale = max(float(np.max(np.abs(a))), np.finfo(np.float64).tiny)
    assert float(np.max(np.abs(a - b))) <= rtol * scale


def blobs(n=1500, d=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0] * d, [4.0] * d, [0.0, 5.0, -3.0][:d] + [0.0] * (d - 3)])
    labels = rng.integers(0, 3, n)
    return centres[labels] + rng.normal(size=(n, d)) * np.array([1.0, 0.7, 1.3][:d])


def fit_both(make, X, sample_weight=None, chunks=200, weight_chunks=300):
    """The in-memory fit and the Dask fit of ``make()`` on the same data."""
    Xd = da.from_array(X, chunks=(chunks, -1)).persist()
    wd = None
    if sample_weight is not None:
        wd = da.from_array(sample_weight, chunks=weight_chunks)  # realigned by emmix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = make().fit(X, sample_weight=sample_weight)
        b = make().fit(Xd, sample_weight=wd)
    return a, b, Xd


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_same_numbers(client, covariance_type):
    X = blobs()
    w = np.random.default_rng(1).uniform(0.2, 2.0, X.shape[0])
    start = GaussianMixtureEM(3, covariance_type=covariance_type, max_iter=2)
    start.set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start.fit(X)

    def make():
        return GaussianMixtureEM(
            3,
            covariance_type=covariance_type,
            tol=1e-8,
            max_iter=40,
            weights_init=start.weights_,
            means_init=start.means_,
            precisions_init=start.precisions_,
        )

    a, b, _ = fit_both(make, X, w)
    assert b.n_features_in_ == 3 and not hasattr(b, "feature_names_in_")
    assert b"dask" not in pickle.dumps(b)  # nothing lazy is kept
    assert a.n_iter_ == b.n_iter_ and a.converged_ == b.converged_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_close(getattr(a, name), getattr(b, name))
    assert_close(a.lower_bounds_, b.lower_bounds_)


def test_gaussian_squarem_and_column_chunks(client):
    X = blobs(seed=3)
    init = {"means_init": X[[0, 1, 2]], "weights_init": np.full(3, 1 / 3)}
    init["precisions_init"] = np.tile(np.eye(3), (3, 1, 1))

    def make():
        return GaussianMixtureEM(3, accelerate="squarem", tol=1e-8, **init)

    a = make().fit(X)
    b = make().fit(da.from_array(X, chunks=(250, 1)))  # columns chunked too
    assert a.n_iter_ == b.n_iter_
    assert_close(a.means_, b.means_)
    assert_close(a.covariances_, b.covariances_)
    assert_close(a.lower_bounds_, b.lower_bounds_)


def test_poisson_same_numbers(client):
    rng = np.random.default_rng(2)
    rates = np.array([[1.0, 8.0], [6.0, 2.0], [15.0, 15.0]])
    X = rng.poisson(rates[rng.integers(0, 3, 1200)]).astype(np.float64)

    def make():
        return PoissonMixture(
            3,
            tol=1e-8,
            max_iter=60,
            weights_init=[0.3, 0.3, 0.4],
            rates_init=[[2.0, 5.0], [5.0, 3.0], [10.0, 10.0]],
        )

    a, b, _ = fit_both(make, X, rng.integers(0, 3, X.shape[0]).astype(float))
    assert a.n_iter_ == b.n_iter_
    assert_close(a.weights_, b.weights_)
    assert_close(a.rates_, b.rates_)
    assert_close(a.lower_bounds_, b.lower_bounds_)


@pytest.mark.parametrize("n_trials", [10, "from_X"])
def test_coin_same_numbers(client, n_trials):
    rng = np.random.default_rng(4)
    coin = rng.integers(0, 2, 900)
    tosses = np.full(900, 10) if n_trials == 10 else rng.integers(5, 20, 900)
    heads = rng.binomial(tosses, np.array([0.3, 0.75])[coin])[:, np.newaxis]
    X = heads if n_trials == 10 else np.column_stack([heads, tosses])

    def make():
        return CoinMixture(
            2,
            n_trials=n_trials,
            tol=1e-10,
            max_iter=80,
            weights_init=[0.5, 0.5],
            probs_init=[[0.4], [0.6]],
        )

    a, b, _ = fit_both(make, X.astype(np.float64), chunks=128)
    assert a.n_iter_ == b.n_iter_
    assert_close(a.probs_, b.probs_)
    assert_close(a.weights_, b.weights_)
    assert_close(a.lower_bounds_, b.lower_bounds_)


def missing_data(seed=5, n=800):
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.6, 0.3, 0.0], [0.6, 1.0, 0.4, 0.2]])
    cov = np.vstack([cov, [[0.3, 0.4, 1.0, 0.5], [0.0, 0.2, 0.5, 1.0]]])
    X = rng.multivariate_normal([1.0, -2.0, 100.0, 0.0], cov, size=n)
    X[rng.random(X.shape) < 0.25] = np.nan
    X[7] = np.nan  # a row with nothing observed: left out of the fit
    return X


def test_imputer_same_numbers_and_lazy_transform(client):
    X = missing_data()
    w = np.random.default_rng(6).integers(0, 4, X.shape[0]).astype(np.float64)
    a, b, Xd = fit_both(
        lambda: MultivariateNormalImputer(tol=1e-10, add_indicator=True), X, w
    )
    assert a.n_iter_ == b.n_iter_ and a.converged_ and b.converged_
    assert b"dask" not in pickle.dumps(b)
    assert_close(a.mean_, b.mean_)
    assert_close(a.covariance_, b.covariance_)
    assert_close(a.lower_bounds_, b.lower_bounds_)

    filled = b.transform(Xd)
    assert is_dask(filled) and filled.chunks[0] == Xd.chunks[0]
    expected = b.transform(X)
    assert filled.shape == expected.shape
    np.testing.assert_array_equal(filled.compute(), expected)
    log_prob = b.score_samples(Xd)
    assert is_dask(log_prob)
    np.testing.assert_allclose(log_prob.compute(), b.score_samples(X), rtol=1e-12)
    assert isinstance(b.score(Xd), float)
    assert b.score(Xd) == pytest.approx(b.score(X), rel=1e-12)


def test_imputer_start_equals_in_memory(client):
    X = missing_data(seed=8)
    a, b, _ = fit_both(lambda: MultivariateNormalImputer(max_iter=0), X)
    assert_close(a.mean_, b.mean_)
    assert_close(a.covariance_, b.covariance_)


def test_imputer_marker_and_empty_column(client):
    X = np.column_stack([missing_data(seed=10), np.full(800, np.nan)])
    X[np.isnan(X)] = -999.0

    def make():
        return MultivariateNormalImputer(
            missing_values=-999.0, keep_empty_features=True, tol=0.0, max_iter=8
        )

    a, b, Xd = fit_both(make, X)
    assert_close(a.mean_, b.mean_)
    assert_close(a.covariance_, b.covariance_)
    assert_close(a.lower_bounds_, b.lower_bounds_)
    np.testing.assert_array_equal(b.transform(Xd).compute(), b.transform(X))


def test_imputer_sample_posterior_draws_per_block(client):
    half = missing_data(seed=9, n=200)
    X = np.vstack([half, half])  # two identical blocks
    Xd = da.from_array(X, chunks=200)
    imp = MultivariateNormalImputer(sample_posterior=True, random_state=0).fit(Xd)
    one, two = imp.transform(Xd).compute(), imp.transform(Xd).compute()
    np.testing.assert_array_equal(one, two)  # an integer seed repeats its draws
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(one[observed], X[observed])
    # Each block draws from its own stream: identical blocks get other draws.
    missing = np.isnan(half)
    assert not np.any(one[:200][missing] == one[200:][missing])


def test_lazy_predictions(client):
    X = blobs(seed=10)
    Xd = da.from_array(X, chunks=300)
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    for method in ("predict", "predict_proba", "score_samples"):
        result = getattr(gm, method)(Xd)
        assert is_dask(result) and result.chunks[0] == Xd.chunks[0]
        expected = getattr(gm, method)(X)
        assert result.dtype == expected.dtype and result.shape == expected.shape
        np.testing.assert_allclose(result.compute(), expected, rtol=1e-12)
    score = gm.score(Xd)
    assert isinstance(score, float) and score == pytest.approx(gm.score(X), rel=1e-12)
    w = np.random.default_rng(0).uniform(size=X.shape[0])
    weighted = gm.score(Xd, sample_weight=da.from_array(w, chunks=500))
    assert weighted == pytest.approx(gm.score(X, sample_weight=w), rel=1e-12)
    assert gm.bic(Xd) == pytest.approx(gm.bic(X), rel=1e-12)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixtureEM"):
        gm.predict(Xd[:, :2])


def test_sampled_start_never_gathers_the_data(client, monkeypatch):
    rng = np.random.default_rng(11)
    centres = np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]])
    X = centres[rng.integers(0, 3, 200_000)] + rng.normal(size=(200_000, 2))
    Xd = da.from_array(X, chunks=20_000).persist()
    largest = []
    compute = dask.compute
    array_compute = da.Array.compute

    def nbytes(result):
        if isinstance(result, (tuple, list)):
            return sum(nbytes(r) for r in result)
        if isinstance(result, dict):
            return sum(nbytes(r) for r in result.values())
        return getattr(result, "nbytes", 0)

    def watched_compute(*args, **kwargs):
        results = compute(*args, **kwargs)
        largest.append(nbytes(results))
        return results

    def watched_array_compute(self, **kwargs):
        result = array_compute(self, **kwargs)
        largest.append(nbytes(result))
        return result

    def refuse(self, *args, **kwargs):
        raise AssertionError("a Dask array was converted to numpy in one process")

    monkeypatch.setattr(dask, "compute", watched_compute)
    monkeypatch.setattr(da.Array, "compute", watched_array_compute)
    monkeypatch.setattr(da.Array, "__array__", refuse)
    gm = GaussianMixtureEM(3, random_state=0, max_iter=20).fit(Xd)
    again = GaussianMixtureEM(3, random_state=0, max_iter=20).fit(Xd)
    monkeypatch.undo()
    # The most that came back at once: the 10,000-row sample and its weights.
    assert largest and max(largest) == 10_000 * (2 + 1) * 8 < X.nbytes / 10
    np.testing.assert_allclose(np.sort(gm.means_[:, 0]), [-6, 0, 6], atol=0.05)
    # The seeded sample gives the same start, so the same fit; blocks may run
    # on workers with other BLAS threads, so equal up to rounding.
    np.testing.assert_allclose(gm.means_, again.means_, rtol=1e-12, atol=1e-15)
    # The start came from a sample: it differs from the in-memory start, yet
    # the fit reaches the same optimum.
    in_memory = GaussianMixtureEM(3, random_state=0).fit(X)
    order = np.argsort(gm.means_[:, 0])
    ref = np.argsort(in_memory.means_[:, 0])
    np.testing.assert_allclose(gm.means_[order], in_memory.means_[ref], atol=1e-3)


def test_partial_fit_over_blocks(client):
    X = blobs(n=2000, seed=12)
    Xd = da.from_array(X, chunks=400)
    # The covariances start from k-means on the first batch: on a Dask batch
    # of at most 10,000 rows the "sample" is the whole batch, so a seed gives
    # the in-memory start.
    init = {"means_init": X[:3], "weights_init": np.full(3, 1 / 3)}
    a = GaussianMixtureEM(3, covariance_type="diag", random_state=0, **init)
    b = GaussianMixtureEM(3, covariance_type="diag", random_state=0, **init)
    for i in range(Xd.numblocks[0]):
        a.partial_fit(X[400 * i : 400 * (i + 1)])
        b.partial_fit(Xd.blocks[i])
    assert a.n_iter_ == b.n_iter_ == 5
    assert_close(a.means_, b.means_)
    assert_close(a.covariances_, b.covariances_)
    assert_close(a.lower_bounds_, b.lower_bounds_)
    # The whole array as one batch, and a sampled start, work too.
    c = PoissonMixture(2, random_state=0).partial_fit(abs(Xd).round())
    assert c.n_iter_ == 1 and c.rates_.shape == (2, 3)


def test_float32_stays_float32(client):
    X = blobs(seed=13).astype(np.float32)
    gm = GaussianMixtureEM(3, random_state=0).fit(da.from_array(X, chunks=500))
    assert gm.means_.dtype == np.float32
    assert gm.predict_proba(da.from_array(X, chunks=500)).dtype == np.float32


def test_validation_errors(client):
    X = blobs(n=600, seed=14)
    bad = X.copy()
    bad[450, 1] = np.inf
    with pytest.raises(ValueError, match=r"infinity.*rows 400 to 599"):
        GaussianMixtureEM(2).fit(da.from_array(bad, chunks=200))
    counts = np.abs(np.round(X))
    counts[250, 2] = -1.0
    with pytest.raises(ValueError, match=r"Negative values.*rows 200 to 399"):
        PoissonMixture(2).fit(da.from_array(counts, chunks=200))
    # Each block's span is fine, the whole column's is not: caught from the
    # blocks' minima and maxima.
    wide = X.copy()
    wide[:300, 0] = np.linspace(0.0, 1e154, 300)
    wide[300:, 0] = np.linspace(-1e154, 0.0, 300)
    with pytest.raises(ValueError, match="column 0 span"):
        GaussianMixtureEM(2).fit(da.from_array(wide, chunks=300))
    w = np.ones(600)
    w[321] = -2.0
    with pytest.raises(ValueError, match=r"sample_weight\[321\] = -2"):
        GaussianMixtureEM(2).fit(da.from_array(X, chunks=200), sample_weight=w)
    with pytest.raises(ValueError, match="one weight per row"):
        GaussianMixtureEM(2).fit(da.from_array(X, chunks=200), sample_weight=w[:5])
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        Xd = da.from_array(X, chunks=200)
        GaussianMixtureEM(2).fit(Xd[Xd[:, 0] > 0])
    with pytest.raises(ValueError, match="2-d array"):
        GaussianMixtureEM(2).fit(da.from_array(X[:, 0], chunks=200))


def test_import_without_dask():
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['dask.array'] = None\n"
        "import numpy as np, emmix\n"
        "from emmix._dask import is_dask\n"
        "X = np.random.default_rng(0).normal(size=(50, 2))\n"
        "emmix.GaussianMixtureEM(2, random_state=0).fit(X).predict(X)\n"
        "assert not is_dask(X)\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_impute_on_dask_is_lazy_and_equal(client):
    rng = np.random.RandomState(3)
    X = rng.normal(size=(400, 3)) + 4.0 * rng.randint(2, size=(400, 1))
    X[rng.rand(*X.shape) < 0.2] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    lazy = gm.impute(da.from_array(X, chunks=(100, 3)))
    assert is_dask(lazy)
    np.testing.assert_allclose(lazy.compute(), gm.impute(X), rtol=1e-12)
