"""Gaussian mixture E-step for rows with missing entries (NaN).

For a row with observed block ``o`` and missing block ``m`` and a component
``k`` with mean ``mu`` and covariance ``S``:

* its log-density is that of the observed block, ``N(x_o; mu_o, S_oo)``
  (the missing block is integrated out);
* given the row and the component, the missing block is normal with mean
  ``xhat_m = mu_m + S_mo S_oo^-1 (x_o - mu_o)`` and covariance
  ``C = S_mm - S_mo S_oo^-1 S_om``;
* the expected sufficient statistics are those of the filled row ``xhat``
  (observed values kept) plus ``C`` in the missing block of the second
  moment, so the M-step is unchanged.

Rows are grouped by missingness pattern: one factorisation per pattern and
component, vectorised over the rows of the pattern. Diagonal and spherical
covariances need no pattern at all (the features are independent within a
component). The statistics are the same dict as the complete-data E-step
(``s1``, ``s2`` taken around ``shift``), so chunks with and without missing
values add up.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["missing_log_prob", "missing_patterns", "missing_stats"]

_LOG_2PI = math.log(2 * math.pi)


def missing_patterns(mask):
    """Row groups with the same missingness: ``[(rows, observed, missing)]``."""
    keys, inverse = np.unique(mask, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    groups = []
    for p, key in enumerate(keys):
        rows = order[bounds[p] : bounds[p + 1]]
        groups.append((rows, np.flatnonzero(~key), np.flatnonzero(key)))
    return groups


def _full_covariances(covariances, covariance_type, n_components):
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, *covariances.shape))
    return covariances


def missing_log_prob(X, mask, means, covariances, covariance_type, patterns=None):
    """Log-densities of the observed part of each row, and the conditional fill.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows with at least one observed value; NaN marks a missing entry.
    mask : ndarray of bool, same shape
        True where missing.
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        Shaped by ``covariance_type`` (as ``GaussianMixtureEM.covariances_``).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    patterns : list, default=None
        ``missing_patterns(mask)``, if already computed (it depends on the rows
        only, so a fit computes it once per chunk).

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
    fill : dict
        What :func:`missing_stats` needs: the filled rows per component
        (``xhat``, shape (n_samples, n_components, n_features)) and the
        conditional covariances of the missing blocks.
    """
    n, d = X.shape
    k = means.shape[0]
    observed = ~mask
    X0 = np.where(mask, 0.0, X).astype(X.dtype, copy=False)
    if covariance_type in ("diag", "spherical"):
        variances = (
            covariances
            if covariance_type == "diag"
            else np.repeat(covariances[:, np.newaxis], d, axis=1)
        )
        diff = X0[:, np.newaxis, :] - means[np.newaxis]  # (n, k, d)
        terms = diff * diff / variances + np.log(variances) + _LOG_2PI
        log_prob = -0.5 * np.einsum("nkd,nd->nk", terms, observed.astype(X.dtype))
        xhat = np.where(mask[:, np.newaxis, :], means[np.newaxis], X0[:, np.newaxis])
        cond_var = mask[:, np.newaxis, :] * variances[np.newaxis]  # (n, k, d)
        return log_prob, {"xhat": xhat, "cond_var": cond_var}

    covs = _full_covariances(covariances, covariance_type, k)
    log_prob = np.empty((n, k), dtype=X.dtype)
    xhat = np.repeat(X0[:, np.newaxis, :], k, axis=1)
    blocks = []  # (rows, missing index, C of shape (k, |m|, |m|))
    components = np.arange(k)
    for rows, o, m in missing_patterns(mask) if patterns is None else patterns:
        # One batch over the components for each pattern.
        q = len(o)
        s_oo = covs[:, o[:, np.newaxis], o[np.newaxis, :]]  # (k, q, q)
        chol = _cholesky_or_raise(s_oo, o)
        chol_inv = np.linalg.inv(chol)  # lower triangular, (k, q, q)
        centred = X0[np.ix_(rows, o)][np.newaxis] - means[:, np.newaxis, o]
        z = centred @ np.swapaxes(chol_inv, 1, 2)  # (k, r, q): L^-1 (x_o - mu_o)
        log_det = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        log_prob[rows] = (
            -0.5 * (q * _LOG_2PI + log_det[:, np.newaxis] + np.sum(z * z, axis=2))
        ).T
        if len(m):
            s_mo = covs[:, m[:, np.newaxis], o[np.newaxis, :]]  # (k, |m|, q)
            # S_mo S_oo^-1 (x_o - mu_o) = (L^-1 S_om)^T z with S_oo = L L^T.
            a = chol_inv @ np.swapaxes(s_mo, 1, 2)  # (k, q, |m|)
            filled = means[:, np.newaxis, m] + z @ a  # (k, r, |m|)
            xhat[np.ix_(rows, components, m)] = np.swapaxes(filled, 0, 1)
            cond = (
                covs[:, m[:, np.newaxis], m[np.newaxis, :]] - np.swapaxes(a, 1, 2) @ a
            )
            blocks.append((rows, m, cond))
    return log_prob, {"xhat": xhat, "blocks": blocks}


def _cholesky_or_raise(matrices, observed):
    """Batched lower Cholesky factors; a clear error names a singular block."""
    try:
        return np.linalg.cholesky(matrices)
    except np.linalg.LinAlgError:
        for j, matrix in enumerate(matrices):
            try:
                np.linalg.cholesky(matrix)
            except np.linalg.LinAlgError:
                raise ValueError(
                    "Fitting the mixture model failed: the covariance of component "
                    f"{j} is singular on the observed features {observed.tolist()} "
                    "of some rows. Increase reg_covar, decrease the number of "
                    "components, or scale the input data."
                ) from None
        raise  # pragma: no cover - one of them failed above


def missing_stats(resp, fill, shift, covariance_type):
    """Expected sufficient statistics of rows with missing values.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Responsibilities times sample weights.
    fill : dict
        From :func:`missing_log_prob` for the same rows and parameters.
    shift : ndarray of shape (n_features,)
        The centring point of the complete-data statistics.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}

    Returns
    -------
    stats : dict
        ``s1`` and ``s2`` in the layout of the complete-data E-step.
    """
    xc = fill["xhat"] - shift  # (n, k, d)
    s1 = np.einsum("nk,nkd->kd", resp, xc)
    d = xc.shape[2]
    if covariance_type in ("diag", "spherical"):
        s2 = np.einsum("nk,nkd->kd", resp, xc * xc + fill["cond_var"])
        if covariance_type == "spherical":  # summed over features, as complete
            s2 = s2.sum(axis=1)
        return {"s1": s1, "s2": s2}
    scatter = np.einsum("nk,nkd,nke->kde", resp, xc, xc)
    for rows, m, cond in fill["blocks"]:
        weight = resp[rows].sum(axis=0)  # (k,)
        scatter[np.ix_(np.arange(len(weight)), m, m)] += weight[:, None, None] * cond
    if covariance_type == "tied":
        return {"s1": s1, "s2": scatter.sum(axis=0)}
    rows_idx, cols_idx = np.triu_indices(d)
    return {"s1": s1, "s2": scatter[:, rows_idx, cols_idx]}
