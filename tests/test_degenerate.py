"""Degenerate but valid data: fitted, never a crash, never a non-finite parameter.

Expected values come from closed forms (a component collapsed on one point,
a single-component maximum-likelihood estimate, a constant column) or from an
equivariance of the model (the Gaussian likelihood under a change of units),
never from a previous run.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix.impute import MultivariateNormalImputer
from emmix.mixture._gaussian import COVARIANCE_TYPES


def check_fitted(estimator, X):
    """Every fitted array finite; probabilities sum to 1; scores finite."""
    for name, value in vars(estimator).items():
        if name.endswith("_") and isinstance(value, np.ndarray):
            assert np.all(np.isfinite(value)), name
    if hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        assert np.all(np.isfinite(proba))
        assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        assert np.all(np.isfinite(estimator.score_samples(X)))
    if hasattr(estimator, "transform"):
        assert np.all(np.isfinite(estimator.transform(X)))
        assert np.all(np.isfinite(estimator.score_samples(X)))


def two_clusters(n=60, d=2, random_state=0):
    rng = np.random.RandomState(random_state)
    return np.r_[rng.normal(size=(n // 2, d)), rng.normal(size=(n // 2, d)) + 6.0]


# ------------------------------------------------- duplicated points
POINTS = np.array([[0.0, 0.0], [20.0, 20.0], [60.0, 5.0]])
COUNTS = np.array([5, 10, 15])


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_k_equal_to_distinct_points(covariance_type):
    X = np.repeat(POINTS, COUNTS, axis=0)
    gm = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0).fit(X)
    check_fitted(gm, X)
    # Each component sits on one point, with the share of rows at that point.
    order = np.argsort(gm.means_[:, 0])
    assert_allclose(gm.means_[order], POINTS, atol=1e-8)
    assert_allclose(gm.weights_[order], COUNTS / COUNTS.sum(), rtol=1e-8)
    if covariance_type != "tied":  # tied: one pooled matrix, also 0 + reg_covar
        assert_allclose(np.ravel(gm.covariances_)[:1], 1e-6, rtol=1e-6)
    assert np.all(np.isfinite(gm.score_samples(X)))


@pytest.mark.parametrize(
    "estimator",
    [PoissonMixture(3, random_state=0), CoinMixture(3, n_trials=60, random_state=0)],
    ids=["poisson", "coin"],
)
def test_counts_k_equal_to_distinct_points(estimator):
    X = np.repeat(POINTS, COUNTS, axis=0)
    estimator.fit(X)
    check_fitted(estimator, X)
    # The points are far apart for these counts: one component per point.
    # Poisson: rates = the points; coins: probs = points / 60. Zeros are
    # raised to the floor (rate_floor = prob_floor = 1e-10).
    if hasattr(estimator, "rates_"):
        params, expected = estimator.rates_, POINTS
    else:
        params, expected = estimator.probs_, POINTS / 60
    order = np.argsort(params[:, 0])
    assert_allclose(params[order], np.maximum(expected, 1e-10), rtol=1e-6)
    assert_allclose(estimator.weights_[order], COUNTS / COUNTS.sum(), rtol=1e-6)


def test_imputer_on_duplicated_rows_equals_weighted_rows():
    X = np.repeat(POINTS, COUNTS, axis=0)
    X[::4, 1] = np.nan
    dup = MultivariateNormalImputer().fit(X)
    check_fitted(dup, X)
    assert np.all(np.isfinite(dup.covariance_))


# ----------------------------------------------------- constant column
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_constant_column(covariance_type):
    X = two_clusters()
    X[:, 1] = 3.0
    gm = GaussianMixtureEM(2, covariance_type=covariance_type, random_state=0).fit(X)
    check_fitted(gm, X)
    assert_allclose(gm.means_[:, 1], 3.0)
    # Its variance is 0, plus reg_covar (shared with column 0 if spherical).
    variance = {
        "full": lambda c: c[:, 1, 1],
        "tied": lambda c: c[1, 1],
        "diag": lambda c: c[:, 1],
        "spherical": lambda c: None,
    }[covariance_type](gm.covariances_)
    if variance is not None:
        assert_allclose(variance, 1e-6, rtol=1e-6)


def test_counts_constant_column():
    X = np.c_[np.repeat([1.0, 9.0], 20), np.full(40, 4.0)]
    pm = PoissonMixture(2, random_state=0).fit(X)
    check_fitted(pm, X)
    assert_allclose(pm.rates_[:, 1], 4.0, rtol=1e-10)  # each component's mean
    cm = CoinMixture(2, n_trials=10, random_state=0).fit(X)
    check_fitted(cm, X)
    assert_allclose(cm.probs_[:, 1], 0.4, rtol=1e-10)


def test_imputer_constant_column_error_says_what_to_do():
    X = two_clusters()
    X[:, 1] = 3.0
    X[::5, 0] = np.nan
    # A normal model with a zero variance cannot be fitted: the error names
    # the column and the fix (documented in the imputer's checks).
    with pytest.raises(ValueError, match=r"column 1 has .* all equal.*Drop that"):
        MultivariateNormalImputer().fit(X)


# ------------------------------------------------ columns of very different scale
SCALE = 2.0**40  # exact, about 1.1e12


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag"])
def test_gaussian_column_far_larger_than_the_others(covariance_type):
    # Changing the unit of a column changes the fit by the same change of
    # unit (the likelihood is equivariant; reg_covar is negligible on the
    # large column and the same on the other one).
    X = two_clusters()
    start = {
        "weights_init": [0.5, 0.5],
        "means_init": X[[0, -1]],
        "precisions_init": {
            "full": np.stack([np.eye(2)] * 2),
            "tied": np.eye(2),
            "diag": np.ones((2, 2)),
        }[covariance_type],
    }
    unit = np.array([SCALE, 1.0])
    scaled_start = {
        "weights_init": [0.5, 0.5],
        "means_init": X[[0, -1]] * unit,
        "precisions_init": start["precisions_init"] / np.outer(unit, unit)
        if covariance_type != "diag"
        else start["precisions_init"] / unit**2,
    }
    kwargs = dict(covariance_type=covariance_type, tol=1e-10, max_iter=500)
    small = GaussianMixtureEM(2, **kwargs, **start).fit(X)
    large = GaussianMixtureEM(2, **kwargs, **scaled_start).fit(X * unit)
    check_fitted(large, X * unit)
    assert_allclose(large.means_, small.means_ * unit, rtol=1e-6)
    factor = np.outer(unit, unit) if covariance_type != "diag" else unit**2
    assert_allclose(large.covariances_, small.covariances_ * factor, rtol=1e-4)
    assert np.array_equal(large.predict(X * unit), small.predict(X))


def test_spherical_column_far_larger_than_the_others_fits():
    X = two_clusters() * np.array([SCALE, 1.0])
    gm = GaussianMixtureEM(2, covariance_type="spherical", random_state=0).fit(X)
    check_fitted(gm, X)


def test_imputer_column_far_larger_than_the_others():
    X = two_clusters()
    X[::3, 1] = np.nan
    X[1::3, 0] = np.nan
    unit = np.array([SCALE, 1.0])
    small = MultivariateNormalImputer().fit(X)
    large = MultivariateNormalImputer().fit(X * unit)
    check_fitted(large, X * unit)
    # reg_covar is relative to each column's variance: exactly equivariant.
    assert_allclose(large.mean_, small.mean_ * unit, rtol=1e-12)
    assert_allclose(large.covariance_, small.covariance_ * np.outer(unit, unit))
    assert_allclose(large.transform(X * unit), small.transform(X) * unit)


def test_counts_feature_far_larger_than_the_others():
    rng = np.random.RandomState(0)
    X = np.c_[rng.poisson(3, 50), rng.poisson(1e9, 50)].astype(float)
    pm = PoissonMixture(2, random_state=0).fit(X)
    check_fitted(pm, X)
    heads = np.c_[rng.binomial(10, 0.3, 50), rng.binomial(10**9, 0.3, 50)]
    cm = CoinMixture(2, n_trials=[10, 10**9], random_state=0).fit(heads)
    check_fitted(cm, heads)


# ---------------------------------------------- values near 1e150 and 1e-150
@pytest.mark.parametrize("exponent", [500, -500])  # 2**500 ~ 3.3e150
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_values_near_1e150_and_1e_minus_150(covariance_type, exponent):
    # The same fit in other units: X * f with reg_covar * f**2 is the fit of X
    # times f (f a power of two, so every product is exact).
    f = 2.0**exponent
    X = two_clusters()
    kwargs = dict(covariance_type=covariance_type, random_state=0)
    plain = GaussianMixtureEM(2, **kwargs).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / underflow warnings either
        extreme = GaussianMixtureEM(2, reg_covar=1e-6 * f**2, **kwargs).fit(X * f)
        check_fitted(extreme, X * f)
    assert_allclose(extreme.means_ / f, plain.means_, rtol=1e-10)
    assert_allclose(extreme.covariances_ / f**2, plain.covariances_, rtol=1e-10)
    assert_allclose(extreme.weights_, plain.weights_, rtol=1e-10)
    d = X.shape[1]  # log-density of X * f = log-density of X - d log f
    assert_allclose(
        extreme.score(X * f), plain.score(X) - d * exponent * np.log(2), rtol=1e-10
    )


@pytest.mark.parametrize("exponent", [500, -500])
def test_imputer_values_near_1e150_and_1e_minus_150(exponent):
    f = 2.0**exponent
    X = two_clusters()
    X[::4, 1] = np.nan
    plain = MultivariateNormalImputer().fit(X)
    extreme = MultivariateNormalImputer().fit(X * f)
    check_fitted(extreme, X * f)
    assert_allclose(extreme.mean_ / f, plain.mean_, rtol=1e-12)
    assert_allclose(extreme.covariance_ / f**2, plain.covariance_, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_tiny_values_without_regularisation_say_what_to_change(
    covariance_type,
):
    # 1e-160 squared underflows: without reg_covar no float64 number can hold
    # the variance (or its inverse, the precision).
    X = two_clusters() * 1e-160
    with pytest.raises(ValueError, match="increase reg_covar, or scale the input"):
        GaussianMixtureEM(
            2, covariance_type=covariance_type, reg_covar=0.0, random_state=0
        ).fit(X)
    # With the default reg_covar it fits (the variances are reg_covar), and
    # says that reg_covar dominates.
    with pytest.warns(UserWarning, match="below reg_covar"):
        gm = GaussianMixtureEM(2, covariance_type=covariance_type, random_state=0)
        gm.fit(X)
    check_fitted(gm, X)


def test_poisson_counts_near_1e150_and_beyond():
    # Two groups of huge counts: the groups cannot overlap, so the rates are
    # the group means and the weights the group shares.
    rng = np.random.RandomState(0)
    X = np.r_[rng.uniform(1, 2, (20, 2)), rng.uniform(5, 6, (40, 2))] * 1e160
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pm = PoissonMixture(2, random_state=0).fit(X)
    check_fitted(pm, X)
    order = np.argsort(pm.rates_[:, 0])
    assert_allclose(pm.rates_[order], [X[:20].mean(0), X[20:].mean(0)], rtol=1e-10)
    assert_allclose(pm.weights_[order], [1 / 3, 2 / 3], rtol=1e-10)


def test_counts_near_1e_minus_150():
    # Tiny non-integer "counts" are all but zero: rates and probabilities go
    # to their floors, and everything stays finite.
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, (40, 2)) * 1e-150
    pm = PoissonMixture(2, random_state=0).fit(X)
    check_fitted(pm, X)
    cm = CoinMixture(2, n_trials=5, random_state=0).fit(X)
    check_fitted(cm, X)


# -------------------------------------------------- all zeros, all heads
def test_all_zero_counts():
    X = np.zeros((30, 3))
    pm = PoissonMixture(1).fit(X)
    check_fitted(pm, X)
    assert_allclose(pm.rates_, 1e-10)  # the MLE 0, raised to rate_floor
    assert_allclose(pm.score_samples(X), -3e-10)  # log P(0 | rate) = -rate
    cm = CoinMixture(1, n_trials=4).fit(X)
    check_fitted(cm, X)
    assert_allclose(cm.probs_, 1e-10)
    gm = GaussianMixtureEM(1).fit(X)
    check_fitted(gm, X)
    assert_allclose(gm.covariances_, 1e-6 * np.eye(3)[np.newaxis])


def test_a_feature_that_is_always_zero():
    rng = np.random.RandomState(0)
    X = np.c_[np.r_[rng.poisson(1, 30), rng.poisson(20, 30)], np.zeros(60)]
    pm = PoissonMixture(2, random_state=0).fit(X)
    check_fitted(pm, X)
    assert_allclose(pm.rates_[:, 1], 1e-10)
    # A later positive count in that feature still has a finite log-density.
    assert np.all(np.isfinite(pm.score_samples([[3.0, 2.0]])))


def test_all_heads():
    X = np.full((30, 2), 4.0)
    cm = CoinMixture(1, n_trials=4).fit(X)
    check_fitted(cm, X)
    assert_allclose(cm.probs_, 1 - 1e-10)
    assert np.all(np.isfinite(cm.score_samples([[0.0, 0.0]])))  # then all tails


# ------------------------------------------- a component that empties
def test_gaussian_component_that_empties():
    X = np.random.RandomState(0).normal(size=(100, 2))
    gm = GaussianMixtureEM(
        2,
        weights_init=[0.5, 0.5],
        means_init=[[0.0, 0.0], [1e3, 1e3]],  # no row anywhere near
        precisions_init=np.stack([np.eye(2)] * 2),
        tol=1e-12,
    ).fit(X)
    check_fitted(gm, X)
    assert gm.weights_[1] < 1e-12
    assert np.all(np.diff(gm.lower_bounds_) >= -1e-12)
    # The other component is the one-Gaussian maximum-likelihood fit.
    assert_allclose(gm.means_[0], X.mean(axis=0), rtol=1e-10)
    expected = np.cov(X.T, bias=True) + 1e-6 * np.eye(2)
    assert_allclose(gm.covariances_[0], expected, rtol=1e-8)


def test_poisson_component_that_empties():
    X = np.random.RandomState(0).poisson(2.0, size=(100, 1)).astype(float)
    pm = PoissonMixture(2, rates_init=[[2.0], [1e3]], tol=1e-12).fit(X)
    check_fitted(pm, X)
    assert pm.weights_[1] < 1e-12
    assert_allclose(pm.rates_[0], X.mean(axis=0), rtol=1e-10)


def test_coin_component_that_empties():
    X = np.random.RandomState(0).binomial(10, 0.3, size=(100, 1)).astype(float)
    cm = CoinMixture(2, n_trials=10, probs_init=[[0.3], [1.0]], tol=1e-12).fit(X)
    check_fitted(cm, X)
    assert cm.weights_[1] < 1e-12
    assert_allclose(cm.probs_[0], X.sum() / (10 * len(X)), rtol=1e-10)


# -------------------------------- float32 far from the origin (sklearn #30382)
def far_float32():
    rng = np.random.RandomState(0)
    X = 1e4 + 0.01 * rng.normal(size=(200, 2))
    X[:100] += 0.1
    return X.astype(np.float32)


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_sklearn_fails_on_float32_far_from_the_origin(covariance_type):
    # Documents the difference: scikit-learn 1.9 takes its statistics around
    # 0, and in float32 the variance 1e-4 is lost next to 1e4**2.
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(
            far_float32()
        )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_far_from_the_origin_fits_like_float64(covariance_type):
    X = far_float32()
    kwargs = dict(covariance_type=covariance_type, random_state=0, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm32 = GaussianMixtureEM(2, **kwargs).fit(X)
        gm64 = GaussianMixtureEM(2, **kwargs).fit(X.astype(np.float64))
    check_fitted(gm32, X)
    assert gm32.covariances_.dtype == np.float32
    # The same (float32-rounded) data: the variances agree to float32 accuracy.
    assert_allclose(gm32.covariances_, gm64.covariances_, rtol=1e-3, atol=1e-9)
    assert_allclose(gm32.means_, gm64.means_, rtol=1e-6)
    assert np.array_equal(gm32.predict(X), gm64.predict(X))
