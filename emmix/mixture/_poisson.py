"""PoissonMixture: mixtures of independent Poisson counts on the EM engine.

Within component ``k`` the features of a row are independent Poisson counts
with rates ``lambda_kj``:

* E-step: ``log p(x | k) = sum_j x_j log lambda_kj - lambda_kj - log Gamma(x_j + 1)``;
  the sufficient statistics are ``N_k = sum_i r_ik`` (added by the base class)
  and ``S_kj = sum_i r_ik x_ij``, both sums over rows;
* M-step: ``lambda_kj = S_kj / N_k``, raised to ``rate_floor`` so that a
  component that sees only zeros in a feature keeps a finite log-density for a
  later non-zero count.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.special import gammaln
from scipy.stats import poisson
from sklearn.utils._param_validation import Interval

from .._products import matmul_long, matmul_long_nt
from .._responsibilities import column_sums
from .._validation import (
    check_array_shape,
    check_counts_representable,
    estimator_feature_names,
)
from ..base import BaseMixture, format_values, memoized

__all__ = ["PoissonMixture"]


# ------------------------------------------------------------- pure maths
def poisson_row_constant(X):
    """``-sum_j log Gamma(x_j + 1)`` per row (missing entries add nothing)."""
    return -np.sum(gammaln(np.where(np.isnan(X), 0.0, X) + 1), axis=1)


def poisson_log_prob(X, rates, row_constant=None):
    """Log-probability of each row under each component's independent Poissons.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Non-negative counts (non-integer values use ``Gamma(x + 1)`` for
        ``x!``); NaN marks a missing count, which is integrated out.
    rates : ndarray of shape (n_components, n_features)
        Positive rates.
    row_constant : ndarray of shape (n_samples,), default=None
        :func:`poisson_row_constant` of ``X``, if already computed.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
    """
    mask = np.isnan(X)
    if not mask.any():  # complete rows: one product of their features
        return poisson_log_prob_features(poisson_features(X, row_constant), rates)
    if row_constant is None:
        row_constant = poisson_row_constant(X)
    # One (n, K) array, updated in place: each further temporary of that size
    # costs a fresh allocation (page faults) as large as the arithmetic.
    log_prob = np.where(mask, 0.0, X) @ np.log(rates).T
    log_prob -= (~mask).astype(X.dtype) @ rates.T
    log_prob += row_constant[:, np.newaxis]
    return log_prob


def poisson_features(X, row_constant=None):
    """``[X^T; 1; c]`` of complete rows, or None if a count is missing.

    ``c`` is :func:`poisson_row_constant`. The log-densities are then one
    product, ``[log lambda_k, -sum_j lambda_kj, 1] @ features``, and the
    statistics read the counts along rows (``features[:d]`` is ``X^T``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    row_constant : ndarray of shape (n_samples,), default=None
        :func:`poisson_row_constant` of ``X``, if already computed.

    Returns
    -------
    features : ndarray of shape (n_features + 2, n_samples), or None
    """
    n, d = X.shape
    features = np.empty((d + 2, n), dtype=X.dtype)
    features[:d] = X.T
    if np.isnan(features[:d]).any():
        return None
    features[d] = 1.0
    features[d + 1] = poisson_row_constant(X) if row_constant is None else row_constant
    return features


def poisson_log_prob_features(features, rates):
    """:func:`poisson_log_prob` from :func:`poisson_features` (complete rows).

    Returns the (n_samples, n_components) log-densities as the transpose of
    a C-ordered (n_components, n_samples) array (component-major, as the
    Gaussian family): later passes walk contiguous columns.
    """
    k, d = rates.shape
    weights = np.empty((k, d + 2), dtype=features.dtype)
    weights[:, :d] = np.log(rates)
    weights[:, d] = -np.sum(rates, axis=1)
    weights[:, d + 1] = 1.0
    return matmul_long(weights, features).T


def poisson_stats(X, resp) -> dict:
    """``S_kj = sum_i resp_ik x_ij`` and the mass ``N_kj`` behind it.

    ``resp`` already holds the sample weights. Missing entries (NaN) add to
    neither: only the observed features of a row carry information, since the
    features are independent within a component.
    """
    mask = np.isnan(X)
    if not mask.any():
        nk = column_sums(resp)
        count = np.repeat(nk[:, np.newaxis], X.shape[1], axis=1)
        return {"sum_x": matmul_long_nt(resp.T, X.T), "count": count}
    return {"sum_x": resp.T @ np.where(mask, 0.0, X), "count": resp.T @ ~mask}


def poisson_rates(sum_x, count, rate_floor: float):
    """Maximum-likelihood rates ``S / N``, raised to ``rate_floor``.

    ``count`` holds, per component and feature, the responsibility mass of the
    rows where that feature is observed (``N_k`` for every feature on complete
    data). ``10 * eps`` in the denominator (scikit-learn's rule) makes an
    emptied component's rates ``0 / tiny = 0``, which the floor then raises.
    """
    count = count + 10 * np.finfo(count.dtype).eps
    return np.maximum(sum_x / count, rate_floor).astype(sum_x.dtype)


# ------------------------------------------------------------ estimator
class PoissonMixture(BaseMixture):
    """Mixture of independent Poisson distributions fitted by EM.

    Each row is a vector of counts; within a component the features are
    independent Poisson variables with their own rates. Parameters, methods
    and fitted attributes follow :class:`GaussianMixtureEM` (and so
    scikit-learn's ``GaussianMixture``).

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    tol : float, default=1e-8
        Convergence threshold on the mean log-likelihood per sample: by
        default on Aitken's estimate of its distance to the optimum (see
        ``stopping``).
    max_iter : int, default=1000
        Maximum number of EM iterations (passes over the data) per run.
    n_init : int, default=1
        Number of runs from different starts; the best is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='kmeans'
        How the starting responsibilities are drawn (as in scikit-learn).
    weights_init : array-like of shape (n_components,), default=None
        User-given starting weights.
    rates_init : array-like of shape (n_components, n_features), default=None
        User-given starting rates (non-negative; values below ``rate_floor``
        are raised to it).
    rate_floor : float, default=1e-10
        Smallest rate allowed. A component whose rows all have a zero count in
        a feature would otherwise get rate 0 there, and then a probability of
        exactly 0 (log-density ``-inf``) for any later positive count.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of :meth:`sample`.
    warm_start : bool, default=False
        If True, each :meth:`fit` after the first continues from the fitted
        parameters with a single run (``n_init`` is ignored). If
        ``n_components`` or the number of features changed since, the fitted
        parameters cannot start the fit: it starts afresh, as without
        ``warm_start``, with a warning. (:meth:`partial_fit` then raises a
        ``ValueError``: call :meth:`fit`.)
    verbose : int, default=0
        1 prints each run and iteration, 2 also times and log-likelihoods.
    verbose_interval : int, default=10
        Iterations between two messages.
    assignment : {'soft', 'hard'}, default='soft'
        'soft' is EM. 'hard' is classification EM: before each M-step every
        row is given wholly to its most probable component. It maximises the
        classification likelihood, so its estimates are biased when
        components overlap.
    fixed_params : set of str, default=None
        Parameter groups held at their initial values while the others are
        estimated: any of ``'weights'``, ``'rates'``. Give their values with
        ``weights_init`` or ``rates_init``; fixed groups do not count in
        :meth:`bic` and :meth:`aic`.
    stopping : {'aitken', 'change'}, default='aitken'
        The stopping rule. 'aitken' stops when Aitken's estimate of the
        distance from the last log-likelihood to the limit of the sequence is
        below ``tol`` (it bounds the distance to the optimum, not the last
        step); 'change' is scikit-learn's rule (the last change is below
        ``tol``). See the user guide's "When does EM stop?".
    accelerate : {None, 'squarem'}, default='squarem'
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
    rates_ : ndarray of shape (n_components, n_features)
        Poisson rate (mean count) of each feature in each component.
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

    See Also
    --------
    CoinMixture : Mixture of binomial counts (coins of unknown bias).
    GaussianMixtureEM : Mixture of Gaussians.

    Notes
    -----
    ``X`` must be non-negative and finite; non-integer values are accepted and
    scored with ``log Gamma(x + 1)`` in place of ``log x!`` (as scikit-learn's
    ``PoissonRegressor`` accepts non-integer targets), which is useful for
    rescaled counts. For integer counts the log-densities equal
    ``scipy.stats.poisson.logpmf``.

    ``n_components`` may not exceed the number of distinct rows of ``X``
    (some components could only be copies of others): :meth:`fit` raises a
    ``ValueError`` before any work. With as many components as distinct rows
    each component sits on one row. Sparse input raises a ``TypeError`` (call
    ``.toarray()``).

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import PoissonMixture
    >>> X = np.array([[0], [1], [2], [1], [9], [11], [10], [10]])
    >>> pm = PoissonMixture(n_components=2, random_state=0).fit(X)
    >>> pm.rates_.round(2)
    array([[9.97],
           [1.  ]])
    >>> pm.weights_.round(2)
    array([0.5, 0.5])
    >>> pm.predict([[0], [3], [8]])
    array([1, 1, 0])
    """

    _parameter_constraints: dict = {
        "rates_init": ["array-like", None],
        "rate_floor": [Interval(Real, 0.0, None, closed="neither")],
    }

    _parameter_groups = ("rates",)
    #: Counts mixtures estimate parameters people read: stop near the optimum
    #: (Aitken's rule, tol 1e-8 per sample) and get there by SQUAREM, which
    #: needs 10-20x fewer passes than plain EM when the components overlap
    #: (benchmarks/bench_squarem.py and the user guide's "When does EM stop?").
    _supports_missing = True
    _non_negative_data = True
    _family_name = "Poisson"

    def __init__(
        self,
        n_components: int = 1,
        *,
        rates_init=None,
        rate_floor: float = 1e-10,
        **params,
    ):
        super().__init__(n_components, **params)
        self.rates_init = rates_init
        self.rate_floor = rate_floor

    # ------------------------------------------------------------ the family
    def _check_data(self, X) -> None:
        names = estimator_feature_names(self)
        check_counts_representable(X, name=type(self).__name__, names=names)

    def _initial_params(self, X) -> dict:
        if self.rates_init is None:
            return {}
        k, d, dt = self.n_components, X.shape[1], X.dtype
        rates = check_array_shape(self.rates_init, (k, d), "rates_init", dt)
        if np.any(rates < 0):
            raise ValueError(
                "The parameter 'rates_init' must be non-negative (Poisson "
                f"rates), but its smallest value is {float(rates.min())!r}."
            )
        return {"rates": np.maximum(rates, self.rate_floor).astype(dt)}

    def _features(self, X, cache):
        """:func:`poisson_features` of the chunk (None with missing counts).

        The rows do not change between passes: kept in the fit-long memo
        when there is one, else in the chunk's cache (the log-densities and
        the statistics of one E-step share it).
        """
        return memoized(cache, "features", lambda: poisson_features(X), large=True)

    def _component_log_prob(self, X, params, cache=None):
        features = self._features(X, cache)
        if features is not None:  # complete rows: one product
            return poisson_log_prob_features(features, params["rates"])
        # log x! depends on the rows only: once per chunk and fit.
        row_constant = memoized(cache, "row_constant", lambda: poisson_row_constant(X))
        return poisson_log_prob(X, params["rates"], row_constant)

    def _conditional_means(self, X, params, cache):
        # Features are independent within a component: a missing count's
        # conditional mean is its component's rate.
        return np.broadcast_to(params["rates"], (X.shape[0], *params["rates"].shape))

    def _component_stats(self, X, resp, params, cache=None) -> dict:
        features = self._features(X, cache)
        if features is None:
            return poisson_stats(X, resp)
        # Complete rows: the counts along rows (X^T) from the features.
        nk = column_sums(resp)
        count = np.repeat(nk[:, np.newaxis], X.shape[1], axis=1)
        return {"sum_x": matmul_long_nt(resp.T, features[: X.shape[1]]), "count": count}

    def _component_mstep(self, stats, params):
        return {"rates": poisson_rates(stats["sum_x"], stats["count"], self.rate_floor)}

    def _project_params(self, params):
        return {**params, "rates": np.maximum(params["rates"], self.rate_floor)}

    def _sample_component(self, rng, params, k, n_samples):
        rate = params["rates"][k]
        return rng.poisson(rate, size=(n_samples, rate.shape[0]))

    def _describe_component(self, k: int) -> str:
        weight = float(self.weights_[k])
        return f"weight {weight:.3f}, rates {format_values(self.rates_[k])}"

    #: What the count figure's axis counts.
    _count_kind = "count"

    def _n_count_features(self) -> int:
        return int(np.shape(self.rates_)[1])

    def _count_marginal(self, X, feature: int):
        """Observed values of one feature, and each component's expected
        frequency of each value (exact: the features are independent)."""
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = X[:, feature]
        values = np.arange(0, int(np.ceil(np.nanmax(counts))) + 1)
        rates = np.asarray(self.rates_, dtype=np.float64)[:, feature]
        pmf = poisson.pmf(values[np.newaxis], rates[:, np.newaxis])
        n = int(np.sum(~np.isnan(counts)))
        return values, counts, n * weights[:, np.newaxis] * pmf

    def _drawn_columns(self, features) -> list[int]:
        return [int(features[0])]

    def _plot_components(self, X, ax, features, names):
        from ..plotting import draw_count_components

        return draw_count_components(self, X, features[0], ax, names)
