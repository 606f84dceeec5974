"""Conditional Gaussians by missingness pattern: the E-step of rows with gaps.

Pure maths, shared by every estimator that fits normal distributions to rows
with missing entries: :class:`~emmix.GaussianMixtureEM` (``K`` components) and
the imputers (one component, ``K = 1``).

For a row with observed block ``o`` and missing block ``m`` and a component
with mean ``mu``, covariance ``Sigma`` and precision ``Q = Sigma^-1`` (``W`` a
factor with ``W W^T = Q``), write ``r = x - mu`` with the missing entries set
to 0. Then::

    b     = (Q r)_m                      = Q_mo r_o
    C     = Q_mm^-1                      = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om
    x̂_m  = mu_m - C b                   = mu_m + Sigma_mo Sigma_oo^-1 r_o
    log p(x_o) = -1/2 (|o| log 2 pi + log|Sigma| + log|Q_mm| + |r̂^T W|^2)

where ``r̂ = x̂ - mu`` is the filled centred row: ``x_m`` given ``x_o`` is
normal with mean ``x̂_m`` and covariance ``C``.
(``log|Sigma_oo| = log|Sigma| + log|Q_mm|`` is the block-determinant identity,
and ``r_o^T Sigma_oo^-1 r_o = r̂^T Q r̂`` because the conditional mean
minimises the full quadratic form over the missing entries.) Working with
``Q`` means that all rows share the matrix products ``R Q`` and ``R̂ W``, and
the only per-pattern work is the factorisation of the small ``|m| x |m|``
block ``Q_mm``, done once per missingness pattern (and component), batched
over all patterns with the same number of missing entries: there is no Python
loop over rows or over patterns.

The expected sufficient statistics of the rows, around any reference point
``c`` and with weights ``w`` (sample weights times responsibilities), are
``S1 = sum w (x̂ - c)`` and ``S2 = sum w ((x̂ - c)(x̂ - c)^T + C)`` with ``C``
placed in the rows and columns of each row's missing entries: the complete
data statistics of the filled rows, plus the conditional covariances.

A mixture's E-step uses faster forms of the same maths, around a reference
point ``c`` near the data (as the complete-data log-densities are):

- Full covariances (:func:`condition_on_observed_expanded`,
  :func:`expected_stats_expanded`): with ``y = x - c`` zero-filled and ``u =
  y - (mu_k - c)``, ``b = (Q u)_m``, ``x̂_m - c_m = -C b`` and ``r̂^T Q r̂ = u^T
  Q u - b^T C b``; ``Q_k u`` of all rows is one matrix product per component
  and gives both ``u^T Q u`` and ``b``, so no filled or whitened rows are made
  for the log-densities. Rows whose distance that difference would cancel
  (missing entries predicted almost exactly) are recomputed from the
  whitened filled row (``CANCELLATION_MAX``), and means far from ``c`` leave
  the rows to :func:`condition_on_observed` (``EXPANDED_MAX_NORM``).
- One covariance shared by all components (``tied``), ``C`` and the
  regression of the missing block on the observed one do not depend on the
  component, and ``x̂_m - c = -C (Q (x - c))_m + h_k`` (``x - c`` zero-filled)
  with ``h_k = mu_km - c_m + C (Q (mu_k - c)_o)_m = C (Q (mu_k - c))_m``
  depending on the pattern and the component only: the rows' work is done
  once, not once per component (:func:`condition_on_observed_shared`,
  :func:`expected_stats_shared`).

Both invert ``Q_mm`` of every pattern by bordering along the prefix tree of
the missing sets (:func:`bordered_inverses`: a few array operations per
level for all patterns, instead of a factorisation per pattern group), work
feature-major (``(n_features, n_samples)``: every pass runs along contiguous
rows) and in blocks of rows (``BLOCK_BYTES``: arrays the size of a whole
chunk per component are mapped afresh, page by page, on every pass).

With a diagonal covariance the features are independent: ``x̂_m = mu_m`` and
``C`` is the diagonal of the missing variances, with no pattern at all
(:func:`condition_on_observed_diag`). Then the log-densities and the
statistics are sums over features of the observed (or the missing) entries,
that is matrix products of the zero-filled rows, their squares and the
observed mask with per-component vectors (:func:`observed_log_prob_diag`,
:func:`expected_stats_diag`): ``O(n d K)`` arithmetic in BLAS, no
``(K, n, d)`` array.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._compiled import (
    compiled_border_level,
    compiled_centre_products,
    compiled_condition_group,
    compiled_covariance_sum,
    compiled_for,
    compiled_shared_pattern_stats,
    compiled_shared_pattern_terms,
    compiled_spread_group,
    compiled_weighted_filled,
)
from ._products import matmul_long_nt

__all__ = [
    "Conditional",
    "ExpandedConditional",
    "MissingPatterns",
    "PatternGroup",
    "PatternIndex",
    "SharedConditional",
    "bordered_inverses",
    "condition_on_observed",
    "condition_on_observed_diag",
    "condition_on_observed_expanded",
    "condition_on_observed_shared",
    "diag_features",
    "diag_log_prob_weights",
    "diag_stats_from_sums",
    "expected_stats",
    "expected_stats_diag",
    "expected_stats_expanded",
    "expected_stats_shared",
    "filled_expanded",
    "filled_shared",
    "missing_patterns",
    "observed_log_prob_diag",
    "pattern_index",
    "row_bytes",
]

_LOG_2PI = math.log(2.0 * math.pi)


# ------------------------------------------------------------------ patterns
class PatternGroup(NamedTuple):
    """The rows with the same number ``m > 0`` of missing entries.

    Attributes
    ----------
    rows : ndarray of shape (n_rows,)
        Their indices, in increasing order.
    missing : ndarray of shape (n_patterns, m)
        The missing columns of each distinct pattern of the group.
    pattern : ndarray of shape (n_rows,)
        The pattern of each row: ``missing[pattern[i]]`` are the missing
        columns of row ``rows[i]``.
    cells : ndarray of shape (n_rows, m)
        The missing entries of each row as indices into the raveled
        ``(n_samples, n_features)`` array (``rows[i] * n_features +
        missing[pattern[i]]``): one gather or scatter per group.
    """

    rows: np.ndarray
    missing: np.ndarray
    pattern: np.ndarray
    cells: np.ndarray


class MissingPatterns(NamedTuple):
    """Rows grouped by missingness pattern (see :func:`missing_patterns`).

    Attributes
    ----------
    groups : tuple of PatternGroup
        One per number of missing entries, complete rows left out.
    n_observed : ndarray of shape (n_samples,)
        The number of observed entries of each row.
    """

    groups: tuple[PatternGroup, ...]
    n_observed: np.ndarray


def missing_patterns(mask: np.ndarray) -> MissingPatterns:
    """Group the rows of a missingness mask by pattern and number missing.

    It depends on the mask only, so a fit can compute it once per chunk of
    rows and pass it to every E-step.

    Parameters
    ----------
    mask : ndarray of shape (n_samples, n_features), dtype bool
        True where the entry is missing.

    Returns
    -------
    patterns : MissingPatterns
        ``groups`` (one :class:`PatternGroup` per number of missing entries
        above 0) and ``n_observed`` per row.
    """
    mask = np.asarray(mask, dtype=bool)
    n_samples, n_features = mask.shape
    # Rows packed into bits first, so that np.unique compares one integer (up
    # to 64 columns) or one short byte string per row, not n_features booleans.
    packed = np.packbits(mask, axis=1)
    if packed.shape[1] <= 8:
        padded = np.zeros((n_samples, 8), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        keys = padded.view(np.uint64).ravel()
    else:
        packed = np.ascontiguousarray(packed)
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    patterns = mask[first]
    n_missing = patterns.sum(axis=1)
    # Rows sorted by their number of missing entries: one slice per count.
    # A small unsigned type lets the stable sort be a linear-time radix sort.
    row_count = n_missing[inverse].astype(np.min_scalar_type(n_features))
    order = np.argsort(row_count, kind="stable")
    counts = np.unique(n_missing)
    bounds = np.searchsorted(row_count[order], counts, side="left").tolist()
    bounds.append(n_samples)
    local = np.empty(len(patterns), dtype=np.intp)
    groups = []
    for group, m in enumerate(counts.tolist()):
        if m == 0:
            continue  # complete rows: nothing to condition
        pats = np.flatnonzero(n_missing == m)
        local[pats] = np.arange(len(pats))
        rows = order[bounds[group] : bounds[group + 1]]
        missing = np.nonzero(patterns[pats])[1].reshape(len(pats), m)
        pattern = local[inverse[rows]]
        groups.append(
            PatternGroup(
                rows=rows,
                missing=missing,
                pattern=pattern,
                cells=rows[:, np.newaxis] * n_features + missing[pattern],
            )
        )
    n_observed = n_features - n_missing[inverse]
    return MissingPatterns(groups=tuple(groups), n_observed=n_observed)


# --------------------------------------------------------------- conditioning
class Conditional(NamedTuple):
    """Rows conditioned on their observed entries, for ``K`` components.

    Attributes
    ----------
    filled : ndarray of shape (n_components, n_samples, n_features)
        ``x̂ - mu_k``: the rows centred at each component's mean, with each
        missing entry at its conditional mean (or a draw, see ``noise`` in
        :func:`condition_on_observed`).
    log_prob : ndarray of shape (n_components, n_samples)
        ``log p(x_o)``, the log-density of each row's observed block (0 for a
        row with none).
    blocks : tuple of (PatternGroup, ndarray) or None
        With a full covariance: each pattern group with the conditional
        covariances ``C`` of its patterns, of shape (n_components or 1,
        n_patterns, m, m) (1 when all components share the precision).
    variances : ndarray of shape (n_components, n_features) or None
        With a diagonal covariance: the variances, ``C`` of a row being their
        missing entries.
    mask : ndarray of shape (n_samples, n_features), dtype bool
        True where the entry is missing.
    """

    filled: np.ndarray
    log_prob: np.ndarray
    blocks: tuple | None
    variances: np.ndarray | None
    mask: np.ndarray


def _centred(X, mask, means, zero_filled=None):
    """``x - mu_k`` for every component, 0 at the missing entries."""
    # Plain arithmetic on the (K, n, d) array: np.where or copyto(where=)
    # there take two to three times longer.
    # C order whatever the layout of X: the conditioning scatters into its
    # raveled view.
    if zero_filled is None:
        zero_filled = np.where(mask, 0.0, X), ~mask
    rows, observed = zero_filled
    centred = np.empty((len(means), *X.shape), dtype=np.result_type(X, means))
    np.subtract(rows[np.newaxis], means[:, np.newaxis, :], out=centred)
    centred *= observed
    return centred


def _cholesky(q_mm, missing):
    """Batched lower Cholesky factors; the error names a failing block."""
    try:
        return np.linalg.cholesky(q_mm)
    except np.linalg.LinAlgError:
        # Where: the first (component, pattern) block that is not positive
        # definite (its determinant or a leading minor is not positive).
        for k, per_component in enumerate(q_mm):
            for p, block in enumerate(per_component):
                try:
                    np.linalg.cholesky(block)
                except np.linalg.LinAlgError:
                    raise ValueError(
                        f"The precision matrix of component {k} is not positive "
                        "definite on the missing features "
                        f"{missing[p].tolist()} of some rows: its covariance is "
                        "numerically singular."
                    ) from None
        raise  # pragma: no cover - one of them failed above


def _not_positive(q_mm, positive, missing):
    k, p = np.argwhere(~positive)[0]
    return (
        f"The precision matrix of component {k} is not positive definite on "
        f"the missing features {missing[p].tolist()} of some rows: its "
        "covariance is numerically singular."
    )


def _per_row(matrices, row_pattern, vectors, transpose=False):
    """``matrices[k, pattern[i]]`` applied to ``vectors[k, i]`` for every row.

    ``matrices`` has shape (K or 1, n_patterns, m, m) and ``vectors`` (K, r, m)
    (or (r, m), the same for every component); a shared (K = 1) matrix is
    applied to every component's vectors. With ``transpose`` the transposed
    matrices are applied.
    """
    # einsum on the gathered (contiguous) blocks: about twice as fast as a
    # stacked matmul of such small matrices.
    subscripts = "...ji,...j->...i" if transpose else "...ij,...j->...i"
    if matrices.shape[0] == 1:
        # np.take: a faster gather than fancy indexing.
        return np.einsum(subscripts, np.take(matrices[0], row_pattern, 0), vectors)
    return np.einsum(subscripts, np.take(matrices, row_pattern, 1), vectors)


def _spd_inverse(blocks):
    """Inverses and log-determinants of a stack of positive definite blocks.

    Gauss-Jordan sweeps (``m`` of them, each vectorised over the stack): for
    the small blocks of a pattern group this costs a few array operations,
    where LAPACK pays a call per block for the factorisation and another for
    the inverse. Symmetric positive definite blocks need no pivoting, and
    each pivot is a ratio of leading minors, so their logarithms sum to the
    log-determinant.

    Returns
    -------
    inverse : ndarray, the shape of ``blocks``
    log_det : ndarray of shape ``blocks.shape[:-2]``
    positive : ndarray of bool, shape ``blocks.shape[:-2]``
        False where a pivot was not positive (the block is not positive
        definite and ``inverse`` is meaningless there).
    """
    swept = np.array(blocks, copy=True)
    m = swept.shape[-1]
    log_det = np.zeros(swept.shape[:-2], dtype=swept.dtype)
    positive = np.ones(swept.shape[:-2], dtype=bool)
    outer = np.empty_like(swept)
    for j in range(m):
        pivot = swept[..., j, j].copy()
        positive &= pivot > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            log_det += np.log(pivot)
            row = swept[..., j, :] / pivot[..., np.newaxis]
            column = swept[..., :, j] / pivot[..., np.newaxis]
            np.multiply(
                swept[..., :, j, np.newaxis], row[..., np.newaxis, :], out=outer
            )
            swept -= outer
            swept[..., j, :] = row
            swept[..., :, j] = column
            swept[..., j, j] = -1.0 / pivot
    # After sweeping every index the array holds minus the inverse.
    np.negative(swept, out=swept)
    return swept, log_det, positive


def condition_on_observed(
    X,
    mask,
    means,
    precision,
    whiten,
    log_det,
    *,
    patterns=None,
    noise=None,
    zero_filled=None,
) -> Conditional:
    """Condition each row on its observed entries, under each component.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows; entries where ``mask`` is True are ignored (NaN or a marker).
    mask : ndarray of shape (n_samples, n_features), dtype bool
        True where the entry is missing.
    means : ndarray of shape (n_components, n_features)
        ``mu_k``.
    precision : ndarray of shape (n_components or 1, n_features, n_features)
        ``Q_k = Sigma_k^-1`` (one shared by all components when the first
        dimension is 1).
    whiten : ndarray of shape (n_components or 1, n_features, n_features)
        A factor ``W_k`` with ``W_k W_k^T = Q_k``.
    log_det : ndarray of shape (n_components,) or (1,)
        ``log det Sigma_k``.
    patterns : MissingPatterns, default=None
        ``missing_patterns(mask)``, if already computed.
    noise : ndarray of shape (n_samples, n_features), default=None
        Standard normal draws. If given, each missing block of ``filled`` is a
        draw from its conditional distribution instead of its conditional
        mean (the draws at the missing entries of each row are used, so the
        result does not depend on how rows are grouped or chunked).
    zero_filled : tuple of two ndarrays, default=None
        ``X`` with 0 at the missing entries and ``~mask`` (as bool or
        numbers), if already computed (they depend on the rows only).

    Returns
    -------
    conditional : Conditional
        ``filled``, ``log_prob`` and the conditional covariances (``blocks``).
    """
    n_components = means.shape[0]
    n_samples = X.shape[0]
    if patterns is None:
        patterns = missing_patterns(mask)
    log_det = np.broadcast_to(np.asarray(log_det), (n_components,))
    centred = _centred(X, mask, means, zero_filled)
    q_centred = centred @ precision
    log_dets = np.repeat(log_det[:, np.newaxis], n_samples, axis=1)
    sampled = None if noise is None else centred.copy()
    filled = centred  # the missing entries are overwritten below
    blocks = []
    flat_q = q_centred.reshape(n_components, -1)
    flat_filled = filled.reshape(n_components, -1)
    for group in patterns.groups:
        mis = group.missing
        q_mm = precision[:, mis[:, :, np.newaxis], mis[:, np.newaxis, :]]
        if noise is None:  # one batched inversion per group
            cond_cov, log_det_mm, positive = _spd_inverse(q_mm)
            if not positive.all():
                _cholesky(q_mm, mis)  # names the block (or fails itself)
                raise ValueError(_not_positive(q_mm, positive, mis))
        else:  # the draws need the Cholesky factor: C = U U^T, U = chol_inv^T
            chol = _cholesky(q_mm, mis)
            chol_inv = np.linalg.inv(chol)
            cond_cov = np.swapaxes(chol_inv, -1, -2) @ chol_inv  # C = Q_mm^-1
            log_det_mm = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), -1)

        rows, row_pat, cells = group.rows, group.pattern, group.cells
        b = np.take(flat_q, cells, axis=1)  # (Q r)_m of each row
        delta = _per_row(cond_cov, row_pat, b)
        np.negative(delta, out=delta)
        log_dets[:, rows] += log_det_mm[:, row_pat]
        flat_filled[:, cells] = delta
        if noise is not None:
            # Add U z to the conditional mean.
            z = np.take(noise, cells)
            draws = delta + _per_row(chol_inv, row_pat, z, transpose=True)
            sampled.reshape(n_components, -1)[:, cells] = draws
        blocks.append((group, cond_cov))

    # r_o^T Sigma_oo^-1 r_o = min over x_m of (x - mu)^T Q (x - mu), reached at
    # the conditional mean: a sum of squares of the whitened filled row, with
    # no cancellation and only second-order sensitivity to errors in x̂_m.
    whitened = np.matmul(filled, whiten, out=q_centred)
    quad = np.einsum("kij,kij->ki", whitened, whitened)
    n_observed = patterns.n_observed
    log_prob = -0.5 * (n_observed * _LOG_2PI + log_dets + quad)
    # Nothing observed: log p = 0 exactly (the terms above cancel to rounding).
    log_prob[:, n_observed == 0] = 0.0
    return Conditional(
        filled=filled if noise is None else sampled,
        log_prob=log_prob,
        blocks=tuple(blocks),
        variances=None,
        mask=mask,
    )


def condition_on_observed_diag(X, mask, means, variances) -> Conditional:
    """:func:`condition_on_observed` for diagonal covariances.

    The features are independent within a component, so the log-density of
    the observed block is a sum over its features and the conditional mean of
    a missing entry is its mean: no pattern is needed.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        The rows; entries where ``mask`` is True are ignored.
    mask : ndarray of shape (n_samples, n_features), dtype bool
        True where the entry is missing.
    means : ndarray of shape (n_components, n_features)
    variances : ndarray of shape (n_components, n_features)

    Returns
    -------
    conditional : Conditional
        ``filled`` (0 at the missing entries), ``log_prob`` and ``variances``.
    """
    filled = _centred(X, mask, means)
    # (r^2 / var + log var) + log 2 pi, in place: fewer large temporaries.
    terms = filled * filled
    terms /= variances[:, np.newaxis, :]
    terms += np.log(variances)[:, np.newaxis, :]
    terms += _LOG_2PI
    log_prob = -0.5 * np.einsum("knd,nd->kn", terms, (~mask).astype(X.dtype))
    return Conditional(
        filled=filled, log_prob=log_prob, blocks=None, variances=variances, mask=mask
    )


def diag_features(zero_filled_t, observed_t, shift, out=None):
    """The rows' features for diagonal covariances, ``[y^2; y; o; 1 - o]``.

    Feature-major, as the complete-data features (every operation runs along
    contiguous rows): ``y = x - c`` zero-filled at the missing entries and
    ``o`` the observed mask (as numbers), each ``(n_features, n_samples)``.
    The log-densities and the statistics are then one matrix product each
    (:func:`observed_log_prob_diag`, :func:`expected_stats_diag`).

    Parameters
    ----------
    zero_filled_t : ndarray of shape (n_features, n_samples)
        ``x`` with 0 at the missing entries, transposed.
    observed_t : ndarray of shape (n_features, n_samples)
        1 where the entry is observed, 0 where missing.
    shift : ndarray of shape (n_features,)
        The reference point ``c``.
    out : ndarray of shape (4 * n_features, n_samples), default=None
        Written into, where given; its last two blocks are taken to hold
        ``o`` and ``1 - o`` already (they depend on the rows only: a fit
        writes them once).

    Returns
    -------
    features : ndarray of shape (4 * n_features, n_samples)
    """
    n_features, n_samples = zero_filled_t.shape
    if out is None:
        out = np.empty((4 * n_features, n_samples), zero_filled_t.dtype)
        out[2 * n_features : 3 * n_features] = observed_t
        np.subtract(1.0, observed_t, out=out[3 * n_features :])
    centred = out[n_features : 2 * n_features]
    np.subtract(zero_filled_t, shift[:, np.newaxis], out=centred)
    centred *= observed_t
    np.multiply(centred, centred, out=out[:n_features])
    return out


def observed_log_prob_diag(features, means, variances):
    """Log-density of each row's observed entries, diagonal covariances.

    ``log p_k(x_o) = -1/2 sum_{j observed} ((x_j - mu_kj)^2 / v_kj + log v_kj
    + log 2 pi)``, expanded around a reference point ``c`` into one matrix
    product of the rows' features, as the complete-data log-densities are.

    Parameters
    ----------
    features : ndarray of shape (4 * n_features, n_samples)
        :func:`diag_features` of the rows around ``c``.
    means : ndarray of shape (n_components, n_features)
        ``mu_k - c``.
    variances : ndarray of shape (n_components, n_features)

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
        0 for a row with nothing observed (component-major: a transposed
        view).
    """
    n_features = means.shape[1]
    weights = diag_log_prob_weights(means, variances).astype(features.dtype)
    return (weights @ features[: 3 * n_features]).T


def diag_log_prob_weights(means, variances):
    """The weights of ``[y^2; y; o]`` in :func:`observed_log_prob_diag`,
    shape (n_components, 3 * n_features)."""
    precisions = 1.0 / variances
    constant = means * means * precisions + np.log(variances) + _LOG_2PI
    return np.concatenate(
        [-0.5 * precisions, means * precisions, -0.5 * constant], axis=1
    )


def diag_stats_from_sums(sums, means, variances):
    """``s1`` and ``s2`` of :func:`expected_stats_diag` from ``resp^T`` times
    the features ``[y^2; y; o; 1 - o]`` (transposed), shape (n_components,
    4 * n_features)."""
    squares, centred, _, weight = np.split(sums, 4, axis=1)
    s1 = centred + weight * means
    s2 = squares + weight * (means * means + variances)
    return s1, s2


def expected_stats_diag(features, resp, means, variances):
    """:func:`expected_stats` for diagonal covariances, by one matrix product.

    A missing entry ``j`` of a row counts ``mu_kj - c`` in ``S1`` and
    ``(mu_kj - c)^2 + v_kj`` in ``S2`` under component ``k``, so only the
    weight of the missing entries per component, ``resp^T (1 - o)``, is
    needed for them.

    Parameters
    ----------
    features : ndarray of shape (4 * n_features, n_samples)
        :func:`diag_features` of the rows around ``c``.
    resp : ndarray of shape (n_samples, n_components)
        Weights of the rows per component.
    means : ndarray of shape (n_components, n_features)
        ``mu_k - c``.
    variances : ndarray of shape (n_components, n_features)

    Returns
    -------
    s1, s2 : ndarray of shape (n_components, n_features)
        ``sum w (x̂ - c)`` and the diagonal of ``sum w ((x̂ - c)(x̂ - c)^T +
        C)``.
    """
    # (K, 4 d), in blocks of rows (2x faster than one product here).
    sums = matmul_long_nt(np.ascontiguousarray(resp.T), features)
    return diag_stats_from_sums(sums, means, variances)


class SharedConditional(NamedTuple):
    """Rows conditioned on their observed entries, one shared covariance.

    ``x̂_ik - c = z_i + e_k,p(i)``: ``z_i`` is the part of the rows (``x - c``
    where observed, ``-C (Q (x - c))_m`` where missing) and ``e_kp`` that of
    the component and pattern (``h_kp`` at the missing entries, 0 elsewhere).

    Attributes
    ----------
    log_prob : ndarray of shape (n_samples, n_components)
        ``log p(x_o)`` (0 for a row with nothing observed).
    base : ndarray of shape (n_samples, n_features)
        ``z``.
    blocks : tuple of (PatternGroup, ndarray, ndarray)
        Each pattern group with the conditional covariances ``C`` of its
        patterns, shape (n_patterns, m, m), and ``h``, shape (n_patterns,
        n_components, m) (pattern first: gathered per row).
    index : PatternIndex or None
        The rows' blocks (see ``BLOCK_BYTES``), for the statistics.
    """

    log_prob: np.ndarray
    base: np.ndarray
    blocks: tuple
    index: PatternIndex | None = None


def condition_on_observed_shared(
    centred,
    means,
    precision,
    whiten,
    log_det,
    patterns,
    index=None,
    *,
    overwrite_centred=False,
) -> SharedConditional:
    """:func:`condition_on_observed` with one covariance for all components.

    With ``r = x̂_k - mu_k = z - nu_kp`` (``nu_kp = (mu_k - c) - e_kp``), the
    distance ``r^T Q r = |W^T z|^2 - 2 (Q z)^T nu_kp + nu_kp^T Q nu_kp`` is
    expanded around ``c`` as the complete-data log-densities are: products of
    the rows (feature-major, ``(n_features, n_samples)``) with matrices, and
    per component only ``(n_samples, m)`` work per pattern group. As ``z_m``
    is the conditional mean, ``(Q z)_m = 0``: ``(Q z)^T nu_kp = z^T Q a_k``;
    and with ``alpha_kp = (Q a_k)_m``, ``h_kp = C alpha_kp`` and
    ``nu_kp^T Q nu_kp = a_k^T Q a_k - alpha_kp^T h_kp``.

    Parameters
    ----------
    centred : ndarray of shape (n_samples, n_features)
        ``x - c`` (a reference point ``c``), 0 at the missing entries.
    means : ndarray of shape (n_components, n_features)
        ``mu_k - c``.
    precision, whiten : ndarray of shape (n_features, n_features)
        ``Q = Sigma^-1`` and a factor ``W`` with ``W W^T = Q``.
    log_det : float
        ``log det Sigma``.
    patterns : MissingPatterns
        ``missing_patterns`` of the rows' mask.
    index : PatternIndex, default=None
        ``pattern_index(patterns, n_features, 1)``, if already computed (it
        depends on the rows only).
    overwrite_centred : bool, default=False
        Whether ``centred`` may become the result's ``base`` (it is then
        overwritten at the missing entries; used where it is the transpose of
        a C-ordered array), saving a copy.

    Returns
    -------
    conditional : SharedConditional
    """
    n_samples, n_features = centred.shape
    dtype = centred.dtype
    if index is None or index.n_components != 1:
        index = pattern_index(patterns, n_features, 1)
    n_components = len(means)
    # Compiled kernels where the chunk is large enough (see compiled_for).
    fast = compiled_for(n_samples * n_components)
    inverses = _pattern_inverses(precision[np.newaxis], patterns, index, fast)
    precision = precision.astype(dtype, copy=False)
    means = means.astype(dtype, copy=False)
    base_t = centred.T  # z, feature-major
    if not (overwrite_centred and base_t.flags.c_contiguous):
        base_t = np.array(base_t, order="C")
    q_means = means @ precision  # (Q a_k)^T, Q symmetric
    whiten_t = whiten.T.astype(dtype, copy=False)
    blocks = []
    pattern_consts = []
    for group, (cond_cov, log_det_mm) in zip(patterns.groups, inverses, strict=True):
        cond_cov = cond_cov[0]  # (m, m, P)
        # C alpha, (P, K, m), and nu^T Q nu + log|Q_mm| of each pattern, less
        # a^T Q a, (K, P).
        h, consts = (
            compiled_shared_pattern_terms(
                q_means, group.missing, cond_cov, log_det_mm[0]
            )
            if fast
            else (None, None)
        )
        if h is None:
            alpha = np.take(q_means, group.missing.T, axis=1)  # (K, m, P)
            h = np.einsum("ijp,kjp->pki", cond_cov, alpha)
            consts = log_det_mm - np.einsum("kip,pki->kp", alpha, h)
        pattern_consts.append(consts)
        blocks.append((group, np.moveaxis(cond_cov, 2, 0), h))
    log_prob = np.empty((n_components, n_samples), dtype=dtype)
    flat_base = base_t.reshape(-1)
    for rows, members in index.row_blocks:  # (see BLOCK_BYTES)
        q_block = (precision @ base_t[:, rows]).ravel()  # Q (x - c) of the block
        for g, _, cells in members:
            pattern = patterns.groups[g].pattern
            done = (
                fast
                and compiled_condition_group(
                    q_block,
                    cells[0],
                    inverses[g][0],
                    pattern,
                    out=(flat_base, index.cells[g]),
                )[0]
                is not None
            )
            if not done:
                b = np.take(q_block, cells[0])  # (Q (x - c))_m, (m, r)
                cond_cov = blocks[g][1]
                u = np.einsum("rij,jr->ir", np.take(cond_cov, pattern, axis=0), b)
                np.negative(u, out=u)
                flat_base[index.cells[g]] = u
        block = base_t[:, rows]  # z, filled
        whitened = whiten_t @ block
        part = q_means @ block  # z^T Q a_k, (K, r)
        part *= -2.0
        part += np.einsum("dr,dr->r", whitened, whitened)
        for g, offset, _ in members:
            pattern = patterns.groups[g].pattern
            part[:, offset : offset + len(pattern)] += np.take(
                pattern_consts[g], pattern, axis=1
            )
        log_prob[:, rows] = part
    n_observed = patterns.n_observed
    log_prob += np.einsum("kd,kd->k", q_means, means)[:, np.newaxis]
    log_prob += (n_observed * _LOG_2PI + log_det).astype(dtype)
    log_prob *= -0.5
    log_prob[:, n_observed == 0] = 0.0
    return SharedConditional(
        log_prob=log_prob.T, base=base_t.T, blocks=tuple(blocks), index=index
    )


def filled_shared(conditional: SharedConditional) -> np.ndarray:
    """``x̂ - c`` of every row under every component, (K, n_samples, n_features)."""
    base = np.ascontiguousarray(conditional.base)
    n_components = conditional.blocks[0][2].shape[1] if conditional.blocks else 1
    filled = np.repeat(base[np.newaxis], n_components, axis=0)
    flat = filled.reshape(n_components, -1)
    for group, _, h in conditional.blocks:
        flat[:, group.cells] += np.swapaxes(h[group.pattern], 0, 1)
    return filled


def expected_stats_shared(resp, conditional: SharedConditional):
    """:func:`expected_stats` for one shared covariance, summed over components.

    With ``x̂_ik - c = z_i + e_kp``::

        S1_k = sum_i w_ik z_i + sum_p W_pk e_kp
        S2   = sum_i w_i z_i z_i^T + sum_i (z_i g_i^T + g_i z_i^T)
               + sum_p sum_k W_pk (e_kp e_kp^T) + sum_p W_p C_p

    (``w_i = sum_k w_ik``, ``g_i = sum_k w_ik e_k,p(i)``, ``W_pk`` the weight
    of pattern ``p``): matrix products of the rows and sums over patterns.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Weights of the rows per component.
    conditional : SharedConditional

    Returns
    -------
    s1 : ndarray of shape (n_components, n_features)
    s2 : ndarray of shape (n_features, n_features)
        Summed over the components.
    """
    base_t = conditional.base.T  # feature-major where it was made so
    n_features, n_samples = base_t.shape
    n_components = resp.shape[1]
    dtype = base_t.dtype
    resp = resp.astype(dtype, copy=False)
    fast = compiled_for(resp.size)  # see compiled_for
    s1 = (base_t @ resp).T
    weight = resp @ np.ones(n_components, dtype=dtype)
    index = conditional.index
    if index is None:
        n_observed = np.full(n_samples, n_features)
        for group, _, _ in conditional.blocks:
            n_observed[group.rows] -= group.missing.shape[1]
        groups = tuple(group for group, _, _ in conditional.blocks)
        index = pattern_index(MissingPatterns(groups, n_observed), n_features, 1)
    s2 = np.zeros((n_features, n_features), dtype=dtype)
    cross = np.zeros((n_features, n_features), dtype=dtype)
    for rows, members in index.row_blocks:  # (see BLOCK_BYTES)
        block = base_t[:, rows]
        s2 += (block * weight[rows]) @ block.T
        if not members:
            continue
        spread = np.zeros(block.shape, dtype=dtype)  # g_i, feature-major
        flat_spread = spread.reshape(-1)
        for g, _, cells in members:
            group, _, h = conditional.blocks[g]
            group_resp = resp[index.rows[g]]
            if not (
                fast
                and compiled_spread_group(
                    group_resp, group.pattern, h, flat_spread, cells[0]
                )
            ):
                flat_spread[cells[0]] = np.einsum(
                    "rk,rkm->mr", group_resp, np.take(h, group.pattern, axis=0)
                )
        cross += block @ spread.T
    s2 += cross
    s2 += cross.T
    if (
        fast
        and conditional.blocks
        and _compiled_shared_stats(resp, conditional, index, s1, s2)
    ):
        return s1, s2
    at, mean_index, block_index = _shared_stats_index(
        index, conditional.blocks, n_components, n_features
    )
    mean_values, block_values = [], []
    for (_, cond_cov, h), rows, where in zip(
        conditional.blocks, index.rows, at, strict=True
    ):
        # Weight of each pattern per component (P, K), summed in row order.
        w_pk = np.bincount(
            where, weights=resp[rows].ravel(), minlength=h.shape[0] * n_components
        ).reshape(-1, n_components)
        weighted_h = w_pk[:, :, np.newaxis] * h  # (P, K, m)
        mean_values.append(weighted_h.ravel())
        # A stack of small products: 3-6x faster than the same einsum.
        outer = np.matmul(np.swapaxes(weighted_h, 1, 2), h)
        outer += w_pk.sum(axis=1)[:, np.newaxis, np.newaxis] * cond_cov
        block_values.append(outer.ravel())
    if conditional.blocks:
        s2 += (
            np.bincount(
                block_index,
                weights=np.concatenate(block_values),
                minlength=n_features * n_features,
            )
            .reshape(n_features, n_features)
            .astype(dtype, copy=False)
        )
        s1 += (
            np.bincount(
                mean_index,
                weights=np.concatenate(mean_values),
                minlength=n_components * n_features,
            )
            .reshape(n_components, n_features)
            .astype(dtype, copy=False)
        )
    return s1, s2


def _compiled_shared_stats(
    resp, conditional: SharedConditional, index: PatternIndex, s1, s2
) -> bool:
    """:func:`expected_stats_shared`'s sums over patterns added compiled, or
    False (nothing added) where the kernel does not apply."""
    for (group, cond_cov, h), rows in zip(conditional.blocks, index.rows, strict=True):
        if not compiled_shared_pattern_stats(
            resp[rows],
            group.pattern,
            group.missing,
            h,
            np.moveaxis(cond_cov, 0, 2),
            s1,
            s2,
        ):
            return False  # the first group: the same types for all of them
    return True


def _shared_stats_index(index: PatternIndex, blocks, n_components, n_features):
    """Index arrays of :func:`expected_stats_shared`'s sums over patterns.

    Per pattern group, where each row's weight per component goes among the
    group's (pattern, component) sums; and, for all groups at once, the flat
    indices of ``sum_p W_pk e_kp`` in ``(K, n_features)`` and of the
    patterns' (m, m) blocks in ``(n_features, n_features)``. They depend on
    the rows' patterns only: built once and kept in ``index.memo``.
    """
    key = ("shared_stats", n_components)
    if key not in index.memo:
        components = np.arange(n_components)
        at, mean_index, block_index = [], [], []
        for group, _, _ in blocks:
            mis = group.missing
            at.append(
                (group.pattern[:, np.newaxis] * n_components + components).ravel()
            )
            mean_index.append(
                (components[np.newaxis, :, None] * n_features + mis[:, None]).ravel()
            )
            block_index.append(
                (mis[:, :, np.newaxis] * n_features + mis[:, np.newaxis, :]).ravel()
            )
        empty = np.empty(0, dtype=np.intp)
        index.memo[key] = (
            tuple(at),
            np.concatenate([*mean_index, empty]),
            np.concatenate([*block_index, empty]),
        )
    return index.memo[key]


# ------------------------------------------------------------------- statistics
def _pattern_weights(group: PatternGroup, resp) -> np.ndarray:
    """Weight of each pattern of a group per component, shape (n_patterns, K).

    Summed in row order (rows are increasing within a group), so the sums do
    not depend on how the patterns were grouped.
    """
    n_patterns = len(group.missing)
    n_components = resp.shape[1]
    index = group.pattern[:, np.newaxis] * n_components + np.arange(n_components)
    return np.bincount(
        index.ravel(),
        weights=resp[group.rows].ravel(),
        minlength=n_patterns * n_components,
    ).reshape(n_patterns, n_components)


def _covariance_sum(blocks, resp, n_features) -> np.ndarray:
    """``sum_i resp_ik C_ik`` (each ``C_ik`` in its row's missing block)."""
    n_components = resp.shape[1]
    size = n_features * n_features
    total = np.zeros(n_components * size)
    offsets = (np.arange(n_components) * size)[:, None, None, None]
    for group, cond_cov in blocks:
        mis = group.missing
        flat = offsets + mis[:, :, np.newaxis] * n_features + mis[:, np.newaxis, :]
        weights = _pattern_weights(group, resp).T[:, :, np.newaxis, np.newaxis]
        scaled = np.broadcast_to(weights * cond_cov, flat.shape)
        total += np.bincount(flat.ravel(), weights=scaled.ravel(), minlength=total.size)
    return total.reshape(n_components, n_features, n_features)


def expected_stats(centred, resp, conditional: Conditional):
    """Expected sufficient statistics of the rows, per component.

    Parameters
    ----------
    centred : ndarray of shape (n_components, n_samples, n_features)
        ``x̂ - c``: the filled rows (the conditional means of
        ``conditional``) minus a reference point ``c`` (any point; one near
        the data keeps the sums of squares small).
    resp : ndarray of shape (n_samples, n_components)
        Weights of the rows per component (sample weights times
        responsibilities). ``S0`` is ``resp.sum(axis=0)``.
    conditional : Conditional
        From :func:`condition_on_observed` or
        :func:`condition_on_observed_diag` for the same rows.

    Returns
    -------
    s1 : ndarray of shape (n_components, n_features)
        ``sum w (x̂ - c)``.
    s2 : ndarray of shape (n_components, n_features, n_features)
        ``sum w ((x̂ - c)(x̂ - c)^T + C)``; only its diagonal, of shape
        (n_components, n_features), with a diagonal covariance.
    """
    if conditional.blocks is None:  # diagonal: C is the missing variances
        s1 = np.einsum("nk,knd->kd", resp, centred)
        second = centred * centred
        second += conditional.mask * conditional.variances[:, np.newaxis, :]
        return s1, np.einsum("nk,knd->kd", resp, second)
    weighted = centred * resp.T[:, :, np.newaxis]
    # A matrix product per component: much faster than a sum over the middle
    # axis of the (K, n, d) array.
    s1 = (resp.T[:, np.newaxis, :].astype(centred.dtype) @ centred)[:, 0]
    s2 = np.swapaxes(weighted, 1, 2) @ centred
    s2 += _covariance_sum(conditional.blocks, resp, centred.shape[2]).astype(
        s2.dtype, copy=False
    )
    return s1, s2


# ------------------------------------------------ expanded (full covariances)
#: Largest ``a_k^T Q_k a_k`` (``a_k = mu_k - c``, the component's mean in units
#: of its own spread from the reference point) for which
#: :func:`condition_on_observed_expanded` expands the distances around ``c``:
#: the expansion cancels terms of that size, so distances near a mean keep all
#: but about four of their digits (the complete-data log-densities' rule).
EXPANDED_MAX_NORM = 1e4

#: Rows whose conditional distance ``r̂^T Q r̂ = u^T Q u - b^T C b`` cancels
#: terms more than this many times its own size (missing entries that the
#: observed ones predict almost exactly) have it recomputed from the whitened
#: filled row, which has no cancellation.
CANCELLATION_MAX = 1e4


class PatternIndex(NamedTuple):
    """Index arrays of the rows' patterns for the expanded E-step (rows only).

    Everything here depends on the missingness mask (and the number of
    components) alone, so a fit builds it once per chunk of rows.

    The missing sets form a prefix tree: level ``j`` holds the distinct
    length-``j`` prefixes (columns in increasing order) of the patterns with
    at least ``j`` missing entries, the whole patterns of that length first,
    in their group's order. The inverse of ``Q`` on a prefix is its parent's
    bordered by one row and column (:func:`bordered_inverses`).

    Attributes
    ----------
    levels : tuple of (ndarray, ndarray or None, ndarray, ndarray)
        Per level ``j = 1, 2, ...``: its prefixes (n_nodes, j), the index of
        each one's parent in level ``j - 1`` (None at level 1), and the flat
        indices into a ``(n_features, n_features)`` matrix of each prefix's
        new diagonal entry (n_nodes,) and of its border (j - 1, n_nodes).
    counts : dict
        The number of patterns with ``j`` missing entries, per ``j``.
    rows : tuple of slice or ndarray
        Per pattern group, its rows: a slice where they are consecutive (rows
        ordered by their number of missing entries).
    complete : slice or ndarray
        The rows with nothing missing (a slice where consecutive).
    cells : tuple of ndarray
        Per pattern group, the flat indices of its rows' missing entries in a
        raveled feature-major ``(n_features, n_samples)`` array, shape (m,
        n_rows).
    row_blocks : tuple of (slice or ndarray, tuple of (int, int, ndarray))
        The rows in blocks of whole pattern groups (consecutive groups merged
        up to ``BLOCK_BYTES`` of per-component arrays), each with its groups:
        their position in ``patterns.groups``, the position of their first
        row in the block and the flat indices of their rows' missing entries
        in a raveled feature-major ``(K, n_features, n_block_rows)`` array of
        the block's rows, shape (K, m, n_rows): one gather or scatter per
        group for all components.
    incomplete : slice or ndarray
        The rows of all pattern groups, in group order (a slice where
        consecutive).
    pattern_of_row : ndarray of shape (n_incomplete,)
        Of each of those rows, its pattern's position among all groups'
        patterns (in group order).
    weight_index : ndarray of shape (K, n_incomplete)
        ``k * n_all_patterns + pattern_of_row``: the sums of the rows' weights
        per pattern and component are one ``bincount``.
    block_index : ndarray
        Per pattern group, concatenated: the flat index into ``(K,
        n_features, n_features)`` of each entry of its (K, m, m, n_patterns)
        blocks.
    n_components : int
    memo : dict
        Further index arrays of the rows, built on first use (by
        :func:`expected_stats_shared`).
    """

    levels: tuple
    counts: dict
    rows: tuple
    complete: slice | np.ndarray
    cells: tuple
    row_blocks: tuple
    incomplete: slice | np.ndarray
    pattern_of_row: np.ndarray
    weight_index: np.ndarray
    block_index: np.ndarray
    n_components: int
    memo: dict


#: Bytes of a per-component array of rows, ``(K, n_features, n_rows)``, up to
#: which consecutive pattern groups are handled together (fewer, larger array
#: operations; much larger arrays are mapped afresh, page by page, on every
#: pass: a 4 KiB page fault costs more than the arithmetic done in it).
BLOCK_BYTES = 2**19


def _row_blocks(patterns, rows, complete, n_features, n_components):
    """:attr:`PatternIndex.row_blocks`: consecutive groups merged into blocks."""
    n_samples = patterns.n_observed.size
    max_rows = max(1, BLOCK_BYTES // (8 * n_components * n_features))
    units = [(complete, None)] if _count(complete, n_samples) else []
    units += [(selected, g) for g, selected in enumerate(rows)]
    merged = []  # [selector, n_rows, [(group, offset), ...]]
    for selected, g in units:
        n_rows = _count(selected, n_samples)
        members = [] if g is None else [(g, 0)]
        last = merged[-1] if merged else None
        if (
            last is not None
            and isinstance(last[0], slice)
            and isinstance(selected, slice)
            and last[0].stop == selected.start
            and last[1] + n_rows <= max_rows
        ):
            last[0] = slice(last[0].start, selected.stop)
            last[2] += [(g, last[1])] if g is not None else []
            last[1] += n_rows
        else:
            merged.append([selected, n_rows, members])
    components = np.arange(n_components)[:, None, None]
    blocks = []
    for selected, n_block, members in merged:
        located = []
        for g, offset in members:
            group = patterns.groups[g]
            at = np.arange(offset, offset + len(group.rows))
            local = group.missing[group.pattern].T * n_block + at  # (m, r)
            located.append((g, offset, components * (n_features * n_block) + local))
        blocks.append((selected, tuple(located)))
    return tuple(blocks)


def _as_slice(rows):
    """``rows`` (increasing) as a slice where they are consecutive."""
    if len(rows) == 0:
        return slice(0, 0)
    first, last = int(rows[0]), int(rows[-1])
    return slice(first, last + 1) if last - first + 1 == len(rows) else rows


def _row_keys(a, b):
    """Comparable keys of the rows of two integer arrays of the same width."""
    both = np.ascontiguousarray(np.concatenate([a, b]).astype(np.int64))
    keys = both.view(np.dtype((np.void, both.shape[1] * 8))).ravel()
    return keys[: len(a)], keys[len(a) :]


def _row_index(table, rows):
    """Index in ``table`` of each of ``rows`` (all present)."""
    key_t, key_r = _row_keys(table, rows)
    order = np.argsort(key_t)
    return order[np.searchsorted(key_t[order], key_r)]


def pattern_index(
    patterns: MissingPatterns, n_features: int, n_components: int
) -> PatternIndex:
    """The :class:`PatternIndex` of ``patterns``."""
    by_size = {g.missing.shape[1]: g.missing for g in patterns.groups}
    levels = []
    previous = None
    for j in range(1, max(by_size, default=0) + 1):
        whole = by_size.get(j, np.empty((0, j), dtype=np.intp))
        longer = [by_size[m][:, :j] for m in by_size if m > j]
        inner = np.unique(np.concatenate(longer), axis=0) if longer else whole[:0]
        if len(whole) and len(inner):
            # Prefixes that are whole patterns too are kept once, with them.
            key_inner, key_whole = _row_keys(inner, whole)
            inner = inner[~np.isin(key_inner, key_whole)]
        nodes = np.concatenate([whole, inner]).astype(np.intp)
        last = nodes[:, -1]
        parent = None if previous is None else _row_index(previous, nodes[:, :-1])
        border = np.ascontiguousarray(nodes[:, :-1].T * n_features + last)
        levels.append((nodes, parent, last * (n_features + 1), border))
        previous = nodes
    components = np.arange(n_components)
    n_samples = patterns.n_observed.size
    rows, cells, of_row, block_index = [], [], [], []
    n_patterns = 0
    for group in patterns.groups:
        mis = group.missing
        rows.append(_as_slice(group.rows))
        cells.append(mis[group.pattern].T * n_samples + group.rows)  # (m, r)
        of_row.append(group.pattern + n_patterns)
        n_patterns += len(mis)
        entries = mis.T[:, None, :] * n_features + mis.T[None, :, :]  # (m, m, P)
        block_index.append(
            (components[:, None, None, None] * n_features**2 + entries).ravel()
        )
    complete = _as_slice(np.flatnonzero(patterns.n_observed == n_features))
    empty = np.empty(0, dtype=np.intp)
    incomplete = np.concatenate([g.rows for g in patterns.groups] + [empty])
    pattern_of_row = np.concatenate([*of_row, empty])
    return PatternIndex(
        levels=tuple(levels),
        counts={m: len(mis) for m, mis in by_size.items()},
        rows=tuple(rows),
        complete=complete,
        cells=tuple(cells),
        row_blocks=_row_blocks(patterns, rows, complete, n_features, n_components),
        incomplete=_as_slice(incomplete),
        pattern_of_row=pattern_of_row,
        weight_index=components[:, None] * n_patterns + pattern_of_row,
        block_index=np.concatenate(block_index) if block_index else np.empty(0, int),
        n_components=n_components,
        memo={},
    )


def bordered_inverses(precision, index: PatternIndex, compiled: bool = True):
    """``Q_mm^-1`` and ``log det Q_mm`` of every pattern, by bordering.

    For a prefix ``A = [[B, u], [u^T, c]]`` whose parent ``B`` has inverse
    ``B^-1``: with ``v = B^-1 u`` and the Schur complement ``s = c - u^T v``,
    ``A^-1 = [[B^-1 + v v^T / s, -v / s], [-v^T / s, 1 / s]]`` and ``log det A
    = log det B + log s`` (``s`` is a squared Cholesky pivot, positive exactly
    when ``A`` is positive definite given ``B`` is). That is a few array
    operations per level for all patterns and components at once, where one
    sweep per pattern group costs a few per missing entry; the prefixes are
    the last axis, so every operation runs along contiguous memory.

    Parameters
    ----------
    precision : ndarray of shape (n_components, n_features, n_features)
    index : PatternIndex
    compiled : bool, default=True
        Whether the compiled kernel may be used (where numba is there and
        the data are float64; the numpy twin otherwise).

    Returns
    -------
    inverses : dict or None
        For each ``m`` with patterns, ``(cond_cov, log_det_mm)`` of shapes
        (K, m, m, n_patterns) and (K, n_patterns), in the order of the
        pattern group; None if some block is not positive definite.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # checked at the end
        return _bordered_inverses(precision, index, compiled)


def _border_level(flat, above, parent, diagonal, border_at, log_det_above):
    """One level of :func:`bordered_inverses` in numpy (the compiled twin's).

    Returns the level's inverses (K, j, j, N) and log-determinants (K, N).
    """
    n_components, j = above.shape[0], above.shape[1] + 1
    pivot = np.take(flat, diagonal, axis=1)  # c, (K, N)
    above = np.take(above, parent, axis=3)  # B^-1, (K, j-1, j-1, N)
    border = np.take(flat, border_at, axis=1)  # u, (K, j-1, N)
    v = np.einsum("kijn,kjn->kin", above, border)
    schur = pivot - np.einsum("kin,kin->kn", border, v)
    reciprocal = 1.0 / schur
    scaled = v * reciprocal[:, np.newaxis, :]  # v / s
    new = np.empty((n_components, j, j, schur.shape[1]), dtype=flat.dtype)
    np.multiply(scaled[:, :, np.newaxis, :], v[:, np.newaxis], out=new[:, :-1, :-1])
    new[:, :-1, :-1] += above
    np.negative(scaled, out=new[:, :-1, -1])
    new[:, -1, :-1] = new[:, :-1, -1]
    new[:, -1, -1] = reciprocal
    log_det = np.take(log_det_above, parent, axis=1)
    log_det += np.log(schur)
    return new, log_det


def _bordered_inverses(precision, index, compiled):
    flat = precision.reshape(precision.shape[0], -1)
    out = {}
    inverse = log_det = None
    for j, (_, parent, diagonal, border_at) in enumerate(index.levels, start=1):
        if parent is None:
            pivot = np.take(flat, diagonal, axis=1)  # (K, N)
            new = (1.0 / pivot)[:, np.newaxis, np.newaxis, :]
            log_det = np.log(pivot)
        else:
            level = (flat, inverse, parent, diagonal, border_at, log_det)
            new, log_det = compiled_border_level(*level) if compiled else (None, None)
            if new is None:
                new, log_det = _border_level(*level)
        inverse = new
        count = index.counts.get(j, 0)
        if count:
            out[j] = (inverse[..., :count], log_det[:, :count])
    # Every prefix leads to a whole pattern, whose log-determinant sums the
    # logarithms of its prefixes' Schur complements: one not positive (or not
    # a number) leaves a log-determinant that is not finite.
    log_dets = [log_det.ravel() for _, log_det in out.values()]
    if log_dets and not np.isfinite(np.concatenate(log_dets)).all():
        return None
    return out


def _pattern_inverses(precision, patterns, index, compiled=True):
    """:func:`bordered_inverses` per pattern group; the error names a block."""
    bordered = bordered_inverses(precision, index, compiled)
    if bordered is not None:
        return [bordered[g.missing.shape[1]] for g in patterns.groups]
    # Some block is not positive definite: one group at a time, to name it.
    out = []
    for group in patterns.groups:
        mis = group.missing
        q_mm = precision[:, mis[:, :, np.newaxis], mis[:, np.newaxis, :]]
        cond_cov, log_det_mm, positive = _spd_inverse(q_mm)
        if not positive.all():
            _cholesky(q_mm, mis)  # names the block (or fails itself)
            raise ValueError(_not_positive(q_mm, positive, mis))
        out.append((np.moveaxis(cond_cov, 1, 3), log_det_mm))
    return out


class ExpandedConditional(NamedTuple):
    """Rows conditioned on their observed entries, expanded around ``c``.

    With ``y = x - c`` (0 at the missing entries), the filled rows are
    ``x̂_k - c = y + delta_k``, ``delta_k`` being ``x̂_km - c_m`` at each row's
    missing entries and 0 elsewhere. Feature-major: one row per feature, so
    that every per-component pass runs along the rows.

    Attributes
    ----------
    log_prob : ndarray of shape (n_samples, n_components)
        ``log p(x_o)`` (0 for a row with nothing observed).
    centred_t : ndarray of shape (n_features, n_samples)
        ``y`` transposed.
    deltas : tuple of ndarray
        Per pattern group, ``delta`` at its rows' missing entries, shape
        (n_components, m, n_rows).
    blocks : tuple of (PatternGroup, ndarray)
        Each pattern group with the conditional covariances ``C`` of its
        patterns, shape (n_components, m, m, n_patterns).
    index : PatternIndex
    """

    log_prob: np.ndarray
    centred_t: np.ndarray
    deltas: tuple
    blocks: tuple
    index: PatternIndex


def condition_on_observed_expanded(
    centred, means, precision, whiten, log_det, patterns, index=None
) -> ExpandedConditional | None:
    """:func:`condition_on_observed` expanded around a reference point.

    With ``u = y - a_k`` (``y = x - c`` zero-filled, ``a_k = mu_k - c``: ``u``
    is ``x - mu_k`` with ``c - mu_k`` at the missing entries) and ``b = (Q_k
    u)_m``, the conditional mean is ``x̂_m - c_m = -C b`` and
    ``r̂^T Q r̂ = u^T Q u - b^T C b``. ``Q_k u`` of all rows is one matrix
    product per component, and gives ``u^T Q u = (y - a_k)^T (Q_k u)`` and
    ``b``: no per-row work but at the missing entries, and no filled rows.

    Parameters
    ----------
    centred : ndarray of shape (n_samples, n_features)
        ``y = x - c`` (a reference point ``c`` near the data), 0 at the
        missing entries.
    means : ndarray of shape (n_components, n_features)
        ``a_k = mu_k - c``.
    precision, whiten : ndarray of shape (n_components, n_features, n_features)
        ``Q_k`` and a factor ``W_k`` with ``W_k W_k^T = Q_k``.
    log_det : ndarray of shape (n_components,)
        ``log det Sigma_k``.
    patterns : MissingPatterns
        ``missing_patterns`` of the rows' mask.
    index : PatternIndex, default=None
        ``pattern_index(patterns, n_features, n_components)``, if already
        computed (it depends on the rows only).

    Returns
    -------
    conditional : ExpandedConditional or None
        None where the expansion would lose precision (a mean far from ``c``
        in units of its component's spread, see ``EXPANDED_MAX_NORM``): use
        :func:`condition_on_observed` then.
    """
    n_samples, n_features = centred.shape
    n_components = means.shape[0]
    dtype = centred.dtype
    means = means.astype(dtype, copy=False)
    precision = precision.astype(dtype, copy=False)
    q_means = (precision @ means[:, :, np.newaxis])[:, :, 0]
    mean_norms = np.einsum("kd,kd->k", q_means, means)  # a_k^T Q_k a_k
    if not np.all(mean_norms <= EXPANDED_MAX_NORM):
        return None
    if index is None or index.n_components != n_components:
        index = pattern_index(patterns, n_features, n_components)
    fast = compiled_for(n_samples * n_components)  # see compiled_for
    inverses = _pattern_inverses(precision, patterns, index, fast)
    centred_t = np.ascontiguousarray(centred.T)
    quad = np.empty((n_components, n_samples), dtype=dtype)  # u^T Q u

    def q_u(rows):
        # Q_k u = Q_k y - Q_k a_k of a block of rows, feature-major (K, d, r):
        # one product per component (see BLOCK_BYTES).
        centred_rows = centred_t[:, rows]
        product = np.matmul(precision, centred_rows)
        block_quad = np.empty((n_components, product.shape[2]), dtype=dtype)
        if fast and compiled_centre_products(
            product, centred_rows, q_means, means, block_quad
        ):
            quad[:, rows] = block_quad
        else:
            product -= q_means[:, :, np.newaxis]
            # u^T Q u = y . (Q u) - a_k . (Q u)
            quad[:, rows] = np.einsum("kdr,dr->kr", product, centred_rows)
            quad[:, rows] -= (means[:, np.newaxis, :] @ product)[:, 0]
        return product

    explained = np.zeros((n_components, n_samples), dtype=dtype)  # -b^T C b
    log_dets = np.zeros((n_components, n_samples), dtype=dtype)  # log|Q_mm|
    if inverses:
        every = np.concatenate([log_det_mm for _, log_det_mm in inverses], axis=1)
        log_dets[:, index.incomplete] = np.take(every, index.pattern_of_row, axis=1)
    deltas = []
    blocks = []
    for rows, members in index.row_blocks:
        product = q_u(rows)
        for g, _, cells in members:
            group = patterns.groups[g]
            cond_cov = inverses[g][0]
            row_pat, group_rows = group.pattern, index.rows[g]
            delta, part = (
                compiled_condition_group(product, cells[0], cond_cov, row_pat)
                if fast
                else (None, None)
            )
            if delta is None:
                b = np.take(product, cells)  # (K, m, r)
                delta = np.einsum(
                    "kijr,kjr->kir", np.take(cond_cov, row_pat, axis=3), b
                )
                np.negative(delta, out=delta)  # x̂_m - c_m = -C b
                part = np.einsum("kir,kir->kr", b, delta)
            explained[:, group_rows] = part
            deltas.append(delta)
            blocks.append((group, cond_cov))
    # Rows that cancel far more than they keep are recomputed.
    size = quad + mean_norms[:, np.newaxis]
    quad += explained
    bound = np.maximum(quad, 1.0)
    bound *= CANCELLATION_MAX
    lossy = np.flatnonzero((size > bound).any(axis=0))
    conditional = ExpandedConditional(
        log_prob=None,
        centred_t=centred_t,
        deltas=tuple(deltas),
        blocks=tuple(blocks),
        index=index,
    )
    if lossy.size:
        filled = _filled_t(conditional, n_components)[:, :, lossy]
        filled -= means[:, :, np.newaxis]  # r̂ = x̂ - mu
        whitened = np.swapaxes(whiten, 1, 2).astype(dtype, copy=False) @ filled
        quad[:, lossy] = np.einsum("kdr,kdr->kr", whitened, whitened)
    n_observed = patterns.n_observed
    log_prob = quad
    log_prob += log_dets
    log_prob += (n_observed * _LOG_2PI).astype(dtype)
    log_prob += np.asarray(log_det, dtype=dtype)[:, np.newaxis]
    log_prob *= -0.5
    log_prob[:, n_observed == 0] = 0.0
    return conditional._replace(log_prob=log_prob.T)


def _count(rows, n_samples):
    return len(range(n_samples)[rows]) if isinstance(rows, slice) else len(rows)


def _filled_t(conditional: ExpandedConditional, n_components: int) -> np.ndarray:
    """``x̂ - c`` of every row under every component, (K, n_features, n_samples)."""
    centred_t = conditional.centred_t
    filled = np.empty((n_components, *centred_t.shape), dtype=centred_t.dtype)
    filled[:] = centred_t
    flat = filled.reshape(n_components, -1)
    for cells, delta in zip(conditional.index.cells, conditional.deltas, strict=True):
        flat[:, cells] = delta
    return filled


def filled_expanded(conditional: ExpandedConditional, n_components: int) -> np.ndarray:
    """``x̂ - c`` of every row under every component, (K, n_samples, n_features)."""
    return np.swapaxes(_filled_t(conditional, n_components), 1, 2)


def expected_stats_expanded(resp, conditional: ExpandedConditional):
    """:func:`expected_stats` of an :class:`ExpandedConditional`.

    The filled rows ``x̂_k - c = y + delta_k`` are written feature-major,
    ``(K, n_features, n_samples)``, so that weighting them by the rows'
    weights and their sums run along contiguous rows and the second moments
    of all components are one stacked matrix product; the conditional
    covariances are summed per pattern and placed in one ``bincount`` (or
    by a compiled kernel).

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Weights of the rows per component.
    conditional : ExpandedConditional

    Returns
    -------
    s1 : ndarray of shape (n_components, n_features)
        ``sum w (x̂ - c)``.
    s2 : ndarray of shape (n_components, n_features, n_features)
        ``sum w ((x̂ - c)(x̂ - c)^T + C)``.
    """
    index = conditional.index
    centred_t = conditional.centred_t
    n_features = centred_t.shape[0]
    n_components = resp.shape[1]
    dtype = centred_t.dtype
    resp_t = np.ascontiguousarray(resp.T, dtype=dtype)
    s1 = np.zeros((n_components, n_features), dtype=dtype)
    s2 = np.zeros((n_components, n_features, n_features), dtype=dtype)
    fast = compiled_for(resp_t.size)  # see compiled_for
    non_negative = np.all(resp_t >= 0)
    root = np.sqrt(resp_t) if non_negative else None

    def filled_rows(centred_rows, members):
        # x̂ - c of a block of rows, (K, d, r) (see BLOCK_BYTES).
        filled = np.empty((n_components, *centred_rows.shape), dtype=dtype)
        filled[:] = centred_rows
        flat = filled.reshape(-1)
        for g, _, cells in members:
            flat[cells] = conditional.deltas[g]
        return filled

    def add(rows, members):
        centred_rows = centred_t[:, rows]
        if non_negative:
            # sqrt(w) (x̂ - c): S2 its outer products, S1 its product with
            # sqrt(w); no weighted copy (compiled: made in one pass).
            weights = root[:, rows]
            groups = [(conditional.deltas[g], at, cells[0]) for g, at, cells in members]
            filled = (
                compiled_weighted_filled(centred_rows, weights, groups)
                if fast
                else None
            )
            if filled is None:
                filled = filled_rows(centred_rows, members)
                filled *= weights[:, np.newaxis, :]
            s1[:] += (filled @ weights[:, :, np.newaxis])[:, :, 0]
            s2[:] += filled @ np.swapaxes(filled, 1, 2)
        else:
            filled = filled_rows(centred_rows, members)
            weights = resp_t[:, rows]
            s1[:] += (filled @ weights[:, :, np.newaxis])[:, :, 0]
            s2[:] += filled @ np.swapaxes(filled * weights[:, np.newaxis, :], 1, 2)

    for rows, members in index.row_blocks:
        add(rows, members)
    scaled = []
    if conditional.blocks and not (
        fast and _compiled_covariance_sums(resp_t, conditional, s2)
    ):
        # Weight of each pattern per component, (K, n_all_patterns).
        n_patterns = sum(cond_cov.shape[3] for _, cond_cov in conditional.blocks)
        pattern_weights = np.bincount(
            index.weight_index.ravel(),
            weights=resp_t[:, index.incomplete].ravel(),
            minlength=n_components * n_patterns,
        ).reshape(n_components, 1, 1, -1)
        start = 0
        for _, cond_cov in conditional.blocks:
            stop = start + cond_cov.shape[3]
            scaled.append((cond_cov * pattern_weights[..., start:stop]).ravel())
            start = stop
    if scaled:  # sum_i w_ik C_ik, every pattern's blocks in one sum
        s2 += (
            np.bincount(
                index.block_index,
                weights=np.concatenate(scaled),
                minlength=n_components * n_features**2,
            )
            .reshape(n_components, n_features, n_features)
            .astype(dtype, copy=False)
        )
    return s1, s2


def _compiled_covariance_sums(resp_t, conditional: ExpandedConditional, s2) -> bool:
    """``sum_i w_ik C_ik`` of every pattern group added into ``s2`` compiled,
    or False (nothing added) where the kernel does not apply."""
    index = conditional.index
    for g, (group, cond_cov) in enumerate(conditional.blocks):
        resp_rows = resp_t[:, index.rows[g]]
        if not compiled_covariance_sum(
            resp_rows, group.pattern, group.missing, cond_cov, s2
        ):
            return False  # the first group: the same types for all of them
    return True


def row_bytes(n_features: int, max_missing: int) -> int:
    """Bytes of float64 temporaries per row of :func:`condition_on_observed`
    with one component (``max_missing`` the most missing entries of a row)."""
    return 8 * (7 * n_features + 3 * max_missing * (max_missing + 2) + 8)
