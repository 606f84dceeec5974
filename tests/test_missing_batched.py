"""The batched missing-value E-step of GaussianMixtureEM against textbook sums.

Each fast form (diagonal covariances as matrix products, one shared covariance
conditioned once for all components, the Gauss-Jordan block inverses) is
checked against direct per-row computations: scipy.stats marginal densities
of the observed block, and the conditional mean and covariance
``mu_m + S_mo S_oo^-1 (x_o - mu_o)``, ``S_mm - S_mo S_oo^-1 S_om`` summed row
by row.
"""

from __future__ import annotations

import numpy as np
import pytest
from _conditional_helpers import assert_shared_equals_general
from numpy.testing import assert_allclose
from scipy import stats
from scipy.special import logsumexp

from emmix import GaussianMixtureEM, MultivariateNormalImputer
from emmix._conditional_gaussian import (
    _spd_inverse,
    condition_on_observed,
    condition_on_observed_diag,
    condition_on_observed_shared,
    diag_features,
    expected_stats,
    expected_stats_diag,
    missing_patterns,
    observed_log_prob_diag,
)
from emmix.mixture._gaussian_missing import (
    conditional_means,
    missing_log_prob,
    missing_stats,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def holes(X, rate, rng):
    X = X.copy()
    mask = rng.rand(*X.shape) < rate
    mask[mask.all(axis=1), 0] = False
    X[mask] = np.nan
    return X


def random_model(covariance_type, k, d, rng):
    means = rng.normal(scale=2.0, size=(k, d))
    full = []
    for _ in range(k):
        A = rng.normal(size=(d, d))
        full.append(A @ A.T / d + 0.5 * np.eye(d))
    full = np.array(full)
    if covariance_type == "tied":
        full = np.repeat(full[:1], k, axis=0)
    elif covariance_type == "diag":
        full = np.array([np.diag(np.diag(c)) for c in full])
    elif covariance_type == "spherical":
        full = np.array([np.eye(d) * c[0, 0] for c in full])
    return means, full


def as_params(covariance_type, full):
    """(covariances, precisions_cholesky) in GaussianMixtureEM's layout."""
    if covariance_type == "full":
        cov = full
    elif covariance_type == "tied":
        cov = full[0]
    elif covariance_type == "diag":
        cov = np.array([np.diag(c) for c in full])
    else:
        cov = np.array([c[0, 0] for c in full])
    if covariance_type in ("full", "tied"):
        stack = cov if covariance_type == "full" else cov[np.newaxis]
        chol = np.array([np.linalg.cholesky(np.linalg.inv(c)) for c in stack])
        return cov, chol if covariance_type == "full" else chol[0]
    return cov, 1.0 / np.sqrt(cov)


def textbook(X, means, full):
    """Per row and component: log p(x_o), E[x | x_o] and Cov[x | x_o]."""
    n, d = X.shape
    k = len(means)
    log_prob = np.zeros((n, k))
    xhat = np.zeros((n, k, d))
    cond = np.zeros((n, k, d, d))
    for i in range(n):
        o = ~np.isnan(X[i])
        m = ~o
        for j in range(k):
            S, mu = full[j], means[j]
            S_oo = S[np.ix_(o, o)]
            log_prob[i, j] = stats.multivariate_normal(mu[o], S_oo).logpdf(X[i, o])
            B = S[np.ix_(m, o)] @ np.linalg.inv(S_oo)
            xhat[i, j, o] = X[i, o]
            xhat[i, j, m] = mu[m] + B @ (X[i, o] - mu[o])
            cond[i, j][np.ix_(m, m)] = S[np.ix_(m, m)] - B @ S[np.ix_(o, m)]
    return log_prob, xhat, cond


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_fast_forms_match_textbook(covariance_type, order):
    rng = np.random.RandomState(3)
    n, d, k = 150, 5, 3
    means, full = random_model(covariance_type, k, d, rng)
    X = holes(rng.normal(scale=2.0, size=(n, d)), 0.35, rng)
    X = np.asarray(X, order=order)
    mask = np.isnan(X)
    cov, chol = as_params(covariance_type, full)
    shift = rng.normal(size=d)
    log_prob, fill = missing_log_prob(
        X, mask, means, cov, chol, covariance_type, shift=shift
    )
    expected_lp, xhat, cond = textbook(X, means, full)
    assert_allclose(log_prob, expected_lp, rtol=1e-11, atol=1e-11)
    assert_allclose(conditional_means(fill, X, mask), xhat, rtol=1e-11, atol=1e-11)

    resp = rng.dirichlet(np.ones(k), size=n) * rng.randint(0, 4, size=(n, 1))
    centred = xhat - shift
    s1 = np.einsum("nk,nkd->kd", resp, centred)
    s2 = np.einsum("nk,nkd,nke->kde", resp, centred, centred)
    s2 += np.einsum("nk,nkde->kde", resp, cond)
    # The statistics around the shift of the log-densities, and around another.
    for ref in (shift, shift + 1.5):
        got = missing_stats(resp, fill, ref, covariance_type)
        moved = shift - ref
        e1 = s1 + resp.sum(axis=0)[:, np.newaxis] * moved
        e2 = (
            s2
            + np.einsum("kd,e->kde", s1, moved)
            + np.einsum("d,ke->kde", moved, s1)
            + resp.sum(axis=0)[:, None, None] * np.outer(moved, moved)
        )
        if covariance_type == "full":
            rows, cols = np.triu_indices(d)
            e2 = e2[:, rows, cols]
        elif covariance_type == "tied":
            e2 = e2.sum(axis=0)
        elif covariance_type == "diag":
            e2 = np.diagonal(e2, axis1=1, axis2=2)
        else:
            e2 = np.trace(e2, axis1=1, axis2=2)
        assert_allclose(got["s1"], e1, rtol=1e-10, atol=1e-9)
        assert_allclose(got["s2"], e2, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fitted_mixture_scores_observed_marginals(covariance_type):
    rng = np.random.RandomState(5)
    centers = np.array([[0.0, 0, 0, 0], [4, 1, -2, 0], [0, 5, 1, 3]])
    X = rng.normal(size=(600, 4)) + centers[rng.randint(3, size=600)]
    X = holes(X, 0.25, rng)
    weights = rng.randint(0, 3, size=len(X)).astype(float)
    model = GaussianMixtureEM(
        3, covariance_type=covariance_type, random_state=0, max_iter=30
    ).fit(X, sample_weight=weights)
    cov = model.covariances_
    full = {
        "full": lambda: cov,
        "tied": lambda: np.repeat(cov[np.newaxis], 3, axis=0),
        "diag": lambda: np.array([np.diag(c) for c in cov]),
        "spherical": lambda: np.array([np.eye(4) * c for c in cov]),
    }[covariance_type]()
    log_prob, xhat, _ = textbook(X, model.means_, full)
    joint = log_prob + np.log(model.weights_)
    assert_allclose(model.score_samples(X), logsumexp(joint, axis=1), rtol=1e-10)
    resp = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    assert_allclose(model.predict_proba(X), resp, rtol=1e-8, atol=1e-12)
    assert_allclose(
        model.impute(X), np.einsum("nk,nkd->nd", resp, xhat), rtol=1e-9, atol=1e-9
    )
    assert np.all(np.diff(model.lower_bounds_) >= -1e-10)


def test_shared_kernel_equals_general_kernel():
    rng = np.random.RandomState(7)
    n, d, k = 300, 6, 4
    means, full = random_model("tied", k, d, rng)
    X = holes(rng.normal(scale=2.0, size=(n, d)), 0.4, rng)
    mask = np.isnan(X)
    precision = np.linalg.inv(full[0])
    whiten = np.linalg.cholesky(precision)
    log_det = np.linalg.slogdet(full[0])[1]
    patterns = missing_patterns(mask)
    general = condition_on_observed(
        X, mask, means, precision[None], whiten[None], [log_det], patterns=patterns
    )
    ref = X[~mask].mean() * np.ones(d)
    centred = np.where(mask, 0.0, X - ref)
    shared = condition_on_observed_shared(
        centred, means - ref, precision, whiten, log_det, patterns
    )
    assert_allclose(shared.log_prob, general.log_prob.T, rtol=1e-12)
    resp = rng.dirichlet(np.ones(k), size=n)
    assert_shared_equals_general(shared, general, means, ref, resp)


def test_diag_products_equal_diag_kernel():
    rng = np.random.RandomState(8)
    n, d, k = 200, 5, 3
    means = rng.normal(size=(k, d))
    variances = rng.uniform(0.3, 2.0, size=(k, d))
    X = holes(rng.normal(size=(n, d)), 0.3, rng)
    mask = np.isnan(X)
    ref = rng.normal(size=d)
    conditional = condition_on_observed_diag(X, mask, means, variances)
    observed = (~mask).astype(float)
    features = diag_features(np.where(mask, 0.0, X).T, observed.T, ref)
    log_prob = observed_log_prob_diag(features, means - ref, variances)
    assert_allclose(log_prob, conditional.log_prob.T, rtol=1e-12)
    resp = rng.dirichlet(np.ones(k), size=n)
    filled = conditional.filled + (means - ref)[:, np.newaxis, :]
    s1, s2 = expected_stats(filled, resp, conditional)
    t1, t2 = expected_stats_diag(features, resp, means - ref, variances)
    assert_allclose(t1, s1, rtol=1e-12, atol=1e-12)
    assert_allclose(t2, s2, rtol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 5, 8])
def test_gauss_jordan_inverse(m):
    rng = np.random.RandomState(m)
    A = rng.normal(size=(3, 7, m, m))
    blocks = A @ np.swapaxes(A, -1, -2) + 0.1 * np.eye(m)
    inverse, log_det, positive = _spd_inverse(blocks)
    assert positive.all()
    assert_allclose(inverse, np.linalg.inv(blocks), rtol=1e-9, atol=1e-12)
    assert_allclose(log_det, np.linalg.slogdet(blocks)[1], rtol=1e-12)
    blocks[1, 2] = -blocks[1, 2]  # negative definite
    _, _, positive = _spd_inverse(blocks)
    assert not positive[1, 2] and positive.sum() == positive.size - 1


def test_imputer_fills_fortran_ordered_rows():
    rng = np.random.RandomState(9)
    X = rng.normal(size=(200, 3)) @ np.array([[1, 0.8, 0.3], [0, 1, 0.5], [0, 0, 1]])
    X = holes(X, 0.3, rng)
    imputer = MultivariateNormalImputer().fit(X)
    c_filled = imputer.transform(np.ascontiguousarray(X))
    f_filled = imputer.transform(np.asfortranarray(X))
    assert_allclose(f_filled, c_filled, rtol=1e-14)
    mu, S = imputer.mean_, imputer.covariance_
    i = np.flatnonzero(np.isnan(X).any(axis=1))[0]
    o = ~np.isnan(X[i])
    expected = mu[~o] + S[np.ix_(~o, o)] @ np.linalg.solve(
        S[np.ix_(o, o)], X[i, o] - mu[o]
    )
    assert_allclose(c_filled[i, ~o], expected, rtol=1e-10)


def test_shared_kernel_names_a_singular_block():
    precision = np.eye(3)
    precision[1, 1] = -1.0  # not positive definite on feature 1
    X = np.array([[0.0, np.nan, 1.0], [1.0, 2.0, np.nan]])
    mask = np.isnan(X)
    with pytest.raises(ValueError, match=r"component 0 .* missing features \[1\]"):
        condition_on_observed_shared(
            np.where(mask, 0.0, X),
            np.zeros((2, 3)),
            precision,
            np.eye(3),
            0.0,
            missing_patterns(mask),
        )
