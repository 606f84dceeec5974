"""GaussianMixtureEM's rows with missing entries (NaN), in the mixture's layouts.

The maths (observed-block log-densities, conditional means and covariances
by missingness pattern, expected sufficient statistics) is the shared kernel
:mod:`emmix._conditional_gaussian`; this module only maps the mixture's
parameters per ``covariance_type`` onto it and its statistics back into the
complete-data layout (``s1``, ``s2`` around ``shift``), so that chunks with and
without missing values add up and the M-step is unchanged.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._compiled import (
    compiled_for,
    compiled_fused_estep,
    compiled_fused_missing_full,
    missing_full_workspace,
)
from .._conditional_gaussian import (
    CANCELLATION_MAX,
    EXPANDED_MAX_NORM,
    condition_on_observed,
    condition_on_observed_diag,
    condition_on_observed_expanded,
    condition_on_observed_shared,
    diag_features,
    diag_log_prob_weights,
    diag_stats_from_sums,
    expected_stats,
    expected_stats_diag,
    expected_stats_expanded,
    expected_stats_shared,
    filled_expanded,
    filled_shared,
    missing_patterns,
    observed_log_prob_diag,
    pattern_index,
)
from .._responsibilities import column_sums
from ..base import memoized

__all__ = [
    "MissingRows",
    "conditional_means",
    "fused_missing_diag",
    "fused_missing_full",
    "missing_log_prob",
    "missing_rows",
    "missing_stats",
    "packed_pairs",
    "rows_of",
]


class MissingRows(NamedTuple):
    """A chunk's rows split by whether they have a missing entry (NaN).

    Attributes
    ----------
    complete, missing : slice or ndarray of int
        The rows without and with a missing entry (those in increasing number
        of missing entries, in order within each number): a slice where they
        are consecutive, else their indices (see :func:`rows_of`).
    X_complete, X_missing : ndarray
        Those rows (views where they are slices).
    mask : ndarray of bool, shape of ``X_missing``
        True where an entry of ``X_missing`` is missing.
    """

    complete: slice | np.ndarray
    missing: slice | np.ndarray
    X_complete: np.ndarray
    X_missing: np.ndarray
    mask: np.ndarray


def rows_of(a, rows):
    """``a[rows]``: a view for a slice, ``take`` (a faster gather) otherwise."""
    return a[rows] if isinstance(rows, slice) else a.take(rows, axis=0)


def _run_as_slice(rows):
    """``rows`` as a slice where they are consecutive and increasing."""
    if len(rows) == 0:
        return slice(0, 0)
    if np.all(np.diff(rows) == 1):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


def missing_rows(X, cache=None) -> MissingRows | None:
    """``X`` split into complete rows and rows with NaN, or None without NaN.

    It depends on the rows only: kept in the chunk's fit-long memo, so an EM
    iteration does not scan and copy the rows again.
    """

    def compute():
        mask = np.isnan(X)
        if not mask.any():
            return None
        n_missing = mask.sum(axis=1)
        complete = np.flatnonzero(n_missing == 0)
        missing = np.flatnonzero(n_missing)
        # By number of missing entries: each pattern group of the rows with
        # gaps is then a run of consecutive rows (sliced, not gathered). In a
        # fit the chunk comes so ordered (GaussianMixtureEM._em_chunk_order):
        # both kinds of rows are then slices, and their copies views.
        missing = missing[np.argsort(n_missing[missing], kind="stable")]
        complete, missing = _run_as_slice(complete), _run_as_slice(missing)
        return MissingRows(
            complete=complete,
            missing=missing,
            X_complete=X[complete],
            X_missing=X[missing],
            mask=mask[missing],
        )

    return memoized(cache, "missing_rows", compute, large=True)


@lru_cache(maxsize=8)
def packed_pairs(n_features):
    """``np.triu_indices(n_features)``: the packed layout of the second
    moments (cached: about 70 microseconds a call, on every pass)."""
    rows, cols = np.triu_indices(n_features)
    rows.flags.writeable = False
    cols.flags.writeable = False
    return rows, cols


def _variances(covariances, covariance_type, n_features):
    if covariance_type == "diag":
        return covariances
    return np.repeat(covariances[:, np.newaxis], n_features, axis=1)


def _transposed_rows(X, mask):
    """The rows zero-filled at their missing entries and the observed mask
    (as numbers), both transposed: C-ordered (n_features, n_samples)."""
    zero_filled_t = np.ascontiguousarray(np.where(mask, 0.0, X).T, dtype=X.dtype)
    return zero_filled_t, np.ascontiguousarray((~mask).T, dtype=X.dtype)


def _centred_t(X, mask, shift, cache):
    """``(x - shift)^T`` with 0 at the missing entries, C-ordered (n_features,
    n_samples): the feature-major rows the full and tied kernels work on.

    The zero-filled rows and the observed mask, transposed, depend on the
    rows only: kept in the chunk's fit-long memo (in place of
    :func:`_zero_filled`'s, which these covariance types do not use), so
    that each pass reads them contiguously. So is the array the result is
    written into, once per pass (the kernels fill it in place; a new array
    of that size every pass costs page faults): the result lives until the
    next pass of the same chunk.
    """

    def compute():
        zero_filled_t, observed_t = _transposed_rows(X, mask)
        return zero_filled_t, observed_t, np.empty_like(zero_filled_t)

    zero_filled_t, observed_t, out = memoized(
        cache, "zero_filled_t", compute, large=True
    )
    centred_t = np.subtract(zero_filled_t, shift[:, np.newaxis], out=out)
    centred_t *= observed_t
    return centred_t


def _diag_features(X, mask, shift, cache):
    """:func:`~emmix._conditional_gaussian.diag_features` of the rows.

    Written each pass into one array kept in the chunk's fit-long memo, with
    the rows zero-filled and transposed: a new array of that size every pass
    costs more in page faults than the arithmetic done in it (1.4 against 0.1
    ms for 18,600 x 12 rows).
    """

    def compute():
        zero_filled_t, observed_t = _transposed_rows(X, mask)
        return zero_filled_t, diag_features(zero_filled_t, observed_t, shift)

    # (On the first pass the centred rows are written twice: once in
    # compute, once below; the features hold their own copy of the mask.)
    zero_filled_t, features = memoized(cache, "diag_features", compute, large=True)
    n_features = X.shape[1]
    observed_t = features[2 * n_features : 3 * n_features]
    return diag_features(zero_filled_t, observed_t, shift, out=features)


def _zero_filled(X, mask, cache):
    """The rows with 0 at the missing entries, and the masks as numbers.

    They depend on the rows only: kept in the chunk's fit-long memo.
    """

    def compute():
        observed = (~mask).astype(X.dtype)
        zero_filled = np.ascontiguousarray(np.where(mask, 0.0, X), dtype=X.dtype)
        return zero_filled, observed, 1.0 - observed

    return memoized(cache, "zero_filled", compute, large=True)


def _failed(error):
    return ValueError(
        f"Fitting the mixture model failed: {error} Increase reg_covar, "
        "decrease the number of components, or scale the input data."
    )


def _expanded_fill(X, mask, means, whiten, patterns, shift, cache):
    """Full covariances conditioned by products of the rows around ``shift``.

    Returns ``(log_prob, fill)`` as :func:`missing_log_prob`, or None where
    the expansion would lose precision (the caller conditions the rows one
    component at a time instead).
    """
    shift = shift.astype(X.dtype, copy=False)
    centred_t = _centred_t(X, mask, shift, cache)
    precision = whiten @ np.swapaxes(whiten, 1, 2)
    log_det = -2.0 * np.sum(np.log(np.diagonal(whiten, axis1=1, axis2=2)), 1)
    if patterns is None:
        patterns = missing_patterns(mask)
    try:
        conditional = condition_on_observed_expanded(
            centred_t.T,
            means - shift,
            precision,
            whiten,
            log_det,
            patterns,
            memoized(
                cache,
                "pattern_index",
                lambda: pattern_index(patterns, X.shape[1], len(means)),
                large=True,
            ),
        )
    except ValueError as error:
        raise _failed(error) from None
    if conditional is None:
        return None
    return conditional.log_prob.astype(X.dtype, copy=False), {
        "expanded": conditional,
        "shift": shift,
        "means": means,
    }


def missing_log_prob(
    X,
    mask,
    means,
    covariances,
    precisions_cholesky,
    covariance_type,
    patterns=None,
    *,
    shift=None,
    cache=None,
):
    """Log-densities of the observed part of each row, and the conditional fill.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows with at least one observed value; NaN marks a missing entry.
    mask : ndarray of bool, same shape
        True where missing.
    means : ndarray of shape (n_components, n_features)
    covariances, precisions_cholesky : ndarray
        Shaped by ``covariance_type`` (as ``GaussianMixtureEM.covariances_``
        and ``precisions_cholesky_``).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    patterns : MissingPatterns, default=None
        ``emmix._conditional_gaussian.missing_patterns(mask)``, if already
        computed (it depends on the rows only, so a fit computes it once per
        chunk).
    shift : ndarray of shape (n_features,), default=None
        The centring point of the statistics, if known: then ``fill`` holds
        what :func:`missing_stats` needs in its cheapest form (for diagonal
        covariances, matrix products of the rows around ``shift`` and no
        ``(n_samples, n_components, n_features)`` array at all), without
        ``xhat`` (:func:`conditional_means` gives it).
    cache : dict, default=None
        The chunk's cache (its fit-long memo keeps what depends on the rows
        only).

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
    fill : dict
        What :func:`missing_stats` needs: without ``shift``, the filled rows
        per component (``xhat``, shape (n_samples, n_components,
        n_features), observed entries exactly as given) and the kernel's
        ``conditional``.
    """
    n_features = means.shape[1]
    if shift is not None and covariance_type in ("diag", "spherical"):
        variances = _variances(covariances, covariance_type, n_features)
        shift = shift.astype(X.dtype, copy=False)
        features = _diag_features(X, mask, shift, cache)
        means_c = means - shift
        log_prob = observed_log_prob_diag(features, means_c, variances)
        return log_prob, {
            "diag": (features, means_c, variances),
            "shift": shift,
            "means": means,
        }
    if shift is not None and covariance_type == "tied":
        shift = shift.astype(X.dtype, copy=False)
        centred_t = _centred_t(X, mask, shift, cache)  # kept by the kernel
        whiten = precisions_cholesky
        log_det = -2.0 * np.sum(np.log(np.diag(whiten)))
        if patterns is None:
            patterns = missing_patterns(mask)
        try:
            conditional = condition_on_observed_shared(
                centred_t.T,
                means - shift,
                whiten @ whiten.T,
                whiten,
                log_det,
                patterns,
                memoized(
                    cache,
                    "pattern_index_shared",
                    lambda: pattern_index(patterns, X.shape[1], 1),
                    large=True,
                ),
                overwrite_centred=True,
            )
        except ValueError as error:
            raise _failed(error) from None
        return conditional.log_prob, {
            "shared": conditional._replace(log_prob=None),
            "shift": shift,
            "means": means,
        }
    if shift is not None and covariance_type == "full":
        fill = _expanded_fill(
            X, mask, means, precisions_cholesky, patterns, shift, cache
        )
        if fill is not None:
            return fill
    if covariance_type in ("diag", "spherical"):
        variances = _variances(covariances, covariance_type, n_features)
        conditional = condition_on_observed_diag(X, mask, means, variances)
    else:
        whiten = (
            precisions_cholesky
            if covariance_type == "full"
            else precisions_cholesky[np.newaxis]
        )
        precision = whiten @ np.swapaxes(whiten, 1, 2)
        log_det = -2.0 * np.sum(np.log(np.diagonal(whiten, axis1=1, axis2=2)), 1)
        try:
            conditional = condition_on_observed(
                X,
                mask,
                means,
                precision,
                whiten,
                log_det,
                patterns=patterns,
                zero_filled=None if shift is None else _zero_filled(X, mask, cache)[:2],
            )
        except ValueError as error:
            raise _failed(error) from None
    if shift is not None:  # x̂ - mu kept: the statistics centre it once
        return conditional.log_prob.T.astype(X.dtype, copy=False), {
            "filled": conditional.filled,
            "means": means,
            "conditional": conditional._replace(filled=None, log_prob=None),
        }
    # x̂ in place of x̂ - mu (kept until the statistics: one array, not two),
    # with the observed entries exactly as given (mu + (x - mu) need not round
    # to x): x + 0 where observed, 0 + (mu + filled) where missing.
    xhat = conditional.filled
    xhat += means[:, np.newaxis, :]
    xhat *= mask
    xhat += np.where(mask, 0.0, X)
    log_prob = conditional.log_prob.T.astype(X.dtype, copy=False)
    return log_prob, {
        "xhat": np.swapaxes(xhat, 0, 1),
        "conditional": conditional._replace(filled=None, log_prob=None),
    }


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
    if "diag" in fill:
        features, means_c, variances = fill["diag"]
        if not np.array_equal(shift, fill["shift"]):  # another centre
            n_features = means_c.shape[1]
            means_c = fill["means"] - shift
            observed_t = features[2 * n_features : 3 * n_features]
            zero_filled_t = features[n_features : 2 * n_features]
            zero_filled_t = zero_filled_t + fill["shift"][:, np.newaxis]
            zero_filled_t *= observed_t
            features = diag_features(
                zero_filled_t, observed_t, shift.astype(features.dtype)
            )
        s1, s2 = expected_stats_diag(features, resp, means_c, variances)
        if covariance_type == "spherical":
            s2 = s2.sum(axis=1)
        return {"s1": s1, "s2": s2}
    if "shared" in fill:  # tied, conditioned around fill["shift"]
        s1, s2 = expected_stats_shared(resp, fill["shared"])
        if not np.array_equal(shift, fill["shift"]):  # to another centre
            moved = (fill["shift"] - shift).astype(s1.dtype)
            nk = column_sums(resp)
            s2 = (
                s2
                + np.outer(s1.sum(axis=0), moved)
                + np.outer(moved, s1.sum(axis=0))
                + nk.sum() * np.outer(moved, moved)
            )
            s1 = s1 + nk[:, np.newaxis] * moved
        return {"s1": s1, "s2": s2}
    if "expanded" in fill:  # full, conditioned around fill["shift"]
        s1, s2 = expected_stats_expanded(resp, fill["expanded"])
        if not np.array_equal(shift, fill["shift"]):  # to another centre
            moved = (fill["shift"] - shift).astype(s1.dtype)
            nk = column_sums(resp).astype(s1.dtype)
            outer = s1[:, :, np.newaxis] * moved
            s2 = s2 + outer + np.swapaxes(outer, 1, 2)
            s2 += nk[:, np.newaxis, np.newaxis] * np.outer(moved, moved)
            s1 = s1 + nk[:, np.newaxis] * moved
        rows, cols = packed_pairs(s2.shape[1])
        return {"s1": s1, "s2": s2[:, rows, cols]}
    if "filled" in fill:
        # (x̂ - mu_k) + (mu_k - c): one pass (a new array: the fill stays
        # valid for conditional_means).
        filled = fill["filled"]
        centred = filled + (fill["means"] - shift).astype(filled.dtype)[:, None, :]
    else:
        centred = np.swapaxes(fill["xhat"], 0, 1) - shift  # (k, n, d)
    s1, s2 = expected_stats(centred, resp, fill["conditional"])
    if covariance_type == "spherical":  # summed over features, as complete
        s2 = s2.sum(axis=1)
    elif covariance_type == "tied":
        s2 = s2.sum(axis=0)
    elif covariance_type == "full":
        rows, cols = packed_pairs(s2.shape[1])
        s2 = s2[:, rows, cols]
    return {"s1": s1, "s2": s2}


def conditional_means(fill, X, mask):
    """``E[x | x_o, k]`` of each row under each component.

    Parameters
    ----------
    fill : dict
        From :func:`missing_log_prob` for the rows ``X``.
    X : ndarray of shape (n_samples, n_features)
    mask : ndarray of bool, same shape
        True where missing.

    Returns
    -------
    xhat : ndarray of shape (n_samples, n_components, n_features)
        The observed entries exactly as given, the missing ones at their
        conditional means.
    """
    if "xhat" in fill:
        return fill["xhat"]
    means = fill["means"]
    if "diag" in fill:  # independent features: a missing x_j given k is mu_kj
        missing = np.broadcast_to(means[:, np.newaxis, :], (len(means), *X.shape))
    elif "shared" in fill:
        missing = filled_shared(fill["shared"]) + fill["shift"]
    elif "expanded" in fill:
        missing = filled_expanded(fill["expanded"], len(means)) + fill["shift"]
    else:
        missing = fill["filled"] + means[:, np.newaxis, :]
    xhat = np.where(mask, missing, X).astype(X.dtype, copy=False)
    return np.swapaxes(xhat, 0, 1)


def _pattern_table(X):
    """A chunk's rows as :func:`~emmix._compiled.compiled_fused_missing_full`
    takes them: zero-filled and observed, transposed, and the patterns
    (the complete rows are pattern 0, with nothing missing)."""
    mask = np.isnan(X)
    patterns = missing_patterns(mask)
    n_samples, n_features = X.shape
    n_patterns = 1 + sum(len(group.missing) for group in patterns.groups)
    row_pattern = np.zeros(n_samples, dtype=np.intp)
    n_missing = np.zeros(n_patterns, dtype=np.intp)
    missing = np.zeros((n_patterns, n_features), dtype=np.intp)
    start = 1
    for group in patterns.groups:
        count, m = group.missing.shape
        row_pattern[group.rows] = start + group.pattern
        n_missing[start : start + count] = m
        missing[start : start + count, :m] = group.missing
        start += count
    zero_filled_t, observed_t = _transposed_rows(X, mask)
    return zero_filled_t, observed_t, (row_pattern, n_missing, missing)


def fused_missing_full(
    X, means, precisions_cholesky, log_weights, shift, sample_weight, floor, cache
):
    """A full-covariance chunk with missing entries in one compiled pass.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The chunk's rows; NaN marks a missing entry.
    means, precisions_cholesky : ndarray
        As ``GaussianMixtureEM.means_`` and ``precisions_cholesky_`` (full).
    log_weights : ndarray of shape (n_components,)
    shift : ndarray of shape (n_features,)
        The centring point of the statistics.
    sample_weight : ndarray of shape (n_samples,) or None
        None for unit weights.
    floor : float
        Floor of the log-responsibilities relative to each row's largest.
    cache : dict or None
        The chunk's cache: its fit-long memo keeps the rows' layout.

    Returns
    -------
    stats : dict or None
        ``s1``, packed ``s2`` (around ``shift``) and ``nk``, as
        :func:`missing_stats` and the complete rows' statistics together;
        None where the compiled kernel does not apply (the caller takes the
        numpy route).
    log_norm : ndarray of shape (n_samples,)
    """
    if (
        X.dtype not in (np.float64, np.float32)
        or not compiled_for(X.shape[0] * len(means))
        or (sample_weight is not None and not np.all(sample_weight >= 0))
    ):
        # Nothing kept for a kernel that will not run (no numba, too little
        # work); negative weights have no square root.
        return None, None
    zero_filled_t, observed_t, table = memoized(
        cache, "pattern_table", lambda: _pattern_table(X), large=True
    )
    whiten = precisions_cholesky
    n_components, n_features = means.shape
    workspace = memoized(
        cache,
        "missing_workspace",
        lambda: missing_full_workspace(table, n_components, n_features, X.dtype),
        large=True,
    )
    out = compiled_fused_missing_full(
        zero_filled_t,
        observed_t,
        shift,
        table,
        whiten @ np.swapaxes(whiten, 1, 2),
        means - shift,
        -2.0 * np.sum(np.log(np.diagonal(whiten, axis1=1, axis2=2)), axis=1),
        log_weights,
        floor,
        sample_weight,
        cancel=CANCELLATION_MAX,
        max_norm=EXPANDED_MAX_NORM,
        workspace=workspace,
    )
    if out is None:
        return None, None
    s1, s2, nk, log_norm = out
    rows, cols = packed_pairs(X.shape[1])
    return {"s1": s1, "s2": s2[:, rows, cols], "nk": nk}, log_norm


def fused_missing_diag(
    X,
    means,
    covariances,
    covariance_type,
    log_weights,
    shift,
    sample_weight,
    floor,
    cache,
):
    """A diagonal or spherical chunk with missing entries in one compiled pass.

    The route of :func:`missing_log_prob` and :func:`missing_stats` for
    these types (the features ``[y^2; y; o; 1 - o]``, the log-densities and
    the statistics one product each), by
    :func:`~emmix._compiled.compiled_fused_estep` block by block in cache:
    the chunk's features are never written to memory.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The chunk's rows; NaN marks a missing entry.
    means, covariances : ndarray
        As ``GaussianMixtureEM.means_`` and ``covariances_``.
    covariance_type : {'diag', 'spherical'}
    log_weights : ndarray of shape (n_components,)
    shift : ndarray of shape (n_features,)
        The centring point of the statistics.
    sample_weight : ndarray of shape (n_samples,) or None
        None for unit weights.
    floor : float
        Floor of the log-responsibilities relative to each row's largest.
    cache : dict or None
        The chunk's cache: its fit-long memo keeps the rows transposed.

    Returns
    -------
    stats : dict or None
        ``s1``, ``s2`` (around ``shift``) and ``nk``; None where the compiled
        kernel does not apply (the caller takes the numpy route).
    log_norm : ndarray of shape (n_samples,)
    """
    n_components, n_features = means.shape
    if X.dtype not in (np.float64, np.float32) or not compiled_for(
        X.shape[0] * n_components
    ):
        return None, None  # nothing kept for a kernel that will not run
    zero_filled_t, observed_t = memoized(
        cache,
        "rows_observed_t",
        lambda: _transposed_rows(X, np.isnan(X)),
        large=True,
    )
    shift = shift.astype(X.dtype, copy=False)
    means_c = means - shift
    variances = _variances(covariances, covariance_type, n_features)
    # [y^2; y; o; 1 - o; 1]: the missing entries' block weighs nothing in the
    # log-densities, the last feature carries the mixing weights.
    weights = np.zeros((n_components, 4 * n_features + 1), dtype=X.dtype)
    weights[:, : 3 * n_features] = diag_log_prob_weights(means_c, variances)
    weights[:, -1] = log_weights
    sums, _, log_norm = compiled_fused_estep(
        zero_filled_t,
        shift,
        weights,
        floor,
        sample_weight,
        "missing",
        observed=observed_t,
    )
    if sums is None:
        return None, None
    s1, s2 = diag_stats_from_sums(sums[:, :-1], means_c, variances)
    if covariance_type == "spherical":
        s2 = s2.sum(axis=1)
    return {"s1": s1, "s2": s2, "nk": sums[:, -1].copy()}, log_norm
