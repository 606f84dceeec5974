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
