"""GaussianMixtureEM on any Array API namespace (PyTorch, CuPy, array-api-strict).

Under ``sklearn.config_context(array_api_dispatch=True)``, data that are not a
numpy array but an array of an Array API namespace are fitted, scored and
predicted *in that namespace and on that device*: the E-step, the statistics
and the M-step below run as array operations of the namespace, and the
fitted attributes and the results are arrays of it. The EM loop (restarts,
``tol``, ``lower_bounds_``, ``fixed_params``, ``partial_fit``) stays the
engine's: a pass returns statistics that are arrays of the namespace, summed
chunk by chunk like numpy ones.

The maths is the numpy path's (``_gaussian.py``), written with the Array API
only: the same centring on the mixture's mean, the same constants folded per
component, the same M-step formulas and the same starts (drawn with the same
calls on ``random_state``), so in float64 the numbers equal the numpy path's
to rounding. The starts ``'kmeans'`` and ``'k-means++'`` run scikit-learn's
k-means on a host copy of the rows (once per start); ``'random'``,
``'random_from_data'`` and user-given ``*_init`` arrays never move the data.

Not supported under dispatch (a clear error says so): missing values (NaN),
``accelerate='squarem'``, mclust's covariance structures (``'EII'`` ...
``'VVV'``), and Dask arrays (they take the numpy path).

The class :class:`ArrayAPIMixin` is mixed into :class:`GaussianMixtureEM`;
every method it overrides falls back to the numpy path for other input.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
from sklearn import get_config
from sklearn.externals.array_api_compat import is_array_api_obj
from sklearn.utils import gen_batches
from sklearn.utils._array_api import (
    _is_numpy_namespace,
    get_namespace,
    get_namespace_and_device,
    move_to,
)
from sklearn.utils.validation import validate_data

from .._dask import is_dask
from .._em import add_stats
from .._responsibilities import initial_responsibilities
from .._validation import check_sample_weight

__all__ = ["ArrayAPIMixin", "is_namespace_array", "use_array_api"]

_HALF = math.sqrt(0.5)
#: Floor of the log-responsibilities, as in ``emmix._responsibilities``.
_LOG_FLOOR = {4: math.log(1e-30), 8: math.log(1e-150)}


# ------------------------------------------------------------- dispatch
def is_namespace_array(a) -> bool:
    """Whether ``a`` is an array of a non-numpy Array API namespace."""
    if a is None or isinstance(a, (np.ndarray, np.generic)) or is_dask(a):
        return False
    if not is_array_api_obj(a):
        return False
    xp, _ = get_namespace(a)
    return not _is_numpy_namespace(xp)


def use_array_api(X) -> bool:
    """Whether ``X`` takes the Array API path: dispatch on and a non-numpy array."""
    return bool(get_config()["array_api_dispatch"]) and is_namespace_array(X)


def _to_host(value):
    """A numpy copy of an array of any namespace (other values unchanged)."""
    if is_namespace_array(value):
        return move_to(value, xp=np, device="cpu")
    return value


def _itemsize(xp, dtype) -> int:
    return 4 if dtype == xp.float32 else 8


def _eye(xp, d, dtype, device):
    return xp.eye(d, dtype=dtype, device=device)


# ----------------------------------------------------- precision factors
def precision_cholesky(xp, covariances, covariance_type, singular):
    """Upper-triangular precision factors ``L`` (``L L^T = inv(Sigma)``).

    ``singular(k)`` builds the error for component ``k`` (the numpy path's
    message). A failed factorisation raises in some namespaces and gives NaN
    in others (CuPy): both are caught.
    """
    if covariance_type in ("diag", "spherical"):
        bad = ~(covariances > 0.0)
        if bool(xp.any(bad)):
            flat = xp.reshape(bad, (bad.shape[0], -1))
            k = int(xp.argmax(xp.astype(xp.any(flat, axis=1), xp.int32)))
            raise singular(k)
        return 1.0 / xp.sqrt(covariances)
    stack = covariances if covariance_type == "full" else covariances[None, ...]
    d = stack.shape[-1]
    try:
        chol = xp.linalg.cholesky(stack)
        ok = bool(xp.all(xp.isfinite(chol)))
    except Exception:  # LinAlgError of the namespace: not in the standard
        ok = False
    if not ok:
        for k in range(stack.shape[0]):
            try:
                one = xp.linalg.cholesky(stack[k, ...])
                fine = bool(xp.all(xp.isfinite(one)))
            except Exception:
                fine = False
            if not fine:
                raise singular(k)
        raise singular(0)  # pragma: no cover - batched and single disagree
    eye = _eye(xp, d, stack.dtype, get_namespace_and_device(stack)[2])
    inverse = xp.linalg.solve(chol, xp.broadcast_to(eye, stack.shape))
    out = xp.permute_dims(inverse, (0, 2, 1))
    limit = math.sqrt(float(xp.finfo(stack.dtype).max) / d)
    if not bool(xp.all(xp.abs(out) < limit)):
        raise singular(0)
    return out if covariance_type == "full" else out[0, ...]


def precisions_from_cholesky(xp, prec_chol, covariance_type):
    if covariance_type == "full":
        return prec_chol @ xp.permute_dims(prec_chol, (0, 2, 1))
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol**2


# --------------------------------------------------------- log-densities
def _log_det_chol(xp, prec_chol, covariance_type, n_features):
    if covariance_type == "full":
        return xp.sum(xp.log(xp.linalg.diagonal(prec_chol)), axis=1)
    if covariance_type == "tied":
        return xp.sum(xp.log(xp.linalg.diagonal(prec_chol)))
    if covariance_type == "diag":
        return xp.sum(xp.log(prec_chol), axis=1)
    return n_features * xp.log(prec_chol)


def mixture_mean(xp, weights, means):
    """The centring point of the E-step (as the numpy path's)."""
    return (weights / xp.sum(weights)) @ means


def prepare(xp, weights, means, prec_chol, covariance_type, shift):
    """Per-pass constants: ``log pi_k + log p(x | k)`` from matrix products.

    The same folding as the numpy path's ``_prepare_*`` functions.
    """
    k, d = means.shape
    dtype = means.dtype
    log_weights = xp.log(weights)
    constant = -0.5 * d * math.log(2 * math.pi) + _log_det_chol(
        xp, prec_chol, covariance_type, d
    )
    constant = constant + log_weights
    Mc = means - shift
    if covariance_type == "full":
        stacked = xp.reshape(xp.permute_dims(prec_chol, (1, 0, 2)), (d, k * d))
        ML = (Mc[:, None, :] @ prec_chol)[:, 0, :]
        consts = {"stacked": stacked * _HALF, "ML": ML * _HALF, "c": constant}
    elif covariance_type == "tied":
        M = Mc @ prec_chol
        consts = {
            "L": prec_chol * _HALF,
            "MT": M.T * (1.0 / _HALF),
            "c": constant - 0.5 * xp.sum(M * M, axis=1),
        }
    elif covariance_type == "diag":
        precisions = prec_chol**2
        consts = {
            "W1": (Mc * precisions).T,
            "W2": -0.5 * precisions.T,
            "c": constant - 0.5 * xp.sum(Mc * Mc * precisions, axis=1),
        }
    else:
        precisions = prec_chol**2
        ones = xp.ones((d, 1), dtype=dtype, device=get_namespace_and_device(Mc)[2])
        consts = {
            "W1": (Mc * precisions[:, None]).T,
            "W2": ones * (-0.5 * precisions)[None, :],
            "c": constant - 0.5 * precisions * xp.sum(Mc * Mc, axis=1),
        }
    consts["shift"] = shift
    return consts


def weighted_log_prob(xp, Xc, consts, covariance_type):
    """``log pi_k + log p(x | k)`` of centred rows, shape (n, K)."""
    if covariance_type == "full":
        n = Xc.shape[0]
        k, d = consts["ML"].shape
        Y = xp.reshape(Xc @ consts["stacked"], (n, k, d)) - consts["ML"][None, ...]
        return consts["c"] - xp.vecdot(Y, Y, axis=-1)
    if covariance_type == "tied":
        Y = Xc @ consts["L"]
        return Y @ consts["MT"] - xp.sum(Y * Y, axis=1)[:, None] + consts["c"]
    return (Xc * Xc) @ consts["W2"] + Xc @ consts["W1"] + consts["c"]


def normalize(xp, wlp):
    """Row-wise log-sum-exp and responsibilities (the numpy path's rule)."""
    top = xp.max(wlp, axis=1)
    top = xp.where(xp.isfinite(top), top, xp.zeros_like(top))
    floor = _LOG_FLOOR[_itemsize(xp, wlp.dtype)]
    resp = xp.exp(xp.clip(wlp - top[:, None], min=floor))
    total = xp.sum(resp, axis=1)
    return xp.log(total) + top, resp / total[:, None]


# ------------------------------------------------------------ k-means++
def _squared_distances(xp, X, x_sq, centers):
    """``|x - c|^2`` of every row to each centre, shape (n_centres, n)."""
    c_sq = xp.sum(centers * centers, axis=1)
    d = x_sq[None, :] - 2.0 * (centers @ X.T) + c_sq[:, None]
    return xp.clip(d, min=0.0)


def kmeans_plusplus_indices(xp, X, n_clusters, sample_weight, random_state):
    """Rows chosen by k-means++ seeding, computed in the namespace.

    The same algorithm and the same calls on ``random_state`` as
    scikit-learn's ``kmeans_plusplus`` (greedy, ``2 + log(k)`` local trials,
    distances in float64 where the device has it, as scikit-learn upcasts
    float32), so the same seed picks the same rows; only the first pick and
    the trial draws come from the host's ``random_state``.
    """
    n = X.shape[0]
    device = _device(X)
    dtype = xp.float64 if _has_float64(xp, device) else X.dtype
    X = xp.astype(X, dtype)
    weights = xp.astype(sample_weight, dtype)
    host_weights = np.asarray(_to_host(sample_weight), dtype=np.float64)
    n_local_trials = 2 + int(np.log(n_clusters))
    center_id = random_state.choice(n, p=host_weights / host_weights.sum())
    indices = [int(center_id)]
    x_sq = xp.sum(X * X, axis=1)
    closest = _squared_distances(xp, X, x_sq, X[center_id : center_id + 1, ...])[0, ...]
    current_pot = float(xp.sum(closest * weights))
    for _ in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * current_pot
        cumulative = xp.cumulative_sum(weights * closest)
        candidates = xp.searchsorted(
            cumulative, xp.asarray(rand_vals, dtype=dtype, device=device)
        )
        candidates = xp.clip(candidates, max=n - 1)
        distances = _squared_distances(xp, X, x_sq, xp.take(X, candidates, axis=0))
        distances = xp.minimum(closest[None, :], distances)
        potentials = distances @ weights
        best = int(xp.argmin(potentials))
        current_pot = float(potentials[best])
        closest = distances[best, ...]
        indices.append(int(candidates[best]))
    return np.asarray(indices)


def _has_float64(xp, device) -> bool:
    try:
        xp.zeros(1, dtype=xp.float64, device=device)
    except Exception:  # e.g. Apple's MPS
        return False
    return True


def _extreme(xp, X) -> bool:
    """Whether the numpy path rescales ``X`` for k-means (``power_of_two_scale``)."""
    info = np.finfo(_np_dtype(X))
    top = max(float(xp.max(X)), -float(xp.min(X)))
    low, high = 2.0 ** (info.minexp // 4), 2.0 ** (info.maxexp // 4)
    return top != 0.0 and not (low <= top <= high)


# ------------------------------------------------- statistics and M-step
def gaussian_stats(xp, Xc, resp, covariance_type):
    """Sums over rows of centred data (``nk`` excluded); full s2 unpacked."""
    s1 = resp.T @ Xc
    if covariance_type == "full":
        # All components in one batched product (one kernel on a device).
        weighted = Xc[None, :, :] * xp.permute_dims(resp, (1, 0))[:, :, None]
        s2 = xp.permute_dims(weighted, (0, 2, 1)) @ Xc
    elif covariance_type == "tied":
        s2 = (Xc * xp.sum(resp, axis=1)[:, None]).T @ Xc
    elif covariance_type == "diag":
        s2 = resp.T @ (Xc * Xc)
    else:
        s2 = resp.T @ xp.sum(Xc * Xc, axis=1)
    return {"s1": s1, "s2": s2}


def gaussian_mstep(xp, stats, shift, reg_covar, covariance_type, held_means=None):
    """Means and covariances (the numpy path's ``gaussian_mstep``)."""
    nk = stats["nk"] + 10 * float(xp.finfo(stats["nk"].dtype).eps)
    m = stats["s1"] / nk[:, None]
    e = m if held_means is None else held_means - shift
    d = m.shape[1]
    s2 = stats["s2"]
    if covariance_type == "full":
        eye = _eye(xp, d, m.dtype, get_namespace_and_device(m)[2])
        cov = s2 / nk[:, None, None]
        cov = cov - m[:, :, None] * e[:, None, :]
        cov = cov - e[:, :, None] * m[:, None, :]
        cov = cov + e[:, :, None] * e[:, None, :]
        cov = cov + reg_covar * eye[None, ...]
        # Exactly symmetric (a device's matrix products need not be), so
        # the sampler's check of the covariance passes in float32 too.
        cov = 0.5 * (cov + xp.permute_dims(cov, (0, 2, 1)))
    elif covariance_type == "tied":
        eye = _eye(xp, d, m.dtype, get_namespace_and_device(m)[2])
        weighted = nk[:, None] * e
        cov = s2 - weighted.T @ m - m.T @ weighted + weighted.T @ e
        cov = cov / xp.sum(nk) + reg_covar * eye
        cov = 0.5 * (cov + cov.T)
    elif covariance_type == "diag":
        cov = s2 / nk[:, None] - 2.0 * m * e + e * e + reg_covar
    else:
        spread = xp.sum(2.0 * m * e - e * e, axis=1)
        cov = (s2 / nk - spread) / d + reg_covar
    return shift + e, cov


# ----------------------------------------------------------- the mixin
class ArrayAPIMixin:
    """The Array API path of :class:`GaussianMixtureEM` (see the module docs).

    Each override runs the namespace's path for an array of a non-numpy
    namespace under dispatch, and the numpy path (``super()``) otherwise.
    """

    # ------------------------------------------------------------- checks
    def _validated_fit_data(self, X, sample_weight, *, reset: bool):
        if not use_array_api(X):
            return super()._validated_fit_data(X, sample_weight, reset=reset)
        if getattr(self, "accelerate", None) is not None:
            raise NotImplementedError(
                f"accelerate={self.accelerate!r} is not available under "
                "array_api_dispatch: use accelerate=None, or pass numpy arrays."
            )
        if self.covariance_type not in ("full", "tied", "diag", "spherical"):
            raise NotImplementedError(
                f"covariance_type={self.covariance_type!r} (an mclust structure) "
                "is not available under array_api_dispatch: use one of 'full', "
                "'tied', 'diag', 'spherical', or pass numpy arrays."
            )
        return (
            self._xp_validate(X, reset=reset),
            self._xp_weights(sample_weight, X),
            None,
        )

    def _xp_validate(self, X, *, reset: bool):
        xp, _ = get_namespace(X)
        try:
            return validate_data(
                self,
                X,
                reset=reset,
                dtype=[xp.float64, xp.float32],
                ensure_min_samples=2 if reset else 1,
            )
        except ValueError as exc:
            if "NaN" in str(exc):
                raise ValueError(
                    f"{exc} {type(self).__name__} fits missing values (NaN) only "
                    "on numpy arrays: under array_api_dispatch, impute or drop "
                    "them first, or pass a numpy array."
                ) from exc
            raise

    def _xp_weights(self, sample_weight, X):
        xp, _, device = get_namespace_and_device(X)
        if sample_weight is None:
            return xp.ones(X.shape[0], dtype=X.dtype, device=device)
        # The numpy path's checks (and messages) on a host copy.
        host = check_sample_weight(
            _to_host(sample_weight), np.empty((X.shape[0], 0), dtype=_np_dtype(X))
        )
        return xp.asarray(host, dtype=X.dtype, device=device)

    def _check_init_arrays(self, X):
        if not is_namespace_array(X):
            return super()._check_init_arrays(X)
        xp, _, device = get_namespace_and_device(X)
        # The numpy path's checks and messages, on host copies of the arrays.
        host = {
            name: _to_host(getattr(self, name))
            for name in ("weights_init", "means_init", "precisions_init")
        }
        saved = {name: getattr(self, name) for name in host}
        try:
            for name, value in host.items():
                setattr(self, name, value)
            arrays = super()._check_init_arrays(
                np.empty((0, X.shape[1]), dtype=_np_dtype(X))
            )
        finally:
            for name, value in saved.items():
                setattr(self, name, value)
        return {
            key: xp.asarray(np.ascontiguousarray(value), dtype=X.dtype, device=device)
            for key, value in arrays.items()
        }

    def _check_components(self, X, sample_weight, n_positive):
        if not is_namespace_array(X):
            return super()._check_components(X, sample_weight, n_positive)
        if X.shape[0] < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {X.shape[0]}. Lower "
                "n_components or provide more samples."
            )
        xp, _ = get_namespace(sample_weight)
        n_pos = int(xp.sum(xp.astype(sample_weight > 0, xp.int64)))
        if n_pos < self.n_components:
            raise ValueError(
                f"Only {n_pos} rows have a positive sample_weight, fewer than "
                f"n_components={self.n_components}. Lower n_components or give "
                "more rows a positive weight."
            )

    # ------------------------------------------------------------- engine
    @contextmanager
    def _em_threads(self, X):
        if not is_namespace_array(X):
            with super()._em_threads(X):
                yield
            return
        # The namespace runs its own threads (or a device): no chunk pool.
        self._em_memo = {}
        self._em_pool = None
        try:
            yield
        finally:
            self.__dict__.pop("_em_pool", None)
            self.__dict__.pop("_em_memo", None)

    def _xp_singular(self, dtype, xp):
        def error(k):
            message = self._singular_message
            if dtype == xp.float32:
                message += (
                    " The numerical accuracy can also be improved by passing "
                    "float64 data instead of float32."
                )
            return ValueError(f"{message} (The first such is component {k}.)")

        return error

    def _xp_params(self, xp, weights, means, covariances):
        return {
            "weights": weights,
            "means": means,
            "covariances": covariances,
            "precisions_cholesky": precision_cholesky(
                xp,
                covariances,
                self.covariance_type,
                self._xp_singular(covariances.dtype, xp),
            ),
        }

    def _xp_start_resp(self, X, sample_weight, random_state):
        """Starting responsibilities in the namespace, drawn as the numpy path's."""
        xp, _, device = get_namespace_and_device(X)
        n, k = X.shape[0], self.n_components
        method = self.init_params
        if method in ("random_from_data", "k-means++") and not (
            method == "k-means++" and _extreme(xp, X)
        ):
            if method == "random_from_data":
                weights = _to_host(sample_weight)
                uniform = bool(np.all(weights == weights[0]))
                p = None if uniform else weights / weights.sum()
                indices = random_state.choice(n, size=k, replace=False, p=p)
            else:
                indices = kmeans_plusplus_indices(xp, X, k, sample_weight, random_state)
            rows = xp.arange(n, device=device)[:, None]
            chosen = xp.asarray(indices, device=device)[None, :]
            return xp.astype(rows == chosen, X.dtype)
        if method == "random":
            resp = random_state.uniform(size=(n, k)).astype(_np_dtype(X))
            resp /= resp.sum(axis=1)[:, np.newaxis]
            return xp.asarray(resp, device=device)
        # k-means is scikit-learn's, on a host copy of the rows (so is
        # k-means++ on data the numpy path rescales first).
        resp = initial_responsibilities(
            _to_host(X), k, method, _to_host(sample_weight), random_state
        )
        return xp.asarray(resp, device=device)

    def _em_initialize(self, X, sample_weight, random_state):
        if not is_namespace_array(X):
            return super()._em_initialize(X, sample_weight, random_state)
        xp, _ = get_namespace(X)
        params = {}
        if self._em_start_needs_data():
            resp = self._xp_start_resp(X, sample_weight, random_state)
            resp = resp * sample_weight[:, None]
            total = xp.sum(sample_weight)
            shift = xp.sum(X * sample_weight[:, None], axis=0) / total
            stats = gaussian_stats(xp, X - shift, resp, self.covariance_type)
            stats["nk"] = xp.sum(resp, axis=0)
            means, covariances = gaussian_mstep(
                xp, stats, shift, self.reg_covar, self.covariance_type
            )
            tiny = 10 * float(xp.finfo(X.dtype).eps)
            weights = (stats["nk"] + tiny) / total
            params = self._xp_params(xp, weights, means, covariances)
        return {**params, **self._init_arrays}

    def _xp_row_bytes(self, X) -> int:
        xp, _ = get_namespace(X)
        d, k = X.shape[1], self.n_components
        per_row = k * (d + 6) + 4 * d
        if self.covariance_type == "full":
            per_row += k * d
        return _itemsize(xp, X.dtype) * per_row

    def _xp_consts(self, xp, params):
        shift = params.get("_ref")
        if shift is None:
            shift = mixture_mean(xp, params["weights"], params["means"])
        return prepare(
            xp,
            params["weights"],
            params["means"],
            params["precisions_cholesky"],
            self.covariance_type,
            shift,
        )

    def _xp_log_norm_chunks(self, X, params):
        """Yield ``(rows, Xc, log_norm, resp)`` chunk by chunk."""
        xp, _ = get_namespace(X)
        consts = self._xp_consts(xp, params)
        for rows in _chunks(X.shape[0], self._xp_row_bytes(X)):
            Xc = X[rows, ...] - consts["shift"]
            wlp = weighted_log_prob(xp, Xc, consts, self.covariance_type)
            yield (rows, Xc, *normalize(xp, wlp))

    def _em_pass(self, X, sample_weight, params):
        if not is_namespace_array(X):
            return super()._em_pass(X, sample_weight, params)
        xp, _ = get_namespace(X)
        unit = bool(xp.all(sample_weight == 1.0))
        k = self.n_components
        stats, loglik = None, None
        for rows, Xc, log_norm, resp in self._xp_log_norm_chunks(X, params):
            if self.assignment == "hard":
                labels = xp.argmax(resp, axis=1)
                resp = xp.astype(
                    labels[:, None] == xp.arange(k, device=_device(X))[None, :],
                    resp.dtype,
                )
            if unit:
                part_loglik = xp.sum(log_norm)
            else:
                w = sample_weight[rows]
                resp = resp * w[:, None]
                part_loglik = xp.sum(
                    xp.where(w > 0, w * log_norm, xp.zeros_like(log_norm))
                )
            part = gaussian_stats(xp, Xc, resp, self.covariance_type)
            part["nk"] = xp.sum(resp, axis=0)
            stats = add_stats(stats, part)
            loglik = part_loglik if loglik is None else loglik + part_loglik
        return stats, float(loglik)

    def _em_mstep(self, stats, params):
        if not is_namespace_array(stats["nk"]):
            return super()._em_mstep(stats, params)
        xp, _ = get_namespace(stats["nk"])
        fixed = self._em_fixed_groups()
        shift = params.get("_ref")
        if shift is None:
            shift = self._xp_shift(params)
        means, covariances = gaussian_mstep(
            xp,
            stats,
            shift,
            self.reg_covar,
            self.covariance_type,
            held_means=params["means"] if "means" in fixed else None,
        )
        nk = stats["nk"] + 10 * float(xp.finfo(stats["nk"].dtype).eps)
        weights = nk / xp.sum(nk)
        if "covariances" in fixed:
            new = {
                "weights": weights,
                "means": means,
                "covariances": params["covariances"],
                "precisions_cholesky": params["precisions_cholesky"],
            }
        else:
            new = self._xp_params(xp, weights, means, covariances)
        if "_ref" in params:
            new["_ref"] = params["_ref"]
        return new

    def _xp_shift(self, params):
        """The centring point of a namespace's parameters (``_shift``)."""
        xp, _ = get_namespace(params["means"])
        return mixture_mean(xp, params["weights"], params["means"])

    def _em_store(self, params):
        if not is_namespace_array(params["means"]):
            return super()._em_store(params)
        xp, _ = get_namespace(params["means"])
        for key in ("weights", "means", "covariances", "precisions_cholesky"):
            setattr(self, key + "_", params[key])
        self.precisions_ = precisions_from_cholesky(
            xp, params["precisions_cholesky"], self.covariance_type
        )

    # --------------------------------------------------------- prediction
    def _xp_fitted(self, X):
        """Whether ``X`` takes the namespace's path (validated ``X`` if so)."""
        if not use_array_api(X):
            return None
        self._check_fitted()
        return self._xp_validate(X, reset=False)

    def score_samples(self, X):
        Xv = self._xp_fitted(X)
        if Xv is None:
            return super().score_samples(X)
        xp, _ = get_namespace(Xv)
        chunks = self._xp_log_norm_chunks(Xv, self._em_load())
        return xp.concat([log_norm for _, _, log_norm, _ in chunks])

    def predict_proba(self, X):
        Xv = self._xp_fitted(X)
        if Xv is None:
            return super().predict_proba(X)
        xp, _ = get_namespace(Xv)
        chunks = self._xp_log_norm_chunks(Xv, self._em_load())
        return xp.concat([resp for _, _, _, resp in chunks], axis=0)

    def predict(self, X):
        Xv = self._xp_fitted(X)
        if Xv is None:
            return super().predict(X)
        xp, _ = get_namespace(Xv)
        return xp.argmax(self.predict_proba(Xv), axis=1)

    def score(self, X, y=None, sample_weight=None):
        if not use_array_api(X):
            return super().score(X, y, sample_weight=sample_weight)
        log_prob = self.score_samples(X)
        xp, _ = get_namespace(log_prob)
        if sample_weight is None:
            return float(xp.mean(log_prob))
        weights = self._xp_weights(sample_weight, log_prob[:, None])
        return float(xp.sum(weights * log_prob) / xp.sum(weights))

    def sample(self, n_samples: int = 1):
        means = getattr(self, "means_", None)
        if not (get_config()["array_api_dispatch"] and is_namespace_array(means)):
            return super().sample(n_samples)
        xp, _, device = get_namespace_and_device(means)
        # The numpy path's draws (scikit-learn's, for the same seed) on host
        # copies of the parameters, returned on the parameters' device.
        host = self.__class__.__new__(self.__class__)
        host.__dict__.update(self.__dict__)
        for key in ("weights", "means", "covariances", "precisions_cholesky"):
            setattr(host, key + "_", _to_host(getattr(self, key + "_")))
        X, y = super(ArrayAPIMixin, host).sample(n_samples)
        if not _has_float64(xp, device):  # e.g. Apple's MPS: the model's dtype
            X = X.astype(_np_dtype(means))
        return xp.asarray(X, device=device), xp.asarray(y, device=device)


def _chunks(n_samples: int, row_bytes: int):
    """Row slices within ``working_memory`` (no cache-sized cap).

    The numpy path keeps chunks near the CPU cache for its threads; a
    namespace runs each operation on all its cores or on a device, where
    fewer, larger operations are faster.
    """
    rows = int(get_config()["working_memory"] * 2**20 // max(row_bytes, 1))
    yield from gen_batches(n_samples, max(1, min(rows, n_samples)))


def _np_dtype(X):
    xp, _ = get_namespace(X)
    return np.float32 if X.dtype == xp.float32 else np.float64


def _device(X):
    return get_namespace_and_device(X)[2]
