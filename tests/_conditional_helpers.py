"""Shared by the tests of the conditional-Gaussian kernels: random
covariances, the kernels' inputs from numpy.linalg, and one row conditioned by
the textbook formulas (scipy's density of the observed block)."""

import numpy as np
from scipy import stats


def random_covariances(rng, n_components, n_features):
    A = rng.normal(size=(n_components, n_features, n_features))
    return A @ np.swapaxes(A, 1, 2) / n_features + 0.2 * np.eye(n_features)


def kernel_inputs(means, covariances):
    """Precision, a whitening factor and log-determinants, with numpy.linalg."""
    precision = np.linalg.inv(covariances)
    whiten = np.linalg.cholesky(precision)  # lower L, L L^T = Q
    log_det = np.linalg.slogdet(covariances)[1]
    return means, precision, whiten, log_det


def textbook(x, mean, cov):
    """Observed-block log-density, conditional mean and covariance of one row."""
    o, m = ~np.isnan(x), np.isnan(x)
    xhat = x.copy()
    cond = np.zeros((len(x), len(x)))
    if not o.any():
        xhat[m] = mean[m]
        cond[:] = cov
        return 0.0, xhat, cond
    log_prob = stats.multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(x[o])
    if m.any():
        s_oo, s_mo = cov[np.ix_(o, o)], cov[np.ix_(m, o)]
        xhat[m] = mean[m] + s_mo @ np.linalg.solve(s_oo, x[o] - mean[o])
        cond[np.ix_(m, m)] = cov[np.ix_(m, m)] - s_mo @ np.linalg.solve(s_oo, s_mo.T)
    return log_prob, xhat, cond


def textbook_moments(X, resp, mean, cov, ref):
    """``sum_i w_i (x̂_i - ref)`` and ``sum_i w_i ((x̂_i - ref)(x̂_i - ref)^T +
    C_i)`` of one component, row by row with :func:`textbook`."""
    d = X.shape[1]
    s1, s2 = np.zeros(d), np.zeros((d, d))
    for x, w in zip(X, resp, strict=True):
        _, xhat, cond = textbook(x, mean, cov)
        s1 += w * (xhat - ref)
        s2 += w * (np.outer(xhat - ref, xhat - ref) + cond)
    return s1, s2


def assert_shared_equals_general(shared, general, means, ref, resp):
    """The tied kernel's filled rows and statistics (around ``ref``) equal the
    general kernel's, summed over components where the covariance is shared."""
    from numpy.testing import assert_allclose

    from emmix._conditional_gaussian import (
        expected_stats,
        expected_stats_shared,
        filled_shared,
    )

    filled = general.filled + (means - ref)[:, np.newaxis, :]
    assert_allclose(filled_shared(shared), filled, rtol=1e-12, atol=1e-12)
    s1, s2 = expected_stats(filled, resp, general)
    t1, t2 = expected_stats_shared(resp, shared)
    assert_allclose(t1, s1, rtol=1e-12, atol=1e-12)
    assert_allclose(t2, s2.sum(axis=0), rtol=1e-12, atol=1e-11)
