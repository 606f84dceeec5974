"""SQUAREM acceleration (accelerate="squarem") on every estimator."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from emmix import (
    CoinMixture,
    GaussianMixtureEM,
    MultivariateNormalImputer,
    PoissonMixture,
)
from emmix._accel import (
    flatten_params,
    project_psd,
    project_simplex,
    squarem_alpha,
    unflatten_params,
)


def overlapping_poisson(n=1000, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.rand(n) < 0.4
    return np.where(z, rng.poisson(1.3, n), rng.poisson(2.7, n))[:, None].astype(float)


def fit_pair(cls, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning, no RuntimeWarning
        plain = cls(**kwargs, accelerate=None).fit(X)
        fast = cls(**kwargs, accelerate="squarem").fit(X)
    return plain, fast


def assert_monotone(bounds):
    bounds = np.asarray(bounds)
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:]))


def test_slow_poisson_ten_times_fewer_passes():
    X = overlapping_poisson()
    plain, fast = fit_pair(
        PoissonMixture,
        X,
        n_components=2,
        weights_init=[0.5, 0.5],
        rates_init=[[1.0], [3.0]],
        tol=1e-10,
        max_iter=100_000,
    )
    assert plain.n_iter_ >= 10 * fast.n_iter_
    assert_allclose(fast.lower_bound_, plain.lower_bound_, rtol=1e-8)
    assert_allclose(
        np.sort(fast.rates_.ravel()), np.sort(plain.rates_.ravel()), rtol=1e-3
    )
    assert_monotone(fast.lower_bounds_)
    assert len(fast.lower_bounds_) <= fast.n_iter_


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_same_optimum_never_much_slower(covariance_type):
    rng = np.random.RandomState(1)
    centers = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = rng.normal(size=(600, 2)) + centers[rng.randint(3, size=600)]
    plain, fast = fit_pair(
        GaussianMixtureEM,
        X,
        n_components=3,
        covariance_type=covariance_type,
        random_state=0,
        tol=1e-9,
        max_iter=10_000,
    )
    assert_allclose(fast.lower_bound_, plain.lower_bound_, rtol=1e-7)
    assert fast.n_iter_ <= plain.n_iter_ + 4
    assert_monotone(fast.lower_bounds_)


def test_overlapping_gaussian_accelerated():
    rng = np.random.RandomState(2)
    z = rng.rand(2000) < 0.5
    X = np.where(z, rng.normal(0, 1, 2000), rng.normal(1, 1.5, 2000))[:, None]
    kwargs = dict(
        n_components=2,
        weights_init=[0.5, 0.5],
        means_init=[[-1.0], [2.0]],
        precisions_init=np.ones((2, 1, 1)),
        tol=1e-10,
        max_iter=100_000,
    )
    plain, fast = fit_pair(GaussianMixtureEM, X, **kwargs)
    assert plain.n_iter_ >= 5 * fast.n_iter_
    assert_allclose(fast.lower_bound_, plain.lower_bound_, rtol=1e-8)
    assert_monotone(fast.lower_bounds_)


def test_coins_and_fixed_weights_under_squarem():
    rng = np.random.RandomState(3)
    X = rng.binomial(20, np.where(rng.rand(400) < 0.5, 0.45, 0.6))[:, None].astype(
        float
    )
    plain, fast = fit_pair(
        CoinMixture,
        X,
        n_components=2,
        n_trials=20,
        weights_init=[0.5, 0.5],
        probs_init=[[0.3], [0.7]],
        fixed_params={"weights"},
        tol=1e-11,
        max_iter=100_000,
    )
    assert_array_equal(fast.weights_, [0.5, 0.5])
    assert_allclose(fast.probs_, plain.probs_, rtol=1e-4)
    assert fast.n_iter_ < plain.n_iter_
    assert_monotone(fast.lower_bounds_)


def test_imputer_squarem_same_estimate():
    rng = np.random.RandomState(4)
    cov = np.array([[1.0, 0.9, 0.5], [0.9, 1.0, 0.6], [0.5, 0.6, 1.0]])
    X = rng.multivariate_normal([0, 1, 2], cov, size=300)
    X[rng.rand(*X.shape) < 0.45] = np.nan
    X = X[~np.all(np.isnan(X), axis=1)]
    plain, fast = fit_pair(MultivariateNormalImputer, X, tol=1e-12, max_iter=10_000)
    assert_allclose(fast.mean_, plain.mean_, rtol=1e-5, atol=1e-6)
    assert_allclose(fast.covariance_, plain.covariance_, rtol=1e-5, atol=1e-6)
    assert fast.n_iter_ <= plain.n_iter_
    assert_monotone(fast.lower_bounds_)


def test_max_iter_counts_passes():
    X = overlapping_poisson()
    est = PoissonMixture(
        2,
        weights_init=[0.5, 0.5],
        rates_init=[[1.0], [3.0]],
        tol=0.0,
        max_iter=7,
        accelerate="squarem",
    )
    with pytest.warns(Warning):
        est.fit(X)
    assert est.n_iter_ == 7


# ------------------------------------------------------------ pure pieces
def test_step_length_is_bounded_and_longer_than_em():
    r = np.array([1.0, 0.0])
    assert squarem_alpha(r, np.array([0.1, 0.0]), alpha_max=4.0) == -4.0
    assert squarem_alpha(r, np.array([0.5, 0.0]), alpha_max=4.0) == -2.0
    assert squarem_alpha(r, np.array([2.0, 0.0]), alpha_max=4.0) is None
    assert squarem_alpha(r, np.zeros(2), alpha_max=4.0) is None


def test_projections():
    A = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    P = project_psd(A, 1e-3)
    assert np.min(np.linalg.eigvalsh(P)) >= 1e-3 - 1e-12
    assert_allclose(P, P.T)
    assert_allclose(project_psd(np.eye(2), 1e-3), np.eye(2))
    w = project_simplex(np.array([0.7, -0.1, 0.5]))
    assert np.all(w > 0) and np.isclose(w.sum(), 1.0)


def test_flatten_round_trip():
    params = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([1.5]), "c": "keep"}
    flat = flatten_params(params, ("a", "b"))
    assert flat.shape == (7,)
    back = unflatten_params(flat, params, ("a", "b"))
    assert_array_equal(back["a"], params["a"])
    assert back["c"] == "keep"
