"""BaseMixture: what every finite mixture shares on top of the EM engine.

A mixture family supplies the component log-densities, the sufficient
statistics of its components given (weighted) responsibilities, its M-step,
its number of free parameters and a sampler. Everything else (responsibilities,
``predict``, ``predict_proba``, ``score_samples``, ``score``, ``bic``, ``aic``,
``sample``) lives here once.
"""

from __future__ import annotations

import math
from abc import ABCMeta, abstractmethod
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._accel import project_simplex
from .._dask import (
    dask_apply,
    dask_fit_mixture,
    dask_partial_fit_mixture,
    dask_score_mixture,
    is_dask,
)
from .._em import ENGINE_PARAMETER_CONSTRAINTS, EMMixin, add_stats, iter_chunks
from .._validation import (
    check_n_components,
    check_rows_observed,
    check_sample_weight,
    check_X,
    fill_column_means,
)

__all__ = [
    "BaseMixture",
    "chunked_stats",
    "initial_responsibilities",
    "normalize_log_prob",
]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


#: Floor of the log-responsibilities (before normalising). Responsibilities
#: below ~1e-150 (1e-30 in float32) weigh nothing, but the subnormal numbers
#: they would turn into (alone, divided by the row total or multiplied by the
#: data in the statistics) slow matrix products down by orders of magnitude.
_LOG_FLOOR = {
    np.float64: np.float64(np.log(1e-150)),
    np.float32: np.float32(np.log(1e-30)),
}


def _row_max(a):
    """Row-wise maximum of a short-rowed array (NaN propagates, as in ``max``).

    numpy's reduction along short rows is slow; a running maximum over the
    columns is several times faster for the usual number of components.
    """
    if a.shape[1] > 64 or a.shape[1] == 0:
        return np.max(a, axis=1)
    top = a[:, 0].copy()
    for k in range(1, a.shape[1]):
        np.maximum(top, a[:, k], out=top)
    return top


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
    top = _row_max(weighted_log_prob)
    # A row whose every component has probability 0 (-inf) keeps log p = -inf
    # instead of turning into NaN through inf - inf.
    top[~np.isfinite(top)] = 0.0
    resp = weighted_log_prob
    resp -= top[:, np.newaxis]
    np.maximum(resp, _LOG_FLOOR[resp.dtype.type], out=resp)
    np.exp(resp, out=resp)
    total = resp @ np.ones(resp.shape[1], dtype=resp.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        resp /= total[:, np.newaxis]
        log_norm = np.log(total) + top
    return log_norm, resp


def _mixture_weights(nk, normalizer=None):
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


def chunked_stats(X, resp, row_bytes, component_stats) -> dict:
    """``component_stats(X, resp)`` summed over row chunks, with ``nk`` added.

    The start's M-step sees all rows at once; its statistics are sums over
    rows, so they are taken chunk by chunk (as in an E-step pass) and never
    need more than a chunk's temporaries. Equal to the one-shot statistics up
    to rounding.
    """
    stats = None
    for rows in iter_chunks(X.shape[0], row_bytes):
        part = component_stats(X[rows], resp[rows])
        part["nk"] = resp[rows].sum(axis=0)
        stats = add_stats(stats, part)
    return stats


class BaseMixture(EMMixin, DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of emmix's finite mixtures (not public).

    Families implement ``_log_prob``, ``_component_stats``, ``_em_mstep``,
    ``_em_initialize``, ``_em_store``, ``_em_load``, ``_n_parameters`` and
    ``_sample_components``.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "assignment": [StrOptions({"soft", "hard"})],
        **ENGINE_PARAMETER_CONSTRAINTS,
    }

    # --------------------------------------------------------- family hooks
    @abstractmethod
    def _log_prob(self, X, params, cache=None):
        """Component log-densities ``log p(x | k)``, shape (n_samples, K).

        ``cache`` is a dict shared with ``_component_stats`` within one E-step
        chunk, where a family may keep what both need (e.g. centred data).
        """

    @abstractmethod
    def _component_stats(self, X, resp, params, cache=None) -> dict:
        """Sufficient statistics of the components given weighted responsibilities.

        ``resp`` already includes the sample weights; ``nk = resp.sum(0)`` is
        added by the base class.
        """

    @abstractmethod
    def _n_parameters(self) -> int:
        """Number of free parameters of the fitted model."""

    @abstractmethod
    def _sample_components(self, rng, counts):
        """Draw ``counts[k]`` rows from component ``k``, stacked in order."""

    def _validate_input(self, X, *, reset: bool):
        """Validate X for this family (override to add range checks).

        NaN marks a missing entry: it is integrated out of the likelihood (the
        data are taken to be missing at random). Every row needs at least one
        observed value.
        """
        X = check_X(
            self, X, reset=reset, allow_nan=True, ensure_min_samples=2 if reset else 1
        )
        check_rows_observed(X, type(self).__name__)
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _check_init_arrays(self, X) -> dict:
        """Validate user-supplied ``*_init`` arrays; return validated copies."""
        return {}

    def _em_project(self, params):
        """Weights back on the simplex after a SQUAREM extrapolation."""
        return {**params, "weights": project_simplex(params["weights"])}

    # ------------------------------------------------------------ the start
    def _init_features(self, X):
        """The data the starting responsibilities are drawn on (default: X)."""
        return X

    def _params_from_resp(self, X, resp, sample_weight):
        """Parameters from weighted responsibilities: one M-step.

        ``resp`` already includes the sample weights.
        """
        stats = chunked_stats(
            X,
            resp,
            self._em_row_bytes(X, None),
            lambda X, resp: self._component_stats(X, resp, None),
        )
        return self._em_mstep(stats, None)

    def _em_initialize(self, X, sample_weight, random_state):
        """First parameters, the scikit-learn way.

        Responsibilities are drawn by ``init_params`` unless the user gave
        every parameter group (``*_init``); given groups then override the
        drawn ones.
        """
        user = self._init_arrays
        params = {}
        if not set(self._fixable_groups) <= set(user):
            # The start only needs rough parameters: missing entries are
            # filled with their column's mean for it (EM then does it right).
            X = fill_column_means(X, sample_weight)
            features = self._init_features(X)
            resp = initial_responsibilities(
                features,
                self.n_components,
                self.init_params,
                sample_weight,
                random_state,
                # Features computed for the start alone may be centred in place.
                scratch=not np.may_share_memory(features, X),
            )
            del features
            resp *= sample_weight[:, np.newaxis]
            params = self._params_from_resp(X, resp, sample_weight)
        return {**params, **user}

    # ----------------------------------------------------------------- E-step
    def _weighted_log_prob(self, X, params, cache=None):
        with np.errstate(divide="ignore"):
            log_weights = np.log(params["weights"]).astype(X.dtype, copy=False)
        log_prob = self._log_prob(X, params, cache=cache)
        log_prob += log_weights
        return log_prob

    def _em_estep(self, X, sample_weight, params, memo=None):
        cache: dict = {} if memo is None else {"memo": memo}
        log_norm, resp = normalize_log_prob(
            self._weighted_log_prob(X, params, cache=cache)
        )
        if self.assignment == "hard":
            # Classification EM: each row goes wholly to its likeliest component.
            labels = np.argmax(resp, axis=1)
            resp[:] = 0.0
            resp[np.arange(resp.shape[0]), labels] = 1.0
        unit_weights = bool(np.all(sample_weight == 1))
        if not unit_weights:
            resp *= sample_weight[:, np.newaxis]
        stats = self._component_stats(X, resp, params, cache=cache)
        stats["nk"] = np.ones(resp.shape[0], dtype=resp.dtype) @ resp
        if unit_weights:
            return stats, float(np.sum(log_norm, dtype=np.float64))
        positive = sample_weight > 0  # 0 * -inf must not poison the sum
        loglik = np.dot(
            sample_weight[positive].astype(np.float64),
            log_norm[positive].astype(np.float64),
        )
        return stats, loglik

    def _em_row_bytes(self, X, params) -> int:
        d, k = X.shape[1], self.n_components
        return X.dtype.itemsize * (k * (d + 6) + 3 * d)

    # -------------------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with the EM algorithm.

        The model is fitted ``n_init`` times and the parameters with the
        largest log-likelihood are kept. Each run iterates E- and M-steps until
        the change of the mean log-likelihood per sample is below ``tol`` or
        ``max_iter`` iterations were made (then a ``ConvergenceWarning`` is
        issued). With ``warm_start=True`` a second call continues from the
        fitted parameters with a single run.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one row per sample. A ``dask.array.Array`` is
            fitted where its blocks live, with a start drawn from a random
            sample of its rows unless every ``*_init`` array is given (see
            the "Fitting with Dask" page).
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. An integer weight is exactly the
            same as repeating the row that many times.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if is_dask(X):
            return dask_fit_mixture(self, X, sample_weight)
        self._validate_params()
        X = self._validate_input(X, reset=True)
        sample_weight = check_sample_weight(sample_weight, X)
        self._em_fixed_groups()  # unknown group names fail before any work
        self._init_arrays = self._check_init_arrays(X)
        check_n_components(X, self.n_components, sample_weight)
        self._reset_stream()
        self._fit_em(X, sample_weight)
        return self

    def _reset_stream(self):
        for name in ("_stream_stats", "_stream_params", "_stream_t"):
            if hasattr(self, name):
                delattr(self, name)

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one batch of rows (stepwise EM).

        Keeps running expected sufficient statistics per unit of weight,
        ``S <- (1 - eta_t) S + eta_t S_batch`` with
        ``eta_t = (t + learning_offset) ** -learning_decay``, and sets the
        parameters to the M-step of ``S`` after each batch. The first call
        starts from its batch (by ``init_params`` or the ``*_init`` arrays)
        and must have at least ``n_components`` rows. A later :meth:`fit`
        starts afresh.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch of rows.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of the batch.

        Returns
        -------
        self : object
            The updated estimator. ``n_iter_`` counts the batches seen and
            ``lower_bounds_`` holds each batch's mean log-likelihood under the
            parameters before its update.
        """
        if is_dask(X):
            return dask_partial_fit_mixture(self, X, sample_weight)
        first = not hasattr(self, "_stream_stats")
        if first:
            self._validate_params()
        X = self._validate_input(X, reset=first)
        sample_weight = check_sample_weight(sample_weight, X)
        if first:
            self._em_fixed_groups()
            self._init_arrays = self._check_init_arrays(X)
            check_n_components(X, self.n_components, sample_weight)
        self._partial_fit_em(X, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and return the most probable component of each row.

        Equal to ``fit(X).predict(X)`` for any ``max_iter`` and ``tol``: the
        labels come from a final E-step with the kept parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    # ---------------------------------------------------------- prediction
    def _chunked_log_normalize(self, X):
        """Yield ``(rows, log_norm, resp)`` chunk by chunk (bounded memory)."""
        params = self._em_prepare(self._em_load())
        for rows in iter_chunks(X.shape[0], self._em_row_bytes(X, params)):
            yield (
                rows,
                *normalize_log_prob(self._weighted_log_prob(X[rows], params)),
            )

    def _checked_input(self, X):
        check_is_fitted(self)
        return self._validate_input(X, reset=False)

    def score_samples(self, X):
        """Log-likelihood of each sample under the fitted mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(x)`` for each row.
        """
        if is_dask(X):
            return dask_apply(self, X, "score_samples")
        X = self._checked_input(X)
        out = np.empty(X.shape[0], dtype=X.dtype)
        for rows, log_norm, _ in self._chunked_log_normalize(X):
            out[rows] = log_norm
        return out

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood per sample of ``X`` (higher is better).

        This is the default score of ``GridSearchCV``, so a grid over
        ``n_components`` selects by held-out likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the average.

        Returns
        -------
        log_likelihood : float
            Weighted mean of ``score_samples(X)``.
        """
        if is_dask(X):
            return dask_score_mixture(self, X, sample_weight)
        log_prob = self.score_samples(X)
        if sample_weight is None:
            return float(np.mean(log_prob, dtype=np.float64))
        weights = check_sample_weight(sample_weight, log_prob[:, np.newaxis])
        return float(np.average(log_prob.astype(np.float64), weights=weights))

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        if is_dask(X):
            return dask_apply(self, X, "predict", dtype=np.int64)
        X = self._checked_input(X)
        out = np.empty(X.shape[0], dtype=np.int64)
        for rows, _, resp in self._chunked_log_normalize(X):
            out[rows] = np.argmax(resp, axis=1)
        return out

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Rows sum to 1.
        """
        if is_dask(X):
            return dask_apply(self, X, "predict_proba", n_columns=self.n_components)
        X = self._checked_input(X)
        out = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        for rows, _, resp in self._chunked_log_normalize(X):
            out[rows] = resp
        return out

    def _conditional_means(self, X, params, cache):
        """Per component, each row with its missing entries filled by their
        conditional mean given the row's observed part; shape (n, K, d)."""
        raise NotImplementedError  # pragma: no cover - every family has it

    def impute(self, X):
        """Fill missing entries (NaN) with their posterior-weighted conditional mean.

        Each missing entry becomes ``sum_k p(k | x_obs) E[x_miss | x_obs, k]``:
        the mean of the fitted mixture's conditional distribution given the
        row's observed values. Observed values are returned unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with NaN for missing entries; every row needs an observed value.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
            A new array; ``X`` is not modified (lazy for a Dask array).
        """
        if is_dask(X):
            return dask_apply(self, X, "impute", n_columns=self.n_features_in_)
        X = self._checked_input(X)
        out = np.array(X, dtype=X.dtype, copy=True)
        mask = np.isnan(out)
        rows = mask.any(axis=1)
        if not rows.any():
            return out
        params = self._em_prepare(self._em_load())
        for chunk in iter_chunks(int(rows.sum()), self._em_row_bytes(X, params)):
            index = np.flatnonzero(rows)[chunk]
            part = out[index]
            cache: dict = {}
            _, resp = normalize_log_prob(self._weighted_log_prob(part, params, cache))
            fill = np.einsum(
                "nk,nkd->nd", resp, self._conditional_means(part, params, cache)
            )
            out[index] = np.where(mask[index], fill, part)
        return out

    def sample(self, n_samples: int = 1):
        """Draw samples from the fitted mixture.

        Uses ``random_state``, so repeated calls with an integer seed return
        the same draws.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Drawn samples, grouped by component.
        y : ndarray of shape (n_samples,)
            Component of each drawn sample.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling "
                "requires at least one sample."
            )
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        X = self._sample_components(rng, counts)
        y = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return X, y

    def bic(self, X) -> float:
        """Bayesian information criterion on ``X`` (lower is better).

        ``-2 * log-likelihood + n_parameters * log(n_samples)``, computed on the
        data given (normally the training data).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        bic : float
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X) -> float:
        """Akaike information criterion on ``X`` (lower is better).

        ``-2 * log-likelihood + 2 * n_parameters``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        aic : float
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + 2 * self._n_parameters()
