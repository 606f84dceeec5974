"""The conditional-Gaussian kernel alone, against textbook formulas.

Every expected value is computed row by row, independently of the kernel:
observed-block log-densities with ``scipy.stats.multivariate_normal``,
conditional means and covariances with the formulas
``mu_m + S_mo S_oo^-1 (x_o - mu_o)`` and ``S_mm - S_mo S_oo^-1 S_om`` in
``numpy.linalg``.
"""

import numpy as np
import pytest
from _conditional_helpers import (
    kernel_inputs,
    random_covariances,
    textbook,
    textbook_moments,
)
from numpy.testing import assert_allclose, assert_array_equal

from emmix._conditional_gaussian import (
    condition_on_observed,
    condition_on_observed_diag,
    expected_stats,
    missing_patterns,
)


def random_rows(rng, n_samples, n_features, rate=0.4, all_missing_rows=()):
    X = rng.normal(scale=2.0, size=(n_samples, n_features)) + 3.0
    mask = rng.rand(n_samples, n_features) < rate
    mask[list(all_missing_rows)] = True
    X[mask] = np.nan
    return X, mask


def conditional_covariance(conditional, row, component):
    """The kernel's ``C`` of one row and component, in its missing block."""
    d = conditional.mask.shape[1]
    out = np.zeros((d, d))
    for group, cond_cov in conditional.blocks:
        where = np.flatnonzero(group.rows == row)
        if where.size:
            p = group.pattern[where[0]]
            m = group.missing[p]
            k = component if cond_cov.shape[0] > 1 else 0
            out[np.ix_(m, m)] = cond_cov[k, p]
    return out


def test_missing_patterns_cover_each_incomplete_row_once():
    rng = np.random.RandomState(0)
    _, mask = random_rows(rng, 300, 70, rate=0.05, all_missing_rows=[3])
    mask[:40, :5] = True  # repeated patterns
    patterns = missing_patterns(mask)
    assert_array_equal(patterns.n_observed, (~mask).sum(axis=1))
    seen = np.zeros(len(mask), dtype=int)
    for group in patterns.groups:
        assert np.all(np.diff(group.rows) > 0)
        m = group.missing.shape[1]
        assert m > 0
        assert len(np.unique(group.missing, axis=0)) == len(group.missing)
        for row, p in zip(group.rows, group.pattern, strict=True):
            assert_array_equal(group.missing[p], np.flatnonzero(mask[row]))
        seen[group.rows] += 1
    assert_array_equal(seen, mask.any(axis=1).astype(int))


@pytest.mark.parametrize("shared", [False, True])
def test_log_prob_and_conditional_moments_match_textbook(shared):
    rng = np.random.RandomState(1)
    n_components, n_features = 3, 5
    covs = random_covariances(rng, n_components, n_features)
    if shared:  # one covariance for every component (tied)
        covs = np.repeat(covs[:1], n_components, axis=0)
    means = rng.normal(size=(n_components, n_features)) + 3.0
    X, mask = random_rows(rng, 60, n_features, all_missing_rows=[5])
    means, precision, whiten, log_det = kernel_inputs(means, covs)
    if shared:
        precision, whiten, log_det = precision[:1], whiten[:1], log_det[:1]
    conditional = condition_on_observed(X, mask, means, precision, whiten, log_det)
    assert conditional.filled.shape == (n_components, *X.shape)
    assert conditional.log_prob.shape == (n_components, len(X))
    for k in range(n_components):
        for i, x in enumerate(X):
            log_prob, xhat, cond = textbook(x, means[k], covs[k])
            assert_allclose(conditional.log_prob[k, i], log_prob, rtol=1e-12)
            assert_allclose(
                conditional.filled[k, i] + means[k], xhat, rtol=1e-12, atol=1e-12
            )
            assert_allclose(conditional_covariance(conditional, i, k), cond, atol=1e-12)


def test_several_components_are_one_component_each():
    rng = np.random.RandomState(2)
    covs = random_covariances(rng, 2, 4)
    means, precision, whiten, log_det = kernel_inputs(rng.normal(size=(2, 4)), covs)
    X, mask = random_rows(rng, 50, 4)
    both = condition_on_observed(X, mask, means, precision, whiten, log_det)
    for k in range(2):
        one = condition_on_observed(
            X, mask, means[[k]], precision[[k]], whiten[[k]], log_det[[k]]
        )
        assert_allclose(both.filled[k], one.filled[0], rtol=1e-13, atol=1e-13)
        assert_allclose(both.log_prob[k], one.log_prob[0], rtol=1e-13)


def test_ignores_the_values_at_missing_entries():
    rng = np.random.RandomState(3)
    cov = random_covariances(rng, 1, 4)
    inputs = kernel_inputs(rng.normal(size=(1, 4)), cov)
    X, mask = random_rows(rng, 30, 4)
    marked = np.where(mask, -999.0, X)
    a = condition_on_observed(X, mask, *inputs)
    b = condition_on_observed(marked, mask, *inputs)
    assert_array_equal(a.filled, b.filled)
    assert_array_equal(a.log_prob, b.log_prob)


def test_posterior_draws_have_the_conditional_distribution():
    rng = np.random.RandomState(4)
    cov = random_covariances(rng, 1, 4)[0]
    mean = rng.normal(size=4)
    x = np.array([np.nan, 0.5, np.nan, -1.0])
    n_draws = 20000
    X = np.tile(x, (n_draws, 1))
    mask = np.isnan(X)
    noise = rng.standard_normal(size=X.shape)
    inputs = kernel_inputs(mean[np.newaxis], cov[np.newaxis])
    draws = condition_on_observed(X, mask, *inputs, noise=noise).filled[0] + mean
    _, xhat, cond = textbook(x, mean, cov)
    m = mask[0]
    assert_array_equal(draws[:, ~m], X[:, ~m])
    # Each draw is xhat + U z with U U^T = C: its Mahalanobis norm under C is
    # the norm of the draws at its missing entries, exactly.
    offset = draws[:, m] - xhat[m]
    c_mm = cond[np.ix_(m, m)]
    mahalanobis = np.einsum("ij,ij->i", offset, np.linalg.solve(c_mm, offset.T).T)
    assert_allclose(mahalanobis, np.sum(noise[:, m] ** 2, axis=1), rtol=1e-10)
    # And their moments are those of N(xhat_m, C) (about 5 standard errors).
    se = np.sqrt(np.diag(c_mm) / n_draws)
    assert np.all(np.abs(offset.mean(axis=0)) < 5 * se)
    assert_allclose(np.cov(offset.T), c_mm, rtol=0.05)


def test_expected_stats_are_the_filled_moments_plus_conditional_covariances():
    rng = np.random.RandomState(5)
    n_components, n_features = 2, 4
    covs = random_covariances(rng, n_components, n_features)
    means = rng.normal(size=(n_components, n_features))
    X, mask = random_rows(rng, 40, n_features)
    conditional = condition_on_observed(X, mask, *kernel_inputs(means, covs))
    resp = rng.rand(len(X), n_components)
    ref = rng.normal(size=n_features)
    centred = conditional.filled + means[:, np.newaxis, :] - ref
    s1, s2 = expected_stats(centred, resp, conditional)
    for k in range(n_components):
        e1, e2 = textbook_moments(X, resp[:, k], means[k], covs[k], ref)
        assert_allclose(s1[k], e1, rtol=1e-11)
        assert_allclose(s2[k], e2, rtol=1e-11)


def test_diagonal_kernel_matches_textbook():
    rng = np.random.RandomState(6)
    n_components, n_features = 3, 4
    variances = rng.uniform(0.5, 2.0, size=(n_components, n_features))
    means = rng.normal(size=(n_components, n_features))
    X, mask = random_rows(rng, 50, n_features, all_missing_rows=[0])
    conditional = condition_on_observed_diag(X, mask, means, variances)
    resp = rng.rand(len(X), n_components)
    ref = rng.normal(size=n_features)
    centred = conditional.filled + means[:, np.newaxis, :] - ref
    s1, s2 = expected_stats(centred, resp, conditional)
    for k in range(n_components):
        cov = np.diag(variances[k])
        e1 = np.zeros(n_features)
        e2 = np.zeros(n_features)
        for i, x in enumerate(X):
            log_prob, xhat, cond = textbook(x, means[k], cov)
            assert_allclose(conditional.log_prob[k, i], log_prob, rtol=1e-12)
            assert_allclose(conditional.filled[k, i] + means[k], xhat, rtol=1e-12)
            e1 += resp[i, k] * (xhat - ref)
            e2 += resp[i, k] * ((xhat - ref) ** 2 + np.diag(cond))
        assert_allclose(s1[k], e1, rtol=1e-11)
        assert_allclose(s2[k], e2, rtol=1e-11)


def test_float32_rows_stay_float32():
    rng = np.random.RandomState(7)
    covs = random_covariances(rng, 2, 3)
    inputs = [
        a.astype(np.float32) for a in kernel_inputs(rng.normal(size=(2, 3)), covs)
    ]
    X, mask = random_rows(rng, 20, 3)
    conditional = condition_on_observed(X.astype(np.float32), mask, *inputs)
    assert conditional.filled.dtype == np.float32
    resp = rng.rand(20, 2).astype(np.float32)
    s1, s2 = expected_stats(conditional.filled, resp, conditional)
    assert s1.dtype == s2.dtype == np.float32


def test_singular_precision_block_is_named():
    cov = np.eye(3)[np.newaxis]
    means, precision, whiten, log_det = kernel_inputs(np.zeros((1, 3)), cov)
    precision = precision.copy()
    precision[0, 1, 1] = -1.0  # not positive definite on feature 1
    X = np.array([[0.0, np.nan, 1.0]])
    with pytest.raises(ValueError, match=r"component 0 .* missing features \[1\]"):
        condition_on_observed(X, np.isnan(X), means, precision, whiten, log_det)
