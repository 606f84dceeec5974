"""The expanded missing-value E-step (full covariances) and the bordered inverses.

Expected values come from ``scipy.stats.multivariate_normal`` on each row's
observed block, the textbook conditional moments in ``numpy.linalg`` (see
``_conditional_helpers.textbook``), ``numpy.linalg.inv``/``slogdet`` for
the pattern inverses, and the general kernel (:func:`condition_on_observed`,
which whitens the filled rows and has no cancellation) for the fits.
"""

import numpy as np
import pytest
from _conditional_helpers import (
    assert_shared_equals_general,
    kernel_inputs,
    random_covariances,
    textbook,
    textbook_moments,
)
from numpy.testing import assert_allclose
from scipy import stats

import emmix._conditional_gaussian as cg
import emmix.mixture._gaussian_missing as gm
from emmix import GaussianMixtureEM
from emmix._conditional_gaussian import (
    bordered_inverses,
    condition_on_observed,
    condition_on_observed_expanded,
    condition_on_observed_shared,
    expected_stats_expanded,
    filled_expanded,
    missing_patterns,
    pattern_index,
)


def rows_with_gaps(rng, n, d, rate, *, all_missing=(), complete=()):
    X = rng.normal(scale=2.0, size=(n, d)) + 3.0
    mask = rng.rand(n, d) < rate
    mask[list(all_missing)] = True
    mask[list(complete)] = False
    X[mask] = np.nan
    return X, mask


def expanded(X, mask, means, covs, ref, dtype=np.float64):
    means, precision, whiten, log_det = kernel_inputs(means, covs)
    centred = np.where(mask, 0.0, X - ref).astype(dtype)
    patterns = missing_patterns(mask)
    conditional = condition_on_observed_expanded(
        centred,
        (means - ref).astype(dtype),
        precision.astype(dtype),
        whiten.astype(dtype),
        log_det.astype(dtype),
        patterns,
    )
    return conditional, patterns


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_prob_and_filled_rows_match_scipy(dtype):
    rng = np.random.RandomState(0)
    k, d = 3, 6
    covs = random_covariances(rng, k, d)
    means = rng.normal(size=(k, d)) + 3.0
    X, mask = rows_with_gaps(rng, 80, d, 0.35, all_missing=[4], complete=[7, 9])
    ref = np.nanmean(X, axis=0)
    conditional, _ = expanded(X, mask, means, covs, ref, dtype)
    assert conditional.log_prob.dtype == dtype
    assert conditional.log_prob.shape == (len(X), k)
    filled = filled_expanded(conditional, k) + ref.astype(dtype)
    rtol = 1e-11 if dtype == np.float64 else 2e-4
    for j in range(k):
        for i, x in enumerate(X):
            o = ~mask[i]
            expected = 0.0
            if o.any():
                expected = stats.multivariate_normal(
                    means[j, o], covs[j][np.ix_(o, o)]
                ).logpdf(x[o])
            assert_allclose(conditional.log_prob[i, j], expected, rtol=rtol, atol=rtol)
            _, xhat, _ = textbook(x, means[j], covs[j])
            assert_allclose(filled[j, i], xhat, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("signs", ["non-negative", "mixed"])
def test_expected_stats_are_the_textbook_moments(dtype, signs):
    rng = np.random.RandomState(1)
    k, d = 2, 5
    covs = random_covariances(rng, k, d)
    means = rng.normal(size=(k, d)) + 3.0
    X, mask = rows_with_gaps(rng, 60, d, 0.4, all_missing=[3], complete=[0])
    ref = np.nanmean(X, axis=0)
    conditional, _ = expanded(X, mask, means, covs, ref, dtype)
    resp = rng.rand(len(X), k)
    if signs == "mixed":  # the kernel must not assume sqrt(w) exists
        resp[::7] *= -1.0
    s1, s2 = expected_stats_expanded(resp.astype(dtype), conditional)
    assert s1.dtype == s2.dtype == dtype
    rtol = 1e-11 if dtype == np.float64 else 1e-4
    for j in range(k):
        e1, e2 = textbook_moments(X, resp[:, j], means[j], covs[j], ref)
        scale = np.abs(e2).max()
        assert_allclose(s1[j], e1, rtol=rtol, atol=rtol * scale)
        assert_allclose(s2[j], e2, rtol=rtol, atol=rtol * scale)


def test_rows_in_any_order_give_the_same_result():
    """Pattern groups that are not runs of rows are gathered, not sliced."""
    rng = np.random.RandomState(2)
    k, d = 2, 4
    covs = random_covariances(rng, k, d)
    means = rng.normal(size=(k, d))
    X, mask = rows_with_gaps(rng, 50, d, 0.4, complete=[1, 2])
    by_count = np.argsort(mask.sum(axis=1), kind="stable")
    resp = rng.rand(len(X), k)
    a, pa = expanded(X, mask, means, covs, 0.0)
    b, pb = expanded(X[by_count], mask[by_count], means, covs, 0.0)
    index = pattern_index(pb, d, k)
    assert all(isinstance(rows, slice) for rows in index.rows)
    assert not all(isinstance(rows, slice) for rows in pattern_index(pa, d, k).rows)
    assert_allclose(b.log_prob, a.log_prob[by_count], rtol=1e-13)
    for x, y in zip(
        expected_stats_expanded(resp[by_count], b),
        expected_stats_expanded(resp, a),
        strict=True,
    ):
        assert_allclose(x, y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d, rate", [(12, 0.2), (7, 0.6), (3, 0.9), (9, 0.95)])
def test_bordered_inverses_are_the_inverses_of_each_block(d, rate):
    rng = np.random.RandomState(d)
    mask = rng.rand(400, d) < rate
    patterns = missing_patterns(mask)
    k = 3
    A = rng.normal(size=(k, d, d))
    precision = A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(d)
    inverses = bordered_inverses(precision, pattern_index(patterns, d, k))
    for group in patterns.groups:
        mis = group.missing
        blocks = precision[:, mis[:, :, None], mis[:, None, :]]  # (K, P, m, m)
        cond_cov, log_det = inverses[mis.shape[1]]
        assert_allclose(
            np.moveaxis(cond_cov, 3, 1), np.linalg.inv(blocks), rtol=1e-8, atol=1e-10
        )
        assert_allclose(log_det, np.linalg.slogdet(blocks)[1], rtol=1e-10, atol=1e-10)


def test_not_positive_definite_block_is_named():
    _, precision, whiten, log_det = kernel_inputs(np.zeros((1, 3)), np.eye(3)[None])
    precision = precision.copy()
    precision[0, 1, 1] = -1.0  # not positive definite on feature 1
    X = np.array([[0.0, np.nan, 1.0], [np.nan, np.nan, 2.0]])
    mask = np.isnan(X)
    patterns = missing_patterns(mask)
    assert bordered_inverses(precision, pattern_index(patterns, 3, 1)) is None
    with pytest.raises(ValueError, match=r"component 0 .* missing features \[1\]"):
        condition_on_observed_expanded(
            np.where(mask, 0.0, X), np.zeros((1, 3)), precision, whiten, log_det,
            patterns,
        )  # fmt: skip


def test_far_means_are_left_to_the_general_kernel():
    rng = np.random.RandomState(3)
    covs = random_covariances(rng, 2, 3) * 1e-4
    means = rng.normal(size=(2, 3)) + np.array([[0.0], [10.0]])  # 1e3 spreads
    X, mask = rows_with_gaps(rng, 20, 3, 0.3)
    conditional, _ = expanded(X, mask, means, covs, np.zeros(3))
    assert conditional is None


def test_cancelling_rows_are_recomputed(monkeypatch):
    """A missing entry that an observed one predicts almost exactly: the
    expanded distance cancels ~1e10 times its size, the filled row keeps it."""
    rng = np.random.RandomState(4)
    base = rng.normal(size=(2000, 2))
    X = np.column_stack([base, base[:, 0] + 1e-5 * rng.normal(size=2000)])
    cov = np.cov(X.T)[None]
    mean = X.mean(axis=0)[None]
    Y = X[:50].copy()
    Y[:, 2] = np.nan
    mask = np.isnan(Y)
    truth = stats.multivariate_normal(mean[0, :2], cov[0, :2, :2]).logpdf(Y[:, :2])
    # The precision itself is known to ~1e-6 only (condition number ~4e10):
    # the general kernel is as close as it gets.
    general = condition_on_observed(Y, mask, *kernel_inputs(mean, cov)).log_prob[0]
    assert_allclose(general, truth, rtol=1e-5)
    ref = mean[0] + 0.1
    conditional, _ = expanded(Y, mask, mean, cov, ref)
    assert_allclose(conditional.log_prob[:, 0], general, rtol=1e-12)
    # Without the recomputation the expansion alone is far off.
    monkeypatch.setattr(cg, "CANCELLATION_MAX", np.inf)
    lossy, _ = expanded(Y, mask, mean, cov, ref)
    assert np.max(np.abs(lossy.log_prob[:, 0] - general) / np.abs(general)) > 1e-9


def general_fit(monkeypatch, make, X, weights):
    """The fit with the expanded kernel turned off (the general kernel)."""
    with monkeypatch.context() as patch:
        patch.setattr(gm, "_expanded_fill", lambda *args, **kwargs: None)
        return make().fit(X, sample_weight=weights)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_full_fit_equals_the_general_kernel_fit(monkeypatch, dtype):
    rng = np.random.RandomState(5)
    X, _ = rows_with_gaps(rng, 600, 5, 0.25, complete=[4])
    X = X.astype(dtype)
    weights = rng.uniform(0.5, 2.0, size=len(X))

    def make():
        return GaussianMixtureEM(3, max_iter=15, tol=0.0, random_state=0)

    new = make().fit(X, sample_weight=weights)
    old = general_fit(monkeypatch, make, X, weights)
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    assert_allclose(new.lower_bounds_, old.lower_bounds_, rtol=rtol)
    assert_allclose(new.means_, old.means_, rtol=rtol, atol=rtol)
    assert_allclose(new.covariances_, old.covariances_, rtol=rtol, atol=rtol)
    assert_allclose(new.score_samples(X), old.score_samples(X), rtol=rtol)
    assert_allclose(new.predict_proba(X), old.predict_proba(X), atol=rtol)


def test_shared_kernel_matches_scipy_with_rows_in_any_order():
    rng = np.random.RandomState(6)
    k, d = 3, 5
    cov = random_covariances(rng, 1, d)[0]
    means = rng.normal(size=(k, d)) + 3.0
    X, mask = rows_with_gaps(rng, 70, d, 0.4, all_missing=[2], complete=[5])
    ref = np.nanmean(X, axis=0)
    precision = np.linalg.inv(cov)
    whiten = np.linalg.cholesky(precision)
    log_det = np.linalg.slogdet(cov)[1]
    patterns = missing_patterns(mask)
    shared = condition_on_observed_shared(
        np.where(mask, 0.0, X - ref), means - ref, precision, whiten, log_det, patterns
    )
    general = condition_on_observed(
        X, mask, means, precision[None], whiten[None], [log_det], patterns=patterns
    )
    for j in range(k):
        for i, x in enumerate(X):
            o = ~mask[i]
            if o.any():
                expected = stats.multivariate_normal(
                    means[j, o], cov[np.ix_(o, o)]
                ).logpdf(x[o])
                assert_allclose(shared.log_prob[i, j], expected, rtol=1e-11)
    resp = rng.dirichlet(np.ones(k), size=len(X)) * rng.uniform(0.5, 2, (len(X), 1))
    assert_shared_equals_general(shared, general, means, ref, resp)


def test_rows_without_gaps_and_a_single_feature():
    """No pattern at all (every row complete), and d = 1 with a row of nothing."""
    rng = np.random.RandomState(7)
    X = rng.normal(size=(10, 3))
    covs = random_covariances(rng, 2, 3)
    means = rng.normal(size=(2, 3))
    conditional, patterns = expanded(X, np.zeros(X.shape, bool), means, covs, 0.0)
    assert patterns.groups == ()
    for j in range(2):
        expected = stats.multivariate_normal(means[j], covs[j]).logpdf(X)
        assert_allclose(conditional.log_prob[:, j], expected, rtol=1e-12)
    resp = rng.rand(10, 2)
    s1, s2 = expected_stats_expanded(resp, conditional)
    assert_allclose(s2, np.einsum("nk,ni,nj->kij", resp, X, X), rtol=1e-12)
    assert_allclose(s1, resp.T @ X, rtol=1e-12)
    X1 = np.array([[1.0], [np.nan], [2.0]])
    one, _ = expanded(X1, np.isnan(X1), np.array([[0.5]]), np.array([[[2.0]]]), 0.0)
    expected = stats.norm(0.5, np.sqrt(2.0)).logpdf([1.0, 2.0])
    assert_allclose(one.log_prob[[0, 2], 0], expected, rtol=1e-12)
    assert one.log_prob[1, 0] == 0.0
    assert_allclose(filled_expanded(one, 1)[0, :, 0], [1.0, 0.5, 2.0], rtol=1e-12)
