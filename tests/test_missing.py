"""Missing values (NaN) inside the mixtures: proper EM, not imputation first."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from sklearn import config_context
from sklearn.exceptions import ConvergenceWarning

from emmix import (
    CoinMixture,
    GaussianMixtureEM,
    MultivariateNormalImputer,
    PoissonMixture,
)
from emmix.datasets import make_coin_rounds, make_poisson_mixture
from emmix.mixture._gaussian_missing import missing_rows

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def blobs(n=300, seed=0):
    rng = np.random.RandomState(seed)
    centers = np.array([[0.0, 0.0, 0.0], [5.0, 1.0, -2.0]])
    A = np.array([[1.0, 0.6, 0.2], [0.0, 1.0, 0.5], [0.0, 0.0, 0.8]])
    return rng.normal(size=(n, 3)) @ A + centers[rng.randint(2, size=n)]


def knock_out(X, rate, seed=0):
    """NaN at random (MCAR), keeping at least one observed value per row."""
    rng = np.random.RandomState(seed)
    X = X.astype(float, copy=True)
    mask = rng.rand(*X.shape) < rate
    mask[mask.all(axis=1), 0] = False
    X[mask] = np.nan
    return X


def tight(**kwargs):
    return dict(tol=1e-12, max_iter=5000, **kwargs)


def gaussian_start(X, covariance_type, k=2):
    d = X.shape[1]
    means = np.array([[0.5, 0.0, 0.0], [4.0, 1.0, -1.0]])[:k, :d]
    precisions = {
        "full": np.stack([np.eye(d)] * k),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[covariance_type]
    return {
        "weights_init": np.full(k, 1.0 / k),
        "means_init": means,
        "precisions_init": precisions,
    }


def full_covs(gm):
    k, d = gm.means_.shape
    return {
        "full": lambda c: c,
        "tied": lambda c: np.stack([c] * k),
        "diag": lambda c: np.stack([np.diag(v) for v in c]),
        "spherical": lambda c: np.stack([np.eye(d) * v for v in c]),
    }[gm.covariance_type](gm.covariances_)


def observed_loglik(X, weights, means, covs):
    """Mixture log-density of the observed part of each row, with scipy."""
    out = np.empty(len(X))
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        dens = sum(
            w * stats.multivariate_normal(mu[o], cov[np.ix_(o, o)]).pdf(row[o])
            for w, mu, cov in zip(weights, means, covs, strict=True)
        )
        out[i] = np.log(dens)
    return out


# ------------------------------------------------------------- Gaussian
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_densities_of_observed_part_match_scipy(covariance_type):
    X = knock_out(blobs(80), 0.3)
    gm = GaussianMixtureEM(2, covariance_type=covariance_type, random_state=0).fit(X)
    expected = observed_loglik(X, gm.weights_, gm.means_, full_covs(gm))
    assert_allclose(gm.score_samples(X), expected, rtol=1e-9)
    proba = gm.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_fit_is_a_local_maximum_of_observed_likelihood(covariance_type):
    X = knock_out(blobs(150, seed=1), 0.25, seed=1)
    gm = GaussianMixtureEM(
        2, covariance_type=covariance_type, reg_covar=0.0, **tight()
    ).fit(X)
    assert gm.converged_
    assert np.all(np.diff(gm.lower_bounds_) >= -1e-10)
    covs = full_covs(gm)
    best = observed_loglik(X, gm.weights_, gm.means_, covs).sum()
    assert_allclose(best / len(X), gm.score(X), rtol=1e-9)
    rng = np.random.RandomState(0)
    for _ in range(5):  # no small move of the means or weights does better
        means = gm.means_ + rng.normal(scale=1e-3, size=gm.means_.shape)
        w = np.clip(gm.weights_ + rng.normal(scale=1e-3, size=2), 0.01, None)
        moved = observed_loglik(X, w / w.sum(), means, covs).sum()
        assert moved <= best + 1e-9


def test_one_component_equals_the_imputer():
    # K = 1 full Gaussian EM with missing values is exactly the imputer's
    # model; the imputer is independent code checked against closed forms.
    X = knock_out(blobs(200, seed=2), 0.3, seed=2)
    gm = GaussianMixtureEM(1, reg_covar=0.0, **tight()).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imp = MultivariateNormalImputer(reg_covar=0.0, tol=1e-12, max_iter=5000).fit(X)
    assert_allclose(gm.means_[0], imp.mean_, rtol=1e-7, atol=1e-9)
    assert_allclose(gm.covariances_[0], imp.covariance_, rtol=1e-6, atol=1e-9)


def test_diag_one_component_is_per_feature_observed_moments():
    X = knock_out(blobs(200, seed=3), 0.4, seed=3)
    # EM with expected statistics closes the gap geometrically (rate = the
    # missing fraction); run it to the floor of float64.
    gm = GaussianMixtureEM(
        1, covariance_type="diag", reg_covar=0.0, tol=0, max_iter=300
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    assert_allclose(gm.means_[0], np.nanmean(X, axis=0), rtol=1e-10)
    assert_allclose(gm.covariances_[0], np.nanvar(X, axis=0), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunked_and_weighted_equal_one_shot_and_repeated(covariance_type):
    X = knock_out(blobs(120, seed=4), 0.3, seed=4)
    start = gaussian_start(X, covariance_type)
    kwargs = dict(covariance_type=covariance_type, max_iter=10, tol=0.0, **start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = GaussianMixtureEM(2, **kwargs).fit(X)
        with config_context(working_memory=0.0005):
            chunked = GaussianMixtureEM(2, **kwargs).fit(X)
        sw = np.random.RandomState(0).randint(0, 3, size=len(X))
        weighted = GaussianMixtureEM(2, **kwargs).fit(X, sample_weight=sw)
        repeated = GaussianMixtureEM(2, **kwargs).fit(np.repeat(X, sw, axis=0))
    assert_allclose(chunked.means_, one.means_, rtol=1e-10)
    assert_allclose(chunked.covariances_, one.covariances_, rtol=1e-10)
    assert_allclose(weighted.means_, repeated.means_, rtol=1e-9)
    assert_allclose(weighted.covariances_, repeated.covariances_, rtol=1e-9)


def test_complete_rows_take_the_complete_path():
    X = blobs(100, seed=5)
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    params = gm._em_prepare(gm._em_load())
    cache = {}
    gm._component_log_prob(X, params, cache=cache)
    assert "missing" not in cache  # no NaN: the untouched fast path


def test_missing_fit_close_to_complete_fit():
    X = blobs(2000, seed=6)
    complete = GaussianMixtureEM(2, random_state=0).fit(X)
    partial = GaussianMixtureEM(2, random_state=0).fit(knock_out(X, 0.2, seed=6))
    order = np.argsort(partial.means_[:, 0])
    ref = np.argsort(complete.means_[:, 0])
    assert_allclose(partial.means_[order], complete.means_[ref], atol=0.1)
    assert_allclose(partial.weights_[order], complete.weights_[ref], atol=0.02)


def test_rows_without_observed_values_are_refused():
    X = blobs(50)
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    X[7] = np.nan
    for call in (gm.fit, gm.predict, PoissonMixture().fit, CoinMixture(10).fit):
        with pytest.raises(ValueError, match="Row 7 of X has no observed value"):
            call(np.abs(X))


# ---------------------------------------------------- counts and coins
def test_poisson_missing_counts():
    X, _ = make_poisson_mixture(
        n_samples=400,
        rates=[[2.0, 8.0], [9.0, 1.0]],
        weights=[0.5, 0.5],
        random_state=0,
    )
    Xm = knock_out(X, 0.3, seed=7)
    one = PoissonMixture(1, **tight()).fit(Xm)
    assert_allclose(one.rates_[0], np.nanmean(Xm, axis=0), rtol=1e-9)
    pm = PoissonMixture(2, random_state=0, **tight()).fit(Xm)
    expected = np.log(
        sum(
            w * np.exp(np.nansum(stats.poisson.logpmf(Xm, rate), axis=1))
            for w, rate in zip(pm.weights_, pm.rates_, strict=True)
        )
    )
    assert_allclose(pm.score_samples(Xm), expected, rtol=1e-10)
    assert np.all(np.diff(pm.lower_bounds_) >= -1e-12)
    full = PoissonMixture(2, random_state=0).fit(X)
    assert_allclose(np.sort(pm.rates_, axis=0), np.sort(full.rates_, axis=0), rtol=0.15)


def test_coin_missing_rounds():
    X, _ = make_coin_rounds(
        n_rounds=400, n_trials=10, probs=[[0.2, 0.7], [0.8, 0.3]], random_state=0
    )
    Xm = knock_out(X, 0.3, seed=8)
    one = CoinMixture(1, n_trials=10, **tight()).fit(Xm)
    assert_allclose(one.probs_[0], np.nanmean(Xm, axis=0) / 10, rtol=1e-9)
    coins = CoinMixture(2, n_trials=10, random_state=0, **tight()).fit(Xm)
    expected = np.log(
        sum(
            w * np.exp(np.nansum(stats.binom.logpmf(Xm, 10, p), axis=1))
            for w, p in zip(coins.weights_, coins.probs_, strict=True)
        )
    )
    assert_allclose(coins.score_samples(Xm), expected, rtol=1e-10)
    assert np.all(np.diff(coins.lower_bounds_) >= -1e-12)


# ------------------------------------------------------------- impute
def test_impute_one_gaussian_equals_the_imputer():
    X = knock_out(blobs(200, seed=9), 0.3, seed=9)
    gm = GaussianMixtureEM(1, reg_covar=0.0, **tight()).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imp = MultivariateNormalImputer(reg_covar=0.0, tol=1e-12, max_iter=5000).fit(X)
    before = X.copy()
    filled = gm.impute(X)
    np.testing.assert_array_equal(X, before)  # input untouched
    observed = ~np.isnan(X)
    assert_allclose(filled[observed], X[observed])
    assert_allclose(filled, imp.transform(X), rtol=1e-6, atol=1e-6)


def test_impute_is_posterior_weighted_conditional_mean():
    X = knock_out(blobs(300, seed=10), 0.2, seed=10)
    gm = GaussianMixtureEM(2, covariance_type="full", random_state=0).fit(X)
    row = np.array([[5.2, np.nan, np.nan]])
    covs = full_covs(gm)
    o, m = np.array([0]), np.array([1, 2])
    dens = np.array(
        [
            w * stats.norm(mu[0], np.sqrt(c[0, 0])).pdf(row[0, 0])
            for w, mu, c in zip(gm.weights_, gm.means_, covs, strict=True)
        ]
    )
    post = dens / dens.sum()
    cond = [
        mu[m] + c[np.ix_(m, o)] @ np.linalg.solve(c[np.ix_(o, o)], row[0, o] - mu[o])
        for mu, c in zip(gm.means_, covs, strict=True)
    ]
    expected = post @ np.array(cond)
    assert_allclose(gm.impute(row)[0, m], expected, rtol=1e-9)


def test_impute_counts_and_coins_one_component():
    X, _ = make_poisson_mixture(
        n_samples=300, rates=[[3.0, 7.0]], weights=[1.0], random_state=1
    )
    Xm = knock_out(X, 0.3, seed=11)
    pm = PoissonMixture(1, **tight()).fit(Xm)
    filled = pm.impute(Xm)
    assert_allclose(filled[np.isnan(Xm)[:, 1], 1], np.nanmean(Xm[:, 1]), rtol=1e-9)
    X, _ = make_coin_rounds(
        n_rounds=300, n_trials=10, probs=[[0.3, 0.6]], random_state=1
    )
    Xm = knock_out(X, 0.3, seed=12)
    coins = CoinMixture(1, n_trials=10, **tight()).fit(Xm)
    filled = coins.impute(Xm)
    assert_allclose(filled[np.isnan(Xm)[:, 0], 0], np.nanmean(Xm[:, 0]), rtol=1e-9)


def test_rows_by_number_missing_are_not_mistaken_for_a_run():
    # Rows 0-3 with gaps, in order of their number of missing entries, are
    # 0, 2, 1, 3: consecutive indices but not a run of the chunk.
    X = np.arange(20.0).reshape(5, 4)
    X[0, 0] = X[1, :2] = X[2, 1] = X[3, :2] = np.nan
    rows = missing_rows(X)
    assert list(np.arange(5)[rows.missing]) == [0, 2, 1, 3]
    np.testing.assert_array_equal(rows.X_missing, X[[0, 2, 1, 3]])
    assert list(np.arange(5)[rows.complete]) == [4]
