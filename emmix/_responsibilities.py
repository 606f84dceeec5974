"""Responsibilities of a finite mixture: starts and normalisation (pure maths).

Used by :class:`emmix.base.BaseMixture` for every family.
"""

from __future__ import annotations

import numpy as np

from ._compiled import compiled_normalize

__all__ = [
    "INIT_METHODS",
    "column_sums",
    "initial_responsibilities",
    "log_floor",
    "mixture_weights",
    "normalize_log_prob",
    "power_of_two_scale",
    "row_sums",
]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


#: Floor of the log-responsibilities (before normalising). Responsibilities
#: below ~1e-150 (1e-30 in float32) weigh nothing, but the subnormal numbers
#: they would turn into (in ``exp`` itself, divided by the row total or
#: multiplied by the data in the statistics) slow the passes and the matrix
#: products down by orders of magnitude.
_LOG_FLOOR = {
    np.float64: np.float64(np.log(1e-150)),
    np.float32: np.float32(np.log(1e-30)),
}


def log_floor(dtype):
    """The floor of the log-responsibilities in ``dtype`` (see ``_LOG_FLOOR``)."""
    return _LOG_FLOOR[np.dtype(dtype).type]


def _row_max(a):
    """Row-wise maximum of a short-rowed array (NaN propagates, as in ``max``).

    numpy's reduction along short rows is slow; a running maximum over the
    columns is several times faster for the usual number of components.
    """
    if a.shape[1] > 64 or a.shape[1] == 0:
        return np.max(a, axis=1)
    if a.flags.f_contiguous:  # component-major: one vectorised reduction
        return np.max(a.T, axis=0)
    top = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        np.maximum(top, a[:, k], out=top)
    return top


def row_sums(a):
    """Row sums of an (n, K) array, by the fastest route for its layout."""
    if a.flags.f_contiguous and a.shape[1] > 0:
        return np.sum(a.T, axis=0)
    return a @ np.ones(a.shape[1], dtype=a.dtype)


def column_sums(a):
    """Column sums of an (n, K) array: ``a.sum(axis=0)`` to the last bit, faster.

    numpy's reduction over the rows of a C-ordered narrow array calls its
    inner loop once per row; ``einsum`` adds the rows one after the other in
    the same order (the same sums to the last bit, checked for K from 2 to
    513 in float64 and float32) in one loop, several times faster. A
    component-major (F-ordered) array sums each contiguous column at once.
    """
    if a.ndim == 2 and a.shape[1] > 1 and a.flags.c_contiguous:
        return np.einsum("nk->k", a)
    return a.sum(axis=0)


def normalize_log_prob(weighted_log_prob):
    """Row-wise log-sum-exp and responsibilities, overwriting the input.

    Parameters
    ----------
    weighted_log_prob : ndarray of shape (n_samples, n_components)
        ``log p(x | k) + log pi_k``; its memory is reused for the result.

    Returns
    -------
    log_norm : ndarray of shape (n_samples,)
        ``log p(x)``.
    resp : ndarray of shape (n_samples, n_components)
        ``p(k | x)``, rows summing to 1 (the input array, overwritten).
    """
    log_norm, done = compiled_normalize(
        weighted_log_prob, _LOG_FLOOR[weighted_log_prob.dtype.type]
    )
    if log_norm is None:
        return _normalize(weighted_log_prob)
    if done < len(log_norm):  # rows the kernel leaves to numpy
        log_norm[done:], _ = _normalize(weighted_log_prob[done:])
    return log_norm, weighted_log_prob


def _normalize(weighted_log_prob):
    """:func:`normalize_log_prob` in numpy (the compiled kernel's twin)."""
    top = _row_max(weighted_log_prob)
    # A row whose every component has probability 0 (-inf) must not turn
    # into NaN through inf - inf: it is normalised around 0 (equal
    # responsibilities) and keeps log p = -inf (or NaN, or +inf) below.
    odd = ~np.isfinite(top)
    odd_top = top[odd]
    top[odd] = 0.0
    resp = weighted_log_prob
    resp -= top[:, np.newaxis]
    floor = _LOG_FLOOR[resp.dtype.type]
    if resp.flags.f_contiguous:
        # Against a column of floors: numpy's maximum with a scalar does not
        # run vectorised (3x slower on a chunk of 12,500 x 16 in float32).
        floor = np.full(resp.shape[0], floor)[:, np.newaxis]
    np.maximum(resp, floor, out=resp)
    np.exp(resp, out=resp)
    total = row_sums(resp)
    resp /= total[:, np.newaxis]
    log_norm = np.log(total)
    log_norm += top
    log_norm[odd] = odd_top
    return log_norm, resp


def mixture_weights(nk, normalizer=None):
    """Mixing weights from the summed responsibilities (scikit-learn's rule).

    ``10 * eps`` keeps an emptied component's weight positive, so its log stays
    finite; scikit-learn adds the same amount.
    """
    nk = nk + 10 * np.finfo(nk.dtype).eps
    return nk / (np.sum(nk) if normalizer is None else normalizer)


def power_of_two_scale(X) -> float:
    """A power of two bringing the largest magnitude of ``X`` near 1, or 1.0.

    Only data whose squares could overflow or underflow (largest magnitude
    above ``2**(maxexp / 4)`` or below ``2**(minexp / 4)``: 1.2e77 and 1.7e-77 in
    float64, 4.3e9 and 2.3e-10 in float32) get a factor other than 1.
    Multiplying by a power of two is exact, so distances, and everything that
    compares them, scale without rounding.
    """
    if X.size == 0:
        return 1.0
    info = np.finfo(X.dtype)
    top = max(float(np.max(X)), -float(np.min(X)))
    if top == 0.0 or 2.0 ** (info.minexp // 4) <= top <= 2.0 ** (info.maxexp // 4):
        return 1.0
    return float(np.ldexp(1.0, -int(np.frexp(top)[1])))


def initial_responsibilities(
    X, n_components, method, sample_weight, random_state, *, scratch=False
):
    """Starting responsibilities, drawn exactly as scikit-learn draws them.

    The calls on ``random_state`` are the same as scikit-learn's, so the same
    seed gives the same start (and, on well-separated data, the same partition).
    With non-uniform ``sample_weight``, k-means is weighted and the seeding
    methods pick rows with probability proportional to their weight.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    method : {'kmeans', 'k-means++', 'random', 'random_from_data'}
    sample_weight : ndarray of shape (n_samples,)
    random_state : RandomState
    scratch : bool, default=False
        Whether ``X`` is a scratch array of the caller's that k-means may
        centre in place (``copy_x=False``: one copy of the data fewer, same
        labels).

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
    """
    from sklearn.cluster import KMeans, kmeans_plusplus

    n_samples = X.shape[0]
    # k-means compares squared distances: extreme data (counts near 1e160, say)
    # are brought near 1 first. The factor is an exact power of two, so the
    # partition is the one of the unscaled data; other data are not touched.
    scale = power_of_two_scale(X)
    if scale != 1.0:
        X = X * np.asarray(scale, dtype=X.dtype)
        scratch = True
    uniform = bool(np.all(sample_weight == sample_weight[0]))
    weights = None if uniform else sample_weight
    if method == "kmeans":
        labels = (
            KMeans(
                n_clusters=n_components,
                n_init=1,
                random_state=random_state,
                copy_x=not scratch,
            )
            .fit(X, sample_weight=weights)
            .labels_
        )
        resp = np.zeros((n_samples, n_components), dtype=X.dtype)
        resp[np.arange(n_samples), labels] = 1
    elif method == "random":
        resp = random_state.uniform(size=(n_samples, n_components))
        resp = resp.astype(X.dtype, copy=False)
        resp /= resp.sum(axis=1)[:, np.newaxis]
    elif method == "random_from_data":
        p = None if uniform else sample_weight / sample_weight.sum()
        indices = random_state.choice(n_samples, size=n_components, replace=False, p=p)
        resp = np.zeros((n_samples, n_components), dtype=X.dtype)
        resp[indices, np.arange(n_components)] = 1
    elif method == "k-means++":
        _, indices = kmeans_plusplus(
            X, n_components, random_state=random_state, sample_weight=weights
        )
        resp = np.zeros((n_samples, n_components), dtype=X.dtype)
        resp[indices, np.arange(n_components)] = 1
    else:  # pragma: no cover - rejected by parameter validation
        raise ValueError(f"Unknown init_params {method!r}; use one of {INIT_METHODS}.")
    return resp
