"""GaussianMixtureEM: scikit-learn's GaussianMixture on the emmix EM engine.

The maths per covariance type are small pure functions chosen by dict lookup.
Numerical safety comes from centring rather than from extra passes: the
log-densities and the statistics of every covariance type are taken around
the mixture's overall mean ``shift = sum_k pi_k mu_k``, so data far from the
origin (say 1e4 + noise) keep their precision even in float32. The shift is a
function of the parameters entering the E-step, so the statistics stay plain
sums over rows (chunkable, weightable, summable across machines).

Speed comes from doing each chunk's work in a few matrix products over one
component-major feature matrix (see the E-step section below).
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from scipy import linalg
from sklearn.utils._param_validation import Interval, StrOptions

from .._accel import project_psd
from .._compiled import compiled_fused_estep
from .._conditional_gaussian import missing_patterns
from .._products import matmul_long, matmul_long_nt
from .._responsibilities import log_floor, row_sums
from .._validation import (
    check_array_shape,
    check_squares_representable,
    estimator_feature_names,
    warn_if_reg_covar_dominates,
)
from ..base import BaseMixture, chunked_stats, format_values, memoized
from ._covariance_structures import (
    STRUCTURES,
    compact_covariances,
    covariance_mstep,
    decompose,
    full_covariances,
    is_submodel,
    n_covariance_parameters,
)
from ._gaussian_missing import (
    conditional_means,
    fused_missing_diag,
    fused_missing_full,
    missing_log_prob,
    missing_rows,
    missing_stats,
    packed_pairs,
    rows_of,
)
from ._gaussian_xp import ArrayAPIMixin, is_namespace_array

__all__ = ["GaussianMixtureEM"]

#: scikit-learn's four types (their own storage and code paths).
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
#: Every accepted ``covariance_type``: scikit-learn's four, then mclust's
#: fourteen structures.
ALL_COVARIANCE_TYPES = (*COVARIANCE_TYPES, *STRUCTURES)

#: Most inner iterations of an iterative structure's M-step within one EM
#: step. Warm-started from the last covariances, every inner step raises the
#: expected complete-data log-likelihood, so any cap keeps EM monotone (a
#: generalised EM step); near convergence a few iterations reach the optimum.
STRUCTURE_INNER_MAX_ITER = 5

_SINGULAR_MESSAGE = (
    "Fitting the mixture model failed because some components have ill-defined "
    "empirical covariance (for instance caused by singleton or collapsed "
    "samples). Try to decrease the number of components, increase reg_covar, "
    "or scale the input data."
)


def symmetric_parametrisation(value):
    """Free coordinates of (a stack of) symmetric matrices: upper triangles.

    Returns ``(theta, to_value)`` as ``BaseMixture._free_parametrisation``
    does, for the standard errors of covariance-like groups.
    """
    value = np.asarray(value, dtype=np.float64)
    rows, cols = np.triu_indices(value.shape[-1])

    def to_value(theta):
        upper = theta.reshape(*value.shape[:-2], rows.size)
        out = np.zeros(value.shape)
        out[..., rows, cols] = upper
        out[..., cols, rows] = upper
        return out

    return value[..., rows, cols].ravel().copy(), to_value


def check_gaussian_scale(estimator, X) -> None:
    """Checks of a fit's data for families with covariances (Gaussian, t).

    Squares must stay representable, and a warning says when ``reg_covar``
    would dominate a column's variance.
    """
    names = estimator_feature_names(estimator)
    name = type(estimator).__name__
    check_squares_representable(X, name=name, names=names)
    warn_if_reg_covar_dominates(X, estimator.reg_covar, name=name, names=names)


# --------------------------------------------------------------------- shapes
def kernel_type(covariance_type: str) -> str:
    """The scikit-learn type whose storage and log-density code a type uses.

    mclust's structures are stored in the "full" form (one ``(d, d)`` matrix
    per component) and share its code end to end; only their M-step differs.
    """
    return "full" if covariance_type in STRUCTURES else covariance_type


def covariance_shape(covariance_type: str, n_components: int, n_features: int):
    """Shape of ``covariances_`` / ``precisions_`` for a covariance type."""
    covariance_type = kernel_type(covariance_type)
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def _mixture_mean(weights, means):
    """Overall mean of the mixture, the centring point of the E-step."""
    return (weights / np.sum(weights)) @ means


# ------------------------------------------------- precision Cholesky factors
def _singular_error(dtype, which=""):
    # scikit-learn's exact text first, then which component it was.
    message = _SINGULAR_MESSAGE
    if dtype == np.float32:
        message += (
            " The numerical accuracy can also be improved by passing float64 "
            "data instead of float32."
        )
    if which:
        message += f" (The first such is {which}.)"
    return ValueError(message)


def _check_finite_covariances(covariances):
    """NaN or inf covariances (overflow on extreme data) must never pass silently."""
    if not np.all(np.isfinite(covariances)):
        k = int(np.argwhere(~np.isfinite(covariances))[0][0])
        raise ValueError(
            f"Fitting the mixture model failed: component {k} has a non-finite "
            "covariance (the data's scale overflows the floating-point range). "
            "Scale the input data (e.g. with StandardScaler) or pass float64."
        )


def _chol_full(covariances):
    """Upper-triangular ``L_k`` with ``L_k L_k^T = inv(Sigma_k)``, for all k.

    LAPACK's ``potrf`` and ``trtri`` directly: scipy's ``cholesky`` and
    ``solve_triangular`` wrappers cost more than the arithmetic at these sizes.
    """
    _check_finite_covariances(covariances)
    potrf, trtri = linalg.get_lapack_funcs(("potrf", "trtri"), (covariances,))
    out = np.empty_like(covariances)
    for k, cov in enumerate(covariances):
        cov_chol, info = potrf(cov, lower=True)
        if info == 0:
            inverse, info = trtri(cov_chol, lower=True)
        if info != 0:
            raise _singular_error(covariances.dtype, f"component {k}")
        out[k] = inverse.T
    _check_precisions_representable(out)
    return out


def _check_precisions_representable(prec_chol):
    """A precision factor whose square overflows is as unusable as a singular one.

    A positive but tiny covariance (data near 1e-160 with ``reg_covar=0``:
    squares that underflow) factorises, yet its precision ``L L^T`` is inf.
    """
    n_features = prec_chol.shape[-1] if prec_chol.ndim == 3 else 1
    limit = np.sqrt(np.finfo(prec_chol.dtype).max / n_features)
    fine = np.abs(prec_chol) < limit
    if not np.all(fine):
        k = int(np.argwhere(~fine)[0][0]) if prec_chol.ndim > 1 else 0
        raise _singular_error(prec_chol.dtype, f"component {k}")


def _chol_tied(covariance):
    return _chol_full(covariance[np.newaxis])[0]


def _chol_diag(covariances):
    _check_finite_covariances(covariances)
    if np.any(covariances <= 0.0):
        k = int(np.argwhere(covariances <= 0.0)[0][0])
        raise _singular_error(covariances.dtype, f"component {k}")
    prec_chol = 1.0 / np.sqrt(covariances)
    _check_precisions_representable(prec_chol)
    return prec_chol


PRECISION_CHOLESKY = {
    "full": _chol_full,
    "tied": _chol_tied,
    "diag": _chol_diag,
    "spherical": _chol_diag,
}


def _flip(a):
    return a[..., ::-1, ::-1]


def precision_cholesky_from_precisions(precisions, covariance_type):
    """Upper Cholesky factors of given precisions (as scikit-learn stores them).

    ``J P J = C C^T`` (lower ``C``, ``J`` the exchange matrix) gives
    ``P = (J C J)(J C J)^T`` with ``J C J`` upper triangular.
    """
    if covariance_type in ("full", "tied"):
        return _flip(np.linalg.cholesky(_flip(precisions)))
    return np.sqrt(precisions)


def precisions_from_cholesky(prec_chol, covariance_type):
    """``P = L L^T`` for each component (or the square for diag/spherical)."""
    if covariance_type in ("full", "tied"):
        return prec_chol @ np.swapaxes(prec_chol, -1, -2)
    return prec_chol**2


def covariances_from_precisions(precisions, covariance_type):
    if covariance_type in ("full", "tied"):
        return np.linalg.inv(precisions)
    return 1.0 / precisions


# ----------------------------------------------------------- log-densities
# All the maths below works on centred data ``Xc = X - shift`` and centred
# means ``Mc = means - shift``, where ``shift`` is the mixture's overall mean
# (any fixed point gives the same numbers in exact arithmetic; one inside the
# data keeps the sums of squares small, so data far from the origin keep their
# digits even in float32). ``cache`` is a per-chunk dict shared by the E-step's
# log-densities and statistics so that nothing is computed twice.
def _log_det_chol(prec_chol, covariance_type, n_features):
    """``log det L`` (half the log-determinant of the precision) per component."""
    if covariance_type == "full":
        return np.sum(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)), axis=1)
    if covariance_type == "tied":
        return np.sum(np.log(np.diag(prec_chol)))
    if covariance_type == "diag":
        return np.sum(np.log(prec_chol), axis=1)
    return n_features * np.log(prec_chol)


# Each _prepare_* folds every per-component constant (normalising constant,
# log-determinant, the mean's own terms and, in the E-step, log pi_k) into one
# matrix ``W`` of shape (K, m), so that a chunk's log-densities are ONE matrix
# product ``W @ Z`` with a feature matrix ``Z`` (m, n) of the chunk's rows, and
# the statistics of all components another one, ``resp^T @ Z^T``.
#
# Everything is component-major: ``Z`` holds one row per feature (transposed
# data), the log-densities come out as a C-ordered (K, n) array and are handed
# on as its transpose, an F-ordered (n, K) view. The passes that follow (row
# maxima, exponentials, normalisation, statistics) then walk contiguous memory
# one component at a time, and no (n, K) array is ever copied to change layout.
_HALF = math.sqrt(0.5)


def _packed_outer_T(XcT, out=None):
    """Upper triangles of the rows' outer products, one row per pair (i <= j).

    Built from the transposed chunk so every product writes a contiguous
    block: row block ``j`` is ``x_j * x_{j:}``, in ``np.triu_indices`` order.
    """
    d, n = XcT.shape
    if out is None:
        out = np.empty((d * (d + 1) // 2, n), dtype=XcT.dtype)
    start = 0
    for j in range(d):
        np.multiply(XcT[j], XcT[j:], out=out[start : start + d - j])
        start += d - j
    return out


#: Above this many features the second moments are taken one component at a
#: time, as ``(r_k * Xc)^T Xc``: those products are then large enough to run
#: at full speed, while the packed outer products would grow as d**2 per row.
PACKED_OUTER_MAX_FEATURES = 32


def _scratch(cache, key, shape, dtype):
    """An uninitialised array, kept in the chunk's cache under ``key``."""
    if cache is None:
        return np.empty(shape, dtype=dtype)
    if key not in cache:
        cache[key] = np.empty(shape, dtype=dtype)
    return cache[key]


def _cached_features(cache, key, shift, build):
    """``build()``, kept in the chunk's cache for the same centring point.

    The log-densities and the statistics of one chunk share their feature
    matrix; a caller centring elsewhere gets its own. (Kept for one pass
    only: the centring point moves with the parameters, and a fit's worth of
    features, read back from memory, measured slower than building them
    anew from the rows while they are in cache.)
    """
    if cache is not None and key in cache:
        cached_shift, features = cache[key]
        if cached_shift is shift or np.array_equal(cached_shift, shift):
            return features
    features = build()
    if cache is not None:
        cache[key] = (shift, features)
    return features


def _rows_T(X, cache):
    """``X^T``, C-ordered: kept for the fit where its memo budget allows.

    Reading the rows transposed is what building the features costs (2.9 ms
    a pass at 100,000 x 16 against 0.4 ms from the transposed copy), and the
    rows do not change during a fit.
    """
    return memoized(cache, "rows_T", lambda: np.ascontiguousarray(X.T), large=True)


def _centred_T(X, shift, out, cache=None):
    """``(X - shift)^T`` written into ``out`` (one pass over contiguous rows)."""
    if cache is None or "memo" not in cache:  # no fit to keep X^T for
        return np.subtract(X.T, shift[:, np.newaxis], out=out)
    return np.subtract(_rows_T(X, cache), shift[:, np.newaxis], out=out)


#: Largest ``mu_k^T P_k mu_k`` (centred means, in units of each component's
#: own spread) for which full covariances use the expanded quadratic form.
#: Expanding ``(x - mu)^T P (x - mu)`` cancels terms of that size, so at 1e4
#: the distances near a mean keep all but about four of their digits (errors
#: ~1e-12 in a log-density); beyond it the whitened difference is used.
EXPANDED_MAX_NORM = 1e4


def _prepare_full(Mc, prec_chol, constant):
    k, d = Mc.shape
    # P_k mu_k with P_k = L_k L_k^T, and mu_k^T P_k mu_k.
    whitened_means = np.einsum("kd,kde->ke", Mc, prec_chol)
    norms = np.einsum("ke,ke->k", whitened_means, whitened_means)
    if d > PACKED_OUTER_MAX_FEATURES or not np.all(norms <= EXPANDED_MAX_NORM):
        # All components' whitening in one product: for component k the rows
        # [sqrt(1/2) L_k^T | -sqrt(1/2) L_k^T mu_k] applied to [x; 1], so the
        # sum of squares of each d-block is half the Mahalanobis distance.
        whiten = np.empty((k, d, d + 1), dtype=Mc.dtype)
        whiten[:, :, :d] = np.swapaxes(prec_chol, 1, 2) * _HALF
        whiten[:, :, d] = -whitened_means * _HALF
        return {"whiten": whiten.reshape(k * d, d + 1), "c": constant}
    # Expanded: log p = [packed x x^T; x; 1] weighted by
    # [-P_k / 2 (off-diagonal pairs doubled), P_k mu_k, c_k - mu_k^T P_k mu_k / 2],
    # one product with the very features the second moments need.
    precisions = prec_chol @ np.swapaxes(prec_chol, 1, 2)
    rows, cols = packed_pairs(d)
    pairs = precisions[:, rows, cols] * np.where(rows == cols, -0.5, -1.0)
    n_pairs = rows.size
    weights = np.empty((k, n_pairs + d + 1), dtype=Mc.dtype)
    weights[:, :n_pairs] = pairs
    weights[:, n_pairs : n_pairs + d] = np.einsum(
        "kde,ke->kd", prec_chol, whitened_means
    )
    weights[:, -1] = constant - 0.5 * norms
    return {"W": weights}


def _features_full(X, shift, cache):
    """``[Xc^T; 1]``: the centred rows (transposed) and a row of ones."""

    def build():
        n, d = X.shape
        Z = np.empty((d + 1, n), dtype=X.dtype)
        _centred_T(X, shift, Z[:d], cache)
        Z[d] = 1.0
        return Z

    return _cached_features(cache, "Z1", shift, build)


def _features_outer(X, shift, cache):
    """``[packed Xc Xc^T; Xc^T; 1]``: features of the full model (d <= 32)."""

    def build():
        n, d = X.shape
        n_pairs = d * (d + 1) // 2
        Z = np.empty((n_pairs + d + 1, n), dtype=X.dtype)
        XcT = _centred_T(X, shift, Z[n_pairs : n_pairs + d], cache)
        _packed_outer_T(XcT, out=Z[:n_pairs])
        Z[-1] = 1.0
        return Z

    return _cached_features(cache, "Zf", shift, build)


#: Bytes of whitened rows (K * d per row) produced at once by the full
#: log-density: small enough to stay in a core's cache between the product
#: that writes them and the sum of squares that reads them (measured: 1.6x
#: faster per row than whitening a whole chunk at once; 2**19 bytes beat
#: 2**20 to 2**22 in float64 and float32 alike).
WHITEN_BLOCK_BYTES = 2**19


def _logp_full(X, consts, cache):
    if "W" in consts:
        return matmul_long(consts["W"], _features_outer(X, consts["shift"], cache)).T
    Z = _features_full(X, consts["shift"], cache)
    W = consts["whiten"]
    n = Z.shape[1]
    k = consts["c"].shape[0]
    d = W.shape[0] // k
    half_maha = np.empty((k, n), dtype=X.dtype)
    block = max(64, WHITEN_BLOCK_BYTES // (W.shape[0] * X.dtype.itemsize))
    Y = np.empty((W.shape[0], min(block, n)), dtype=X.dtype)
    for start in range(0, n, block):
        stop = min(start + block, n)
        Yb = np.matmul(W, Z[:, start:stop], out=Y[:, : stop - start])
        Yb = Yb.reshape(k, d, stop - start)
        np.einsum("kdn,kdn->kn", Yb, Yb, out=half_maha[:, start:stop])
    np.subtract(consts["c"][:, np.newaxis], half_maha, out=half_maha)
    return half_maha.T


def _prepare_tied(Mc, prec_chol, constant):
    M = Mc @ prec_chol
    d = Mc.shape[1]
    # log p = [Y; -|Y|^2; 1] weighted by [sqrt(2) L^T mu_k, 1, c_k],
    # with Y = sqrt(1/2) L^T x.
    weights = np.empty((Mc.shape[0], d + 2), dtype=Mc.dtype)
    weights[:, :d] = M * (1.0 / _HALF)
    weights[:, d] = 1.0
    weights[:, d + 1] = constant - 0.5 * np.einsum("kd,kd->k", M, M)
    return {"L": np.ascontiguousarray(prec_chol.T) * _HALF, "W": weights}


def _logp_tied(X, consts, cache):
    Z1 = _features_full(X, consts["shift"], cache)
    d, n = Z1.shape[0] - 1, Z1.shape[1]
    Z = _scratch(cache, "Zt", (d + 2, n), X.dtype)
    Y = matmul_long(consts["L"], Z1[:d], out=Z[:d])
    np.einsum("dn,dn->n", Y, Y, out=Z[d])
    np.negative(Z[d], out=Z[d])
    Z[d + 1] = 1.0
    return matmul_long(consts["W"], Z).T


def _prepare_diag(Mc, prec_chol, constant):
    # log p = [Xc^2; Xc; 1] weighted by [-P_k / 2, P_k mu_k, c_k].
    precisions = prec_chol**2
    d = Mc.shape[1]
    weights = np.empty((Mc.shape[0], 2 * d + 1), dtype=Mc.dtype)
    weights[:, :d] = -0.5 * precisions
    weights[:, d : 2 * d] = Mc * precisions
    weights[:, 2 * d] = constant - 0.5 * np.sum(Mc * Mc * precisions, axis=1)
    return {"W": weights}


def _features_diag(X, shift, cache):
    """``[Xc^2; Xc; 1]`` (transposed rows): features of the diagonal model."""

    def build():
        n, d = X.shape
        Z = np.empty((2 * d + 1, n), dtype=X.dtype)
        Xc = _centred_T(X, shift, Z[d : 2 * d], cache)
        np.multiply(Xc, Xc, out=Z[:d])
        Z[2 * d] = 1.0
        return Z

    return _cached_features(cache, "Zd", shift, build)


def _logp_diag(X, consts, cache):
    return matmul_long(consts["W"], _features_diag(X, consts["shift"], cache)).T


def _prepare_spherical(Mc, prec_chol, constant):
    # log p = [|Xc|^2; Xc; 1] weighted by [-p_k / 2, p_k mu_k, c_k].
    precisions = prec_chol**2
    d = Mc.shape[1]
    weights = np.empty((Mc.shape[0], d + 2), dtype=Mc.dtype)
    weights[:, 0] = -0.5 * precisions
    weights[:, 1 : d + 1] = Mc * precisions[:, np.newaxis]
    weights[:, d + 1] = constant - 0.5 * precisions * np.einsum("kd,kd->k", Mc, Mc)
    return {"W": weights}


def _features_spherical(X, shift, cache):
    """``[|Xc|^2; Xc; 1]`` (transposed rows): features of the spherical model."""

    def build():
        n, d = X.shape
        Z = np.empty((d + 2, n), dtype=X.dtype)
        Xc = _centred_T(X, shift, Z[1 : d + 1], cache)
        np.einsum("dn,dn->n", Xc, Xc, out=Z[0])
        Z[d + 1] = 1.0
        return Z

    return _cached_features(cache, "Zs", shift, build)


def _logp_spherical(X, consts, cache):
    return matmul_long(consts["W"], _features_spherical(X, consts["shift"], cache)).T


PREPARE = {
    "full": _prepare_full,
    "tied": _prepare_tied,
    "diag": _prepare_diag,
    "spherical": _prepare_spherical,
}

LOG_PROB = {
    "full": _logp_full,
    "tied": _logp_tied,
    "diag": _logp_diag,
    "spherical": _logp_spherical,
}


def prepare_log_gaussian_prob(
    means, prec_chol, covariance_type, shift, log_weights=None
):
    """Everything the log-densities need that does not depend on the rows.

    Computed once per E-step pass and shared by all chunks. With
    ``log_weights`` the result is ``log pi_k + log p(x | k)``.
    """
    n_features = means.shape[1]
    constant = -0.5 * n_features * math.log(2 * math.pi) + _log_det_chol(
        prec_chol, covariance_type, n_features
    )
    constant = np.broadcast_to(constant, (means.shape[0],)).astype(means.dtype)
    if log_weights is not None:
        constant = constant + log_weights
    consts = PREPARE[covariance_type](means - shift, prec_chol, constant)
    if "c" in consts:
        consts["c"] = np.asarray(consts["c"], dtype=means.dtype)
    consts["shift"] = shift
    return consts


def log_gaussian_prob_prepared(X, consts, covariance_type, cache=None):
    """Log-densities from :func:`prepare_log_gaussian_prob`'s constants.

    Returns an (n_samples, n_components) array in Fortran order (the
    transpose of a component-major result); treat it as any other array.
    """
    dtype = X.dtype
    if consts["shift"].dtype != dtype:
        consts = {
            key: value.astype(dtype) if isinstance(value, np.ndarray) else value
            for key, value in consts.items()
        }
    return LOG_PROB[covariance_type](X, consts, cache)


def estimate_log_gaussian_prob(
    X, means, prec_chol, covariance_type, shift=None, cache=None
):
    """Log-density of each row under each Gaussian component.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)
    prec_chol : ndarray
        Cholesky factors of the precisions (shape by ``covariance_type``).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    shift : ndarray of shape (n_features,), default=None
        Centring point (any value gives the same result in exact arithmetic;
        one near the data keeps precision). Defaults to the mean of ``means``.
    cache : dict, default=None
        Per-chunk scratch space shared with :func:`gaussian_stats`.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
    """
    if shift is None:
        shift = means.mean(axis=0)
    shift = shift.astype(X.dtype, copy=False)
    consts = prepare_log_gaussian_prob(means, prec_chol, covariance_type, shift)
    return log_gaussian_prob_prepared(X, consts, covariance_type, cache=cache)


# ------------------------------------------------ sufficient statistics
# Every covariance type keeps S1_k = sum_i r_ik xc_i and a second moment
# around the same shift, so all four share one M-step shape. The statistics
# come from products of the responsibilities with the feature matrices the
# log-densities used (kept in the chunk's cache): for diag and spherical the
# very same matrix gives S2, S1 (and the weights) in ONE product; the full
# second moments of all components come from one product with the rows'
# packed outer products (upper triangle).
def _stats_full(X, shift, resp, cache):
    d = X.shape[1]
    respT = resp.T
    if d > PACKED_OUTER_MAX_FEATURES:
        XcT = _features_full(X, shift, cache)[:-1]
        rows, cols = packed_pairs(d)
        s2 = np.stack(
            [((XcT * respT[k]) @ XcT.T)[rows, cols] for k in range(respT.shape[0])]
        )
        return {"s1": respT @ XcT.T, "s2": s2}
    # [packed outer products; Xc^T]: one product gives S2 and S1.
    n_pairs = d * (d + 1) // 2
    both = matmul_long_nt(respT, _features_outer(X, shift, cache)[:-1])
    return {"s1": both[:, n_pairs:], "s2": both[:, :n_pairs]}


def _stats_tied(X, shift, resp, cache):
    XcT = _features_full(X, shift, cache)[:-1]
    weight = row_sums(resp)
    return {"s1": matmul_long_nt(resp.T, XcT), "s2": matmul_long_nt(XcT * weight, XcT)}


def _stats_diag(X, shift, resp, cache):
    Z = _features_diag(X, shift, cache)
    d = X.shape[1]
    both = matmul_long_nt(resp.T, Z[: 2 * d])
    return {"s1": both[:, d:], "s2": both[:, :d]}


def _stats_spherical(X, shift, resp, cache):
    # S2 summed over features: all the spherical M-step needs.
    Z = _features_spherical(X, shift, cache)
    both = matmul_long_nt(resp.T, Z[:-1])
    return {"s1": both[:, 1:], "s2": both[:, 0]}


COMPONENT_STATS = {
    "full": _stats_full,
    "tied": _stats_tied,
    "diag": _stats_diag,
    "spherical": _stats_spherical,
}


def _unpack_full(packed, n_features):
    rows, cols = packed_pairs(n_features)
    out = np.empty((packed.shape[0], n_features, n_features), dtype=packed.dtype)
    out[:, rows, cols] = packed
    out[:, cols, rows] = packed
    return out


# ------------------------------------------------------------------ M-step
# ``m`` is the maximum-likelihood mean minus the shift; ``e`` the mean used
# minus the shift: ``m`` itself, or the held means when ``fixed_params``
# includes "means" (the covariance is then taken around those, which is its
# maximum-likelihood value given them). Around any point c,
# sum r (x - mu)(x - mu)^T / N = S2/N - m e^T - e m^T + e e^T.
def _mstep_full(stats, nk, m, e, reg_covar):
    d = m.shape[1]
    cov = _unpack_full(stats["s2"], d) / nk[:, np.newaxis, np.newaxis]
    cov -= m[:, :, np.newaxis] * e[:, np.newaxis, :]
    cov -= e[:, :, np.newaxis] * m[:, np.newaxis, :]
    cov += e[:, :, np.newaxis] * e[:, np.newaxis, :]
    cov[:, np.arange(d), np.arange(d)] += reg_covar
    return cov


def _mstep_tied(stats, nk, m, e, reg_covar):
    weighted = nk[:, np.newaxis] * e
    cov = stats["s2"] - weighted.T @ m - m.T @ weighted + weighted.T @ e
    cov /= np.sum(nk)
    cov.flat[:: cov.shape[0] + 1] += reg_covar
    return cov


def _mstep_diag(stats, nk, m, e, reg_covar):
    return stats["s2"] / nk[:, np.newaxis] - 2.0 * m * e + e * e + reg_covar


def _mstep_spherical(stats, nk, m, e, reg_covar):
    # stats["s2"] is summed over features: the mean of the diagonal variances.
    d = m.shape[1]
    spread = np.sum(2.0 * m * e - e * e, axis=1)
    return (stats["s2"] / nk - spread) / d + reg_covar


MSTEP = {
    "full": _mstep_full,
    "tied": _mstep_tied,
    "diag": _mstep_diag,
    "spherical": _mstep_spherical,
}


def gaussian_stats(X, resp, shift, covariance_type, cache=None):
    """Expected sufficient statistics of one chunk (``nk`` excluded).

    ``resp`` holds the responsibilities times the sample weights; ``shift``
    must be the same for every chunk of one E-step.
    """
    return COMPONENT_STATS[covariance_type](
        X, shift.astype(X.dtype, copy=False), resp, cache
    )


def gaussian_mstep(stats, shift, reg_covar, covariance_type, held_means=None):
    """Means and covariances from summed statistics (``nk`` included).

    ``nk`` gets scikit-learn's ``10 * eps`` so that an emptied component gives
    finite numbers. ``held_means``, if given, are used instead of the
    maximum-likelihood means.
    """
    nk = stats["nk"] + 10 * np.finfo(stats["nk"].dtype).eps
    m = stats["s1"] / nk[:, np.newaxis]
    e = m if held_means is None else held_means - shift
    covariances = MSTEP[covariance_type](stats, nk, m, e, reg_covar)
    return shift + e, covariances


def structured_gaussian_mstep(
    stats, shift, reg_covar, structure, held_means=None, previous=None, max_iter=1000
):
    """Means and covariances under one of mclust's structures.

    The "full" statistics give the scatter ``W_k = n_k * S_k`` around the
    means (the maximum-likelihood ones, or ``held_means``), and
    :func:`~emmix.mixture._covariance_structures.covariance_mstep` maximises
    the expected complete-data log-likelihood under ``structure`` with
    ``reg_covar`` added to every ``W_k / n_k`` (scikit-learn's rule for its
    four types). ``previous`` warm-starts the iterative structures.
    """
    means, covariances = gaussian_mstep(stats, shift, 0.0, "full", held_means)
    nk = stats["nk"] + 10 * np.finfo(stats["nk"].dtype).eps
    scatter = nk[:, np.newaxis, np.newaxis] * covariances
    covariances = covariance_mstep(
        structure, scatter, nk, reg_covar, previous=previous, max_iter=max_iter
    )
    return means, covariances


# ------------------------------------------------------------ user inits
def _nan_mask(X):
    """Where ``X`` is NaN, or None where nothing is."""
    mask = np.isnan(X)
    return mask if mask.any() else None


def _check_precisions_init(precisions, covariance_type, n_components, n_features, dt):
    # mclust's structures take any full precisions: the first M-step puts
    # the covariances into the structure.
    covariance_type = kernel_type(covariance_type)
    shape = covariance_shape(covariance_type, n_components, n_features)
    precisions = check_array_shape(
        precisions,
        shape,
        "precisions_init",
        dt,
        sklearn_name=f"{covariance_type} precision",
    )
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0.0):
            raise ValueError(
                f"'{covariance_type} precision' should be positive: "
                "precisions_init has entries <= 0."
            )
        return precisions
    stack = precisions if covariance_type == "full" else precisions[np.newaxis]
    for k, matrix in enumerate(stack):
        if not (
            np.allclose(matrix, matrix.T) and np.all(np.linalg.eigvalsh(matrix) > 0.0)
        ):
            which = f" (component {k})" if covariance_type == "full" else ""
            raise ValueError(
                f"'{covariance_type} precision' should be symmetric, "
                f"positive-definite{which}: check precisions_init."
            )
    return precisions


class GaussianMixtureEM(ArrayAPIMixin, BaseMixture):
    """Gaussian mixture fitted by EM: a drop-in for scikit-learn's GaussianMixture.

    Same parameters, fitted attributes, methods and numbers as
    :class:`sklearn.mixture.GaussianMixture`, on emmix's shared EM engine, plus
    ``sample_weight`` in :meth:`fit` and chunked E-steps (memory bounded by
    scikit-learn's ``working_memory`` setting).

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : str, default='full'
        Covariance structure: scikit-learn's 'full' (each component its own
        matrix), 'tied' (one matrix shared by all), 'diag' (each its own
        diagonal) or 'spherical' (each its own single variance); or one of
        mclust's fourteen structures 'EII', 'VII', 'EEI', 'VEI', 'EVI', 'VVI',
        'EEE', 'VEE', 'EVE', 'VVE', 'EEV', 'VEV', 'EVV', 'VVV', which say
        whether the volume, shape and orientation of
        ``Sigma_k = lambda_k D_k A_k D_k^T`` are Equal across components,
        Variable or the Identity (see
        :mod:`emmix.mixture._covariance_structures`). scikit-learn's types
        are 'VII', 'VVI', 'EEE' and 'VVV' and give the same fit; an mclust
        name stores every covariance as a full ``(d, d)`` matrix (shapes as
        'full') and adds ``volume_``, ``shape_`` and ``orientation_``.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood per
        sample between two iterations.
    reg_covar : float, default=1e-6
        Non-negative amount added to the diagonal of the covariances, so they
        stay positive definite. For mclust's structures it is added to the
        diagonal of each component's empirical covariance before the
        structure is fitted (the same thing for the four scikit-learn types).
    max_iter : int, default=100
        Maximum number of EM iterations per run.
    n_init : int, default=1
        Number of runs from different starts; the best is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='kmeans'
        How the starting responsibilities are drawn (as in scikit-learn).
    weights_init : array-like of shape (n_components,), default=None
        User-given starting weights.
    means_init : array-like of shape (n_components, n_features), default=None
        User-given starting means.
    precisions_init : array-like, default=None
        User-given starting precisions (inverse covariances), of shape
        (n_components,) if 'spherical', (n_features, n_features) if 'tied',
        (n_components, n_features) if 'diag', (n_components, n_features,
        n_features) if 'full' or an mclust name (whose first M-step then puts
        them into the structure: they need not have it).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of :meth:`sample`.
    warm_start : bool, default=False
        If True, each :meth:`fit` after the first continues from the fitted
        parameters with a single run (``n_init`` is ignored). If
        ``n_components``, ``covariance_type`` or the number of features changed
        since, the fitted parameters cannot start the fit: it starts afresh, as
        without ``warm_start``, with a warning. (:meth:`partial_fit` then raises
        a ``ValueError``: call :meth:`fit`.)
    verbose : int, default=0
        1 prints each run and iteration, 2 also times and log-likelihoods.
    verbose_interval : int, default=10
        Iterations between two messages.
    assignment : {'soft', 'hard'}, default='soft'
        'soft' is EM. 'hard' is classification EM: before each M-step every
        row is given wholly to its most probable component (the "pick the
        likelier coin" variant). Hard EM maximises the classification
        likelihood, so its estimates are biased when components overlap.
    fixed_params : set of str, default=None
        Parameter groups held at their initial values while the others are
        estimated: any of ``'weights'``, ``'means'``, ``'covariances'``. Give
        their values with ``weights_init``, ``means_init`` or
        ``precisions_init``. With fixed means, covariances are estimated around
        them; fixed groups do not count in :meth:`bic` and :meth:`aic`.
    stopping : {'change', 'aitken'}, default='change'
        The stopping rule. 'change' is scikit-learn's (the change of the mean
        log-likelihood per sample between two iterations is below ``tol``).
        'aitken' stops when Aitken's estimate of the distance to the limit of
        the log-likelihood sequence is below ``tol``: stricter, use it (with a
        smaller ``tol``, say 1e-8) when the estimates themselves matter. See
        the user guide's "When does EM stop?".
    accelerate : {None, 'squarem'}, default=None
        None runs plain EM. 'squarem' accelerates it with the SqS3 scheme of
        Varadhan & Roland (2008): two EM steps, an extrapolation along them,
        parameters projected back into their valid set, and a fall-back to the
        plain EM step whenever the log-likelihood would not improve, so
        ``lower_bounds_`` never decreases. ``n_iter_`` counts passes over the
        data (E-steps) in both modes. Worth it when components overlap and EM
        crawls; on well-separated data it costs at most a few extra passes.
    learning_decay : float, default=0.7
        Exponent ``alpha`` in (0.5, 1] of the step size
        ``eta_t = (t + learning_offset) ** -alpha`` of :meth:`partial_fit`
        (as in scikit-learn's online ``LatentDirichletAllocation``).
    learning_offset : float, default=10.0
        Offset ``t0 >= 0`` of that step size; larger values weigh early
        batches less.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray
        Component covariances (shape by ``covariance_type``, as ``precisions_init``).
    precisions_ : ndarray
        Inverses of the covariances.
    precisions_cholesky_ : ndarray
        Upper-triangular Cholesky factors of the precisions.
    volume_ : ndarray of shape (n_components,)
        Only for mclust's names: ``lambda_k = det(Sigma_k)^(1/d)``.
    shape_ : ndarray of shape (n_components, n_features)
        Only for mclust's names: the eigenvalues of ``Sigma_k`` divided by
        ``lambda_k``, in decreasing order (product 1).
    orientation_ : ndarray of shape (n_components, n_features, n_features)
        Only for mclust's names: the matching eigenvectors as columns, so
        that ``Sigma_k = volume_[k] * D @ diag(shape_[k]) @ D.T`` with
        ``D = orientation_[k]``.
    converged_ : bool
        Whether the kept run reached ``tol``.
    n_iter_ : int
        Iterations of the kept run.
    lower_bound_ : float
        Mean log-likelihood per sample of the kept run's last iteration.
    lower_bounds_ : list of float
        Mean log-likelihood per sample at each iteration of the kept run.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when all are strings.

    Notes
    -----
    A component whose covariance is singular even after adding ``reg_covar``
    is not re-seeded: the fit raises a ``ValueError`` that says what to change
    (fewer components, larger ``reg_covar``, scaled data), as scikit-learn
    does. A silently re-seeded component would break the equivalence with
    scikit-learn and the monotone log-likelihood.

    Float32 input is computed in float32 (the log-likelihood is accumulated in
    float64).

    Under ``sklearn.config_context(array_api_dispatch=True)``, an array of
    another Array API namespace (a PyTorch tensor on the CPU or a GPU, a CuPy
    array, ...) is fitted, scored and predicted in that namespace and on its
    device, with the numbers of the numpy path; every start is supported
    there (see the "Array API" page). Where emmix differs from scikit-learn
    on purpose is listed on the "Differences from scikit-learn" page.

    With fewer distinct rows of ``X`` than ``n_components`` some components
    can only be copies of others (or empty): :meth:`fit` issues a
    ``ConvergenceWarning`` that says so, and fits like scikit-learn (each
    component sits on one point, with variance ``reg_covar``, or keeps a
    weight near 0). Duplicated points with as many components as distinct
    points are fitted the same way, without a warning. A column
    whose range, squared, overflows (a span above 1.3e154 in float64, 1.8e19
    in float32) is refused too, as no covariance could be stored: divide it
    by a constant. Sparse input raises a ``TypeError`` (call ``.toarray()``).

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import GaussianMixtureEM
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixtureEM(n_components=2, random_state=0).fit(X)
    >>> gm.means_
    array([[10.,  2.],
           [ 1.,  2.]])
    >>> gm.predict([[0, 0], [12, 3]])
    array([1, 0])
    """

    _parameter_constraints: dict = {
        "covariance_type": [StrOptions(set(ALL_COVARIANCE_TYPES))],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
    }

    _parameter_groups = {
        "means": ("means",),
        "covariances": ("covariances", "precisions_cholesky"),
    }
    _supports_missing = True
    _family_name = "Gaussian"
    # scikit-learn's stopping rule and defaults, for the same numbers.
    _engine_defaults = {
        "stopping": "change",
        "tol": 1e-3,
        "max_iter": 100,
        "accelerate": None,
    }
    _sklearn_counterpart = "GaussianMixture"
    _few_distinct_rows = "warn"
    # Array API dispatch (``_gaussian_xp.ArrayAPIMixin``): its singular error.
    _singular_message = _SINGULAR_MESSAGE

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        reg_covar: float = 1e-6,
        means_init=None,
        precisions_init=None,
        **params,
    ):
        super().__init__(n_components, **params)
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.means_init = means_init
        self.precisions_init = precisions_init

    # ------------------------------------------------------------ checks
    def _validate_input(self, X, *, reset: bool):
        X_checked = super()._validate_input(X, reset=reset)
        if reset:
            check_gaussian_scale(self, X_checked)
        return X_checked

    def _model_shape(self, n_features: int) -> dict:
        return {
            **super()._model_shape(n_features),
            "covariance_type": self.covariance_type,
        }

    def _initial_params(self, X):
        k, d, dt = self.n_components, X.shape[1], X.dtype
        arrays = {}
        if self.means_init is not None:
            arrays["means"] = check_array_shape(
                self.means_init, (k, d), "means_init", dt, sklearn_name="means"
            )
        if self.precisions_init is not None:
            precisions = _check_precisions_init(
                self.precisions_init, self.covariance_type, k, d, dt
            )
            arrays["covariances"] = covariances_from_precisions(
                precisions, self._kernel
            )
            arrays["precisions_cholesky"] = precision_cholesky_from_precisions(
                precisions, self._kernel
            )
        return arrays

    # ------------------------------------------------------------ the family
    @property
    def _kernel(self) -> str:
        """The scikit-learn type whose code the covariance type runs on."""
        return kernel_type(self.covariance_type)

    @property
    def _structure(self):
        """The mclust name if ``covariance_type`` is one, else None.

        scikit-learn's four names keep their own compact storage and M-steps
        (drop-in numbers); mclust's names, ``"VVV"`` included, are stored in
        the "full" form with the structure's M-step.
        """
        return self.covariance_type if self.covariance_type in STRUCTURES else None

    def _mstep(self, stats, shift, held_means=None, previous=None, max_iter=1000):
        if self._structure is None:
            return gaussian_mstep(
                stats, shift, self.reg_covar, self.covariance_type, held_means
            )
        return structured_gaussian_mstep(
            stats,
            shift,
            self.reg_covar,
            self._structure,
            held_means=held_means,
            previous=previous,
            max_iter=max_iter,
        )

    def _params(self, weights, means, covariances):
        return {
            "weights": weights,
            "means": means,
            "covariances": covariances,
            "precisions_cholesky": PRECISION_CHOLESKY[self._kernel](covariances),
        }

    def _params_from_resp(self, X, resp, sample_weight):
        """Weights, means and covariances from weighted responsibilities.

        Weights are divided by the total weight, as scikit-learn divides by
        ``n_samples`` at the start.
        """
        # Chunk by chunk: the full type's packed outer products of all rows at
        # once would be n x d(d+1)/2 numbers. (A matrix-vector product for the
        # weighted mean: ``np.average`` would build an n x d temporary.)
        shift = (sample_weight @ X / np.sum(sample_weight)).astype(X.dtype)
        stats = chunked_stats(
            X,
            resp,
            self._em_row_bytes(X, None),
            lambda X, resp: gaussian_stats(X, resp, shift, self._kernel),
        )
        means, covariances = self._mstep(stats, shift)
        tiny = 10 * np.finfo(X.dtype).eps
        weights = (stats["nk"] + tiny) / np.sum(sample_weight)
        return self._params(weights, means, covariances)

    def _shift(self, params):
        if "_ref" in params:  # pinned for a stream (partial_fit)
            return params["_ref"]
        if is_namespace_array(params["means"]):  # Array API dispatch
            return self._xp_shift(params)
        return _mixture_mean(params["weights"], params["means"]).astype(
            params["means"].dtype
        )

    def _em_stream_start(self, params):
        # Statistics of all batches must be taken around one point; the
        # mixture mean of the first batch's start is as good as any.
        return {**params, "_ref": self._shift(params)}

    def _em_prepare(self, params):
        shift = self._shift(params)
        with np.errstate(divide="ignore"):
            log_weights = np.log(params["weights"]).astype(params["means"].dtype)
        consts = prepare_log_gaussian_prob(
            params["means"],
            params["precisions_cholesky"],
            self._kernel,
            shift,
            log_weights=log_weights,
        )
        return {**params, "_consts": consts, "_log_weights": log_weights}

    def _weighted_log_prob(self, X, params, cache=None):
        if "_consts" not in params:
            params = self._em_prepare(params)
        gaps = self._chunk_gaps(X, cache)
        if gaps is not None and self._kernel in ("diag", "spherical"):
            return self._whole_chunk_log_prob(X, gaps, params, cache)
        rows = gaps
        if rows is None:  # complete data: the fast path, untouched
            return log_gaussian_prob_prepared(
                X, params["_consts"], self._kernel, cache=cache
            )
        # Rows with missing entries: observed-block densities, and the
        # conditional fill their statistics need (kept in the chunk's cache).
        # Component-major, as the complete rows' (the compiled normalisation
        # walks it one contiguous component at a time).
        out = np.empty((self.n_components, X.shape[0]), dtype=X.dtype).T
        sub_cache: dict = {}
        out[rows.complete] = log_gaussian_prob_prepared(
            rows.X_complete, params["_consts"], self._kernel, cache=sub_cache
        )
        incomplete_mask = rows.mask
        log_prob, fill = missing_log_prob(
            rows.X_missing,
            incomplete_mask,
            params["means"],
            params["covariances"],
            params["precisions_cholesky"],
            self._kernel,
            patterns=memoized(
                cache,
                "patterns",
                lambda: missing_patterns(incomplete_mask),
                large=True,
            ),
            shift=params["_consts"]["shift"],
            cache=cache,
        )
        out[rows.missing] = log_prob + params["_log_weights"]
        if cache is not None:
            cache["missing"] = (rows, sub_cache, fill)
        return out

    def _chunk_gaps(self, X, cache):
        """The chunk's missing entries as its route needs them, or None.

        Diagonal and spherical covariances: the NaN mask (every row takes
        one route); full and tied: :func:`missing_rows` (complete rows and
        rows with gaps apart). Kept in the chunk's fit-long memo.
        """
        if self._kernel in ("diag", "spherical"):
            return memoized(cache, "nan_mask", lambda: _nan_mask(X), large=True)
        return missing_rows(X, cache)

    def _em_fused_estep(self, X, sample_weight, params, cache):
        # Complete rows: the whole E-step in one compiled pass over the
        # chunk (see compiled_fused_estep), where numba is there; full
        # covariances where their log-densities are expanded (d <= 32, means
        # not too far in their own units, see EXPANDED_MAX_NORM).
        kind = self._kernel
        if "_consts" not in params or type(X) is not np.ndarray:
            return None
        consts = params["_consts"]
        if self._chunk_gaps(X, cache) is not None:
            # Rows with gaps: kernels of their own (not for tied covariances).
            return self._fused_missing_estep(X, sample_weight, params, cache)
        if "whiten" in consts:  # full, whitened: numpy's route
            return None
        sums, second, log_norm = compiled_fused_estep(
            _rows_T(X, cache),
            consts["shift"],
            consts["W"].astype(X.dtype, copy=False),
            log_floor(X.dtype),
            sample_weight,
            kind,
            half_root=consts.get("L"),
        )
        if sums is None:
            return None
        d = X.shape[1]
        if kind == "tied":  # [c; 1] and the weighted second moments
            stats = {"s1": sums[:, :d], "s2": second, "nk": sums[:, d]}
        elif kind == "full":  # [packed c c^T; c; 1]
            pairs = d * (d + 1) // 2
            stats = {"s2": sums[:, :pairs], "s1": sums[:, pairs:-1], "nk": sums[:, -1]}
        elif kind == "spherical":  # [|c|^2; c; 1]
            stats = {"s2": sums[:, 0], "s1": sums[:, 1 : d + 1], "nk": sums[:, d + 1]}
        else:  # [c^2; c; 1]
            stats = {"s2": sums[:, :d], "s1": sums[:, d : 2 * d], "nk": sums[:, 2 * d]}
        return {key: value.copy() for key, value in stats.items()}, log_norm

    def _fused_missing_estep(self, X, sample_weight, params, cache):
        """A chunk with gaps: its whole E-step compiled (see
        :func:`fused_missing_full` and :func:`fused_missing_diag`), or None
        (tied covariances, or where the kernels do not apply)."""
        common = (params["_log_weights"], params["_consts"]["shift"], sample_weight)
        if self._kernel == "full":
            stats, log_norm = fused_missing_full(
                X,
                params["means"],
                params["precisions_cholesky"],
                *common,
                log_floor(X.dtype),
                cache,
            )
        elif self._kernel in ("diag", "spherical"):
            stats, log_norm = fused_missing_diag(
                X,
                params["means"],
                params["covariances"],
                self._kernel,
                *common,
                log_floor(X.dtype),
                cache,
            )
        else:
            return None
        return None if stats is None else (stats, log_norm)

    def _em_chunk_order(self, X):
        # Full and tied covariances with missing values: complete rows first,
        # then the rows by number of missing entries, so that the complete
        # rows and every pattern group are runs of the chunk (slices, not
        # gathers and scatters of the log-densities and responsibilities).
        # Diagonal and spherical ones take every row alike.
        if self._kernel in ("diag", "spherical"):
            return None
        n_missing = np.isnan(X).sum(axis=1)
        return np.argsort(n_missing, kind="stable") if n_missing.any() else None

    def _whole_chunk_log_prob(self, X, mask, params, cache):
        """Diagonal and spherical covariances: every row of a chunk with gaps
        by the missing-value route, complete rows included.

        That route is one matrix product of the rows' features, in which a
        complete row is just a row with nothing missing; splitting the chunk
        into complete and incomplete rows cost more (the log-densities
        scattered back, the responsibilities gathered twice, the complete
        rows' features built anew each pass) than it saved: at 20% missing
        entries (20,000 x 12, K = 4) an iteration took 2.65 ms split against
        1.08 ms whole; with 1% of 100,000 x 16 rows incomplete (K = 16), the
        same time either way.
        """
        log_prob, fill = missing_log_prob(
            X,
            mask,
            params["means"],
            params["covariances"],
            params["precisions_cholesky"],
            self._kernel,
            shift=params["_consts"]["shift"],
            cache=cache,
        )
        log_prob += params["_log_weights"]
        if cache is not None:
            cache["missing"] = (None, None, fill)
        return log_prob

    def _conditional_means(self, X, params, cache):
        if "missing" not in cache:  # no missing entry: the rows themselves
            return np.repeat(X[:, np.newaxis, :], self.n_components, axis=1)
        rows, _, fill = cache["missing"]
        if rows is None:  # the whole chunk by the missing-value route
            return conditional_means(fill, X, np.isnan(X))
        out = np.repeat(X[:, np.newaxis, :], self.n_components, axis=1)
        out[rows.missing] = conditional_means(fill, rows.X_missing, rows.mask)
        return out

    def _component_log_prob(self, X, params, cache=None):
        if "_consts" not in params:
            params = self._em_prepare(params)
        return self._weighted_log_prob(X, params, cache) - params["_log_weights"]

    def _component_stats(self, X, resp, params, cache=None):
        shift = params["_consts"]["shift"] if "_consts" in params else None
        if shift is None:
            shift = self._shift(params)
        if cache is None or "missing" not in cache:
            return gaussian_stats(X, resp, shift, self._kernel, cache=cache)
        rows, sub_cache, fill = cache["missing"]
        if rows is None:  # the whole chunk by the missing-value route
            return missing_stats(resp, fill, shift, self._kernel)
        stats = gaussian_stats(
            rows.X_complete,
            rows_of(resp, rows.complete),
            shift,
            self._kernel,
            cache=sub_cache,
        )
        extra = missing_stats(rows_of(resp, rows.missing), fill, shift, self._kernel)
        return {key: stats[key] + extra[key] for key in stats}

    def _component_mstep(self, stats, params):
        fixed = self._em_fixed_groups()
        shift = self._shift(params)
        held_means = params["means"] if "means" in fixed else None
        if "covariances" in fixed:
            # Never factorise covariances that are thrown away: they may be
            # singular (e.g. reg_covar=0) although the held ones are fine.
            # (Nor fit a structure to them: only the means are needed.)
            means, _ = gaussian_mstep(
                stats, shift, self.reg_covar, self._kernel, held_means
            )
            new = {"means": means}
            new.update(
                {key: params[key] for key in self._parameter_groups["covariances"]}
            )
        else:
            means, covariances = self._mstep(
                stats,
                shift,
                held_means=held_means,
                previous=params["covariances"],
                max_iter=STRUCTURE_INNER_MAX_ITER,
            )
            new = self._params(None, means, covariances)
            del new["weights"]
        if "_ref" in params:
            new["_ref"] = params["_ref"]
        return new

    def _project_params(self, params):
        covariances = params["covariances"]
        # Keep every variance at least reg_covar (or a tiny fraction of the
        # largest one): the M-step itself never goes below that.
        scale = float(np.max(np.abs(covariances))) if covariances.size else 1.0
        floor = max(self.reg_covar, 1e-12 * scale)
        if self._kernel in ("full", "tied"):
            covariances = project_psd(covariances, floor)
        else:
            covariances = np.maximum(covariances, floor)
        if self._structure is not None:
            # Back into the structure: the structure's M-step on the
            # extrapolated covariances taken as empirical ones (the closest
            # structured covariances in the Kullback-Leibler sense, weighing
            # each component by its weight).
            nk = np.maximum(np.asarray(params["weights"], dtype=np.float64), 1e-12)
            covariances = covariance_mstep(
                self._structure,
                nk[:, np.newaxis, np.newaxis] * covariances,
                nk,
                previous=covariances,
                max_iter=STRUCTURE_INNER_MAX_ITER,
            ).astype(params["covariances"].dtype, copy=False)
        return {
            **params,
            **self._params(params["weights"], params["means"], covariances),
        }

    def _em_row_bytes(self, X, params):
        d, k = X.shape[1], self.n_components
        # Log-densities and responsibilities (a few (n, K) arrays), the
        # feature matrix (about 2d + 2 rows), and for full covariances the
        # packed outer products (d(d+1)/2 + d rows; the whitened rows are
        # made in fixed-size blocks).
        per_row = 6 * k + 4 * d
        if self._kernel == "full":
            per_row += d * (d + 1) // 2 + d
        return X.dtype.itemsize * per_row

    def _derived_attributes(self, params) -> dict:
        derived = {
            "precisions_": precisions_from_cholesky(
                params["precisions_cholesky"], self._kernel
            )
        }
        if self._structure is not None:
            volume, shape, orientation = decompose(params["covariances"])
            derived.update(volume_=volume, shape_=shape, orientation_=orientation)
        return derived

    def _n_free_parameters(self, group, value) -> int:
        """Free parameters of a group, as scikit-learn counts them."""
        if group != "covariances":
            return math.prod(value.shape)  # any Array API namespace
        k, d = self.n_components, self.means_.shape[1]
        if self._structure is not None:
            return n_covariance_parameters(self._structure, k, d)
        return {
            "full": k * d * (d + 1) // 2,
            "diag": k * d,
            "tied": d * (d + 1) // 2,
            "spherical": k,
        }[self.covariance_type]

    def _submodel_start(self, fitted):
        """Start this model at a fitted special case of it, if ``fitted`` is one.

        ``fitted`` is a special case when it has the same number of components
        and features and a covariance structure contained in this one
        (:func:`~emmix.mixture._covariance_structures.is_submodel`): its
        parameters are then parameters of this model, and EM started there
        can only climb. Returns the constructor parameters of that start, or
        None.
        """
        if not isinstance(fitted, GaussianMixtureEM) or not hasattr(fitted, "means_"):
            return None
        k, d = fitted.means_.shape
        if k != self.n_components or not is_submodel(
            fitted.covariance_type, self.covariance_type
        ):
            return None
        full = full_covariances(fitted.covariances_, fitted.covariance_type, k, d)
        covariances = compact_covariances(full, self.covariance_type)
        return {
            "weights_init": fitted.weights_,
            "means_init": fitted.means_,
            "precisions_init": covariances_from_precisions(covariances, self._kernel),
            "n_init": 1,
        }

    def _free_parametrisation(self, group, value):
        """Full and tied covariances are symmetric: their upper triangles.

        mclust's VVV is "full"; the other structures constrain the
        covariances (equal volumes, shapes or orientations), which upper
        triangles would not respect: their standard errors are refused.
        """
        structure = self._structure
        if group == "covariances" and structure not in (None, "VVV"):
            raise NotImplementedError(
                f"Standard errors under the covariance structure "
                f"covariance_type={structure!r} are not implemented (its "
                "constraints have no free parametrisation here); use the "
                "bootstrap (emmix.inference.bootstrap), or 'VVV' / 'full'."
            )
        if group != "covariances" or self._kernel not in ("full", "tied"):
            return super()._free_parametrisation(group, value)
        return symmetric_parametrisation(value)

    def _sample_component(self, rng, params, k, n_samples):
        # Same draws as scikit-learn's GaussianMixture.sample for the same seed.
        mean = params["means"][k]
        covariances = params["covariances"]
        ctype = self._kernel
        if ctype == "full":
            return rng.multivariate_normal(mean, covariances[k], n_samples)
        if ctype == "tied":
            return rng.multivariate_normal(mean, covariances, n_samples)
        scale = np.sqrt(covariances[k])
        return mean + rng.standard_normal(size=(n_samples, mean.shape[0])) * scale

    def _describe_component(self, k: int) -> str:
        weight = float(self.weights_[k])
        return f"weight {weight:.3f}, mean {format_values(self.means_[k])}"

    def _plot_components(self, X, ax, features, names):
        from ..plotting import draw_gaussian_components

        return draw_gaussian_components(self, X, features, ax, names)
