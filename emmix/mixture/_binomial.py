"""CoinMixture: mixtures of binomial counts (coins of unknown bias) on the EM engine.

Each row is a round: a coin ``k`` is picked with probability ``pi_k`` and
tossed ``n_j`` times for each feature ``j``; ``x_j`` is the number of heads.
Within a component the features are independent binomial counts with
probabilities of heads ``p_kj``:

* E-step: ``log p(x | k) = sum_j log C(n_j, x_j) + x_j log p_kj
  + (n_j - x_j) log(1 - p_kj)``; the sufficient statistics are
  ``N_k = sum_i r_ik`` (added by the base class), the expected heads
  ``H_kj = sum_i r_ik x_ij`` and the expected tosses ``T_kj = sum_i r_ik n_ij``,
  all sums over rows;
* M-step: ``p_kj = H_kj / T_kj``, kept inside ``[floor, 1 - floor]`` so that
  ``log p`` and ``log(1 - p)`` stay finite.

The numbers of tosses are either fixed by the model (``n_trials`` an int or one
per feature) or given with each round as extra columns of ``X``
(``n_trials='from_X'``); in the second case the tosses travel with the rows,
so cross-validation, pipelines and ``predict`` need nothing more.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.special import gammaln
from scipy.stats import binom
from sklearn.utils._param_validation import Interval, StrOptions

from .._products import matmul_long, matmul_long_nt
from .._responsibilities import column_sums
from .._validation import (
    IntegerInterval,
    _describe_column,
    check_array_shape,
    check_counts_representable,
    estimator_feature_names,
)
from ..base import BaseMixture, format_values, memoized

__all__ = ["CoinMixture"]

#: Value of ``n_trials`` meaning "X = [heads | tosses]".
FROM_X = "from_X"


# ------------------------------------------------------------- pure maths
def binomial_row_constant(heads, trials):
    """``sum_j log C(n_j, x_j)`` per row, through the gamma function."""
    tails = trials - heads
    log_coef = gammaln(trials + 1) - gammaln(heads + 1) - gammaln(tails + 1)
    return np.sum(np.broadcast_to(log_coef, heads.shape), axis=1)


def binomial_log_prob(heads, trials, probs, row_constant=None):
    """Log-probability of each row under each component's independent binomials.

    Parameters
    ----------
    heads : ndarray of shape (n_samples, n_features)
        Heads counts, ``0 <= heads <= trials``.
    trials : ndarray of shape (n_features,) or (n_samples, n_features)
        Tosses, per feature or per row and feature.
    probs : ndarray of shape (n_components, n_features)
        Probabilities of heads, strictly inside (0, 1).
    row_constant : ndarray of shape (n_samples,), default=None
        :func:`binomial_row_constant`, if already computed.

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
        Equal to the sum over features of ``scipy.stats.binom.logpmf`` (the
        binomial coefficient is ``Gamma`` based, so non-integer counts work).
        Component-major (a transposed view), as the Gaussian family's.
    """
    features = binomial_features(heads, trials, row_constant)
    return binomial_log_prob_features(features, trials, probs)


def binomial_features(heads, trials, row_constant=None):
    """The rows' features of the log-densities, component-major.

    With tosses fixed per feature (``trials`` 1-d), ``[x^T; 1; c]``: then
    ``log p(x | k) = sum_j x_j logit(p_kj) + sum_j n_j log(1 - p_kj) + c``
    is one product over ``d + 2`` rows, half the work of the heads' and the
    tails' products. With tosses per row, ``[x^T; (n - x)^T; c]``. ``c`` is
    :func:`binomial_row_constant`.

    Parameters
    ----------
    heads : ndarray of shape (n_samples, n_features)
    trials : ndarray of shape (n_features,) or (n_samples, n_features)
    row_constant : ndarray of shape (n_samples,), default=None

    Returns
    -------
    features : ndarray of shape (n_features + 2, n_samples) or
        (2 * n_features + 1, n_samples)
    """
    n, d = heads.shape
    if row_constant is None:
        row_constant = binomial_row_constant(heads, trials)
    fixed = trials.ndim == 1
    features = np.empty((d + 2 if fixed else 2 * d + 1, n), dtype=heads.dtype)
    features[:d] = heads.T
    if fixed:
        features[d] = 1.0
    else:
        np.subtract(trials.T, heads.T, out=features[d : 2 * d])
    features[-1] = row_constant
    return features


def binomial_log_prob_features(features, trials, probs):
    """:func:`binomial_log_prob` from :func:`binomial_features`.

    Returns the (n_samples, n_components) log-densities as the transpose of
    a C-ordered (n_components, n_samples) array (component-major, as the
    Gaussian family).
    """
    k, d = probs.shape
    log_p, log_q = np.log(probs), np.log1p(-probs)
    if trials.ndim == 1:
        weights = np.empty((k, d + 2), dtype=features.dtype)
        weights[:, :d] = log_p - log_q
        weights[:, d] = log_q @ trials
    else:
        weights = np.empty((k, 2 * d + 1), dtype=features.dtype)
        weights[:, :d] = log_p
        weights[:, d : 2 * d] = log_q
    weights[:, -1] = 1.0
    return matmul_long(weights, features).T


def binomial_stats(heads, trials, resp, heads_T=None) -> dict:
    """Expected heads ``H = resp^T x`` and tosses ``T = resp^T n`` per component.

    ``resp`` already holds the sample weights. Fixed tosses per feature need
    no pass over the rows: ``T_kj = N_k n_j``. ``heads_T``: ``heads.T`` as a
    C-ordered array, if one is at hand (read along rows).
    """
    if trials.ndim == 1:
        tosses = np.outer(column_sums(resp), trials).astype(resp.dtype)
    else:
        tosses = matmul_long_nt(resp.T, trials.T)
    if heads_T is None:
        heads_T = heads.T
    return {"heads": matmul_long_nt(resp.T, heads_T), "tosses": tosses}


def effective_prob_floor(prob_floor: float, dtype) -> float:
    """The floor actually used: at least the machine epsilon of ``dtype``.

    Below it, ``1 - floor`` rounds to 1 (in float32 for the default 1e-10)
    and ``log(1 - p)`` would be ``-inf``.
    """
    return max(float(prob_floor), float(np.finfo(dtype).eps))


def binomial_probs(heads, tosses, floor: float):
    """Maximum-likelihood probabilities ``H / T``, kept in ``[floor, 1 - floor]``.

    ``10 * eps`` in the denominator (scikit-learn's rule) turns the ``0 / 0`` of
    an emptied component into 0, which the floor then raises.
    """
    tiny = 10 * np.finfo(tosses.dtype).eps
    return np.clip(heads / (tosses + tiny), floor, 1.0 - floor).astype(heads.dtype)


def _has_missing(heads, trials) -> bool:
    return bool(np.any(np.isnan(heads) | np.isnan(trials)))


def _first_bad_cell(bad):
    rows, cols = np.nonzero(bad)
    more = f" (and {len(rows) - 1} other such entries)" if len(rows) > 1 else ""
    return int(rows[0]), int(cols[0]), more


# ------------------------------------------------------------ estimator
class CoinMixture(BaseMixture):
    """Mixture of binomial counts fitted by EM: coins of unknown bias.

    Each row is a round of tosses of one of ``n_components`` coins, picked at
    random with probabilities ``weights_``; ``X`` holds the number of heads.
    EM estimates each coin's probability of heads (``probs_``) and how often
    each coin is picked, without knowing which coin made which round.
    Several features are several independent binomial counts per round (the
    coin of the round has one probability of heads per feature); with
    ``n_trials=1`` it is a mixture of multivariate Bernoulli distributions
    (latent class analysis).

    Parameters
    ----------
    n_components : int, default=1
        The number of coins (mixture components).
    n_trials : int, array-like of shape (n_features,), or 'from_X', default=1
        Tosses per round:

        - int: every count of every round is out of ``n_trials`` tosses;
        - array of positive ints: ``n_trials[j]`` tosses for feature ``j``;
        - ``'from_X'``: rounds have their own numbers of tosses, given in
          ``X`` itself: ``X = [heads | tosses]`` has ``2 * n_coins`` columns,
          column ``j + n_coins`` holding the tosses behind the heads of column
          ``j`` (e.g. ``np.column_stack([heads, tosses])``). Being part of
          ``X``, the tosses follow the rows through ``predict``, ``score``,
          pipelines and cross-validation splits.
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
        How the starting responsibilities are drawn (as in scikit-learn); the
        k-means methods cluster the proportions of heads ``heads / tosses``.
    weights_init : array-like of shape (n_components,), default=None
        User-given starting weights.
    probs_init : array-like of shape (n_components, n_coins), default=None
        User-given starting probabilities of heads, in [0, 1] (``n_coins`` is
        ``n_features``, or ``n_features // 2`` with ``n_trials='from_X'``).
    prob_floor : float, default=1e-10
        Probabilities of heads are kept in ``[prob_floor, 1 - prob_floor]``
        (with ``prob_floor`` raised to the machine epsilon of the data's
        dtype if smaller). A coin that showed only tails would otherwise get
        probability 0 of heads and a log-density of ``-inf`` for any later
        round with a head.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of :meth:`sample`.
    warm_start : bool, default=False
        If True, each :meth:`fit` after the first continues from the fitted
        parameters with a single run (``n_init`` is ignored). If
        ``n_components`` or the number of coins changed since, the fitted
        parameters cannot start the fit: it starts afresh, as without
        ``warm_start``, with a warning. (:meth:`partial_fit` then raises a
        ``ValueError``: call :meth:`fit`.)
    verbose : int, default=0
        1 prints each run and iteration, 2 also times and log-likelihoods.
    verbose_interval : int, default=10
        Iterations between two messages.
    assignment : {'soft', 'hard'}, default='soft'
        'soft' is EM. 'hard' is classification EM: each round is credited
        wholly to its likelier coin before each M-step. It maximises the
        classification likelihood, so its estimates are biased when the
        coins' counts overlap.
    fixed_params : set of str, default=None
        Parameter groups held at their initial values while the others are
        estimated: any of ``'weights'``, ``'probs'``. Give their values with
        ``weights_init`` or ``probs_init`` (e.g. ``fixed_params={'weights'}``,
        ``weights_init=[0.5, 0.5]`` for coins known to be picked equally
        often); fixed groups do not count in :meth:`bic` and :meth:`aic`.
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
        Probability of picking each coin.
    probs_ : ndarray of shape (n_components, n_coins)
        Probability of heads of each coin (per feature).
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
    PoissonMixture : Mixture of Poisson counts (no upper bound).
    GaussianMixtureEM : Mixture of Gaussians.

    Notes
    -----
    Heads must lie in ``[0, tosses]`` and be finite; non-integer values are
    accepted, with ``Gamma`` functions in the binomial coefficient. For integer
    counts the log-densities equal ``scipy.stats.binom.logpmf``.

    ``n_components`` may not exceed the number of distinct rows of ``X``
    (some coins could only be copies of others): :meth:`fit` raises a
    ``ValueError`` before any work. With as many coins as distinct rows each
    coin sits on one row. Sparse input raises a ``TypeError`` (call
    ``.toarray()``).

    :meth:`sample` draws rounds of ``n_trials`` tosses; it is not available
    with ``n_trials='from_X'``, where the model does not say how many tosses a
    round has.

    Examples
    --------
    Five rounds of 10 tosses, each made with one of two coins:

    >>> from emmix import CoinMixture
    >>> heads = [[5], [7], [8], [9], [4]]
    >>> coins = CoinMixture(n_components=2, n_trials=10, tol=1e-10, random_state=0)
    >>> coins = coins.fit(heads)
    >>> coins.probs_.round(3)
    array([[0.793],
           [0.514]])
    >>> coins.weights_.round(3)
    array([0.523, 0.477])
    >>> coins.predict([[2], [10]])
    array([1, 0])

    These are the maximum-likelihood estimates: a direct numerical
    maximisation of the mixture likelihood gives the same digits. Coins known
    to be picked equally often keep their weights fixed:

    >>> fair_pick = CoinMixture(
    ...     n_components=2,
    ...     n_trials=10,
    ...     weights_init=[0.5, 0.5],
    ...     fixed_params={"weights"},
    ...     tol=1e-10,
    ...     random_state=0,
    ... ).fit(heads)
    >>> fair_pick.probs_.round(3)
    array([[0.797],
           [0.52 ]])

    Rounds with different numbers of tosses give them as extra columns:

    >>> import numpy as np
    >>> X = np.column_stack([[5, 7, 8, 9, 4], [10, 10, 10, 10, 10]])
    >>> coins_from_X = CoinMixture(2, n_trials="from_X", tol=1e-10, random_state=0)
    >>> coins_from_X.fit(X).probs_.round(3)
    array([[0.793],
           [0.514]])
    """

    _parameter_constraints: dict = {
        "n_trials": [
            IntegerInterval(Integral, 1, None, closed="left"),
            "array-like",
            StrOptions({FROM_X}),
        ],
        "probs_init": ["array-like", None],
        "prob_floor": [Interval(Real, 0.0, 0.5, closed="neither")],
    }

    _parameter_groups = ("probs",)
    #: Counts mixtures estimate parameters people read: stop near the optimum
    #: (Aitken's rule, tol 1e-8 per sample) and get there by SQUAREM, which
    #: needs 10-20x fewer passes than plain EM when the components overlap
    #: (benchmarks/bench_squarem.py and the user guide's "When does EM stop?").
    _supports_missing = True
    _non_negative_data = True
    _family_name = "coin"

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_trials=1,
        probs_init=None,
        prob_floor: float = 1e-10,
        **params,
    ):
        super().__init__(n_components, **params)
        self.n_trials = n_trials
        self.probs_init = probs_init
        self.prob_floor = prob_floor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags

    # ------------------------------------------------------- trials and X
    def _trials_from_X(self) -> bool:
        return isinstance(self.n_trials, str)

    def _model_shape(self, n_features: int) -> dict:
        # With tosses in X, half the columns are coins; else all of them.
        n_coins = n_features // 2 if self._trials_from_X() else n_features
        return {**super()._model_shape(n_features), "n_coins": n_coins}

    def _trials_vector(self, n_coins: int, dtype) -> np.ndarray:
        """``n_trials`` as a validated array of shape (n_coins,)."""
        value = self.n_trials
        try:
            trials = np.array(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"n_trials must be an int, an array of ints or {FROM_X!r}; got "
                f"{value!r}."
            ) from exc
        if trials.ndim == 0:
            trials = np.full(n_coins, float(trials))
        if trials.shape != (n_coins,):
            raise ValueError(
                f"n_trials has shape {trials.shape} but X has {n_coins} "
                f"features: give one number of tosses per feature (shape "
                f"({n_coins},)) or a single int."
            )
        if not (np.all(np.isfinite(trials)) and np.all(trials >= 1)) or np.any(
            trials != np.round(trials)
        ):
            raise ValueError(
                f"n_trials must hold positive integers (numbers of tosses); got "
                f"{value!r}."
            )
        return trials.astype(dtype)

    def _split(self, X, cache=None):
        """``(heads, trials)``: trials of shape (n_coins,) or like ``heads``.

        ``cache`` is a chunk's E-step cache: the fixed tosses and whether the
        chunk has missing counts are then worked out once per fit (they depend
        on the rows alone), not on every pass.
        """
        if self._trials_from_X():
            n_coins = X.shape[1] // 2
            heads, trials = X[:, :n_coins], X[:, n_coins:]
        else:
            heads = X
            trials = memoized(
                cache, "trials", lambda: self._trials_vector(X.shape[1], X.dtype)
            )
        if memoized(cache, "complete", lambda: not _has_missing(heads, trials)):
            return heads, trials
        missing = np.isnan(heads) | np.isnan(trials)
        if missing.any():
            # A missing count is a round with no tosses: it adds nothing to
            # the likelihood or to the statistics.
            heads = np.where(missing, 0.0, heads).astype(X.dtype, copy=False)
            trials = np.where(missing, 0.0, trials).astype(X.dtype, copy=False)
        return heads, trials

    def _check_data(self, X_checked) -> None:
        names = estimator_feature_names(self)
        if self._trials_from_X() and X_checked.shape[1] % 2:
            raise ValueError(
                f"With n_trials={FROM_X!r}, X must be [heads | tosses]: an even "
                f"number of columns, the last half giving the tosses behind the "
                f"heads of the first half. Got {X_checked.shape[1]} columns. "
                "Append the tosses, e.g. np.column_stack([heads, tosses]), or set "
                "n_trials to the number of tosses of every round."
            )
        heads, trials = self._split(X_checked)
        too_many = heads > trials
        if too_many.any():
            i, j, more = _first_bad_cell(too_many)
            tosses = float(trials[i, j] if trials.ndim == 2 else trials[j])
            where = _describe_column(j, names)
            fix = (
                "Check the data, or raise n_trials (an int, or one per feature)."
                if not self._trials_from_X()
                else "Check the heads and tosses columns of that row."
            )
            value = float(heads[i, j])
            raise ValueError(
                f"Heads must lie in [0, tosses], but X[{i}, {j}] = {value!r} "
                f"heads at row {i}, {where} exceeds the {tosses!r} tosses of that "
                f"round{more}. {fix}"
            )
        # Heads <= tosses: the tosses are the largest counts in the sums.
        check_counts_representable(
            X_checked,
            name=type(self).__name__,
            names=names,
            n_trials=None if self._trials_from_X() else trials,
        )

    def _initial_params(self, X) -> dict:
        if self.probs_init is None:
            return {}
        k, dt = self.n_components, X.dtype
        n_coins = self._split(X)[0].shape[1]
        probs = check_array_shape(self.probs_init, (k, n_coins), "probs_init", dt)
        if np.any(probs < 0) or np.any(probs > 1):
            raise ValueError(
                "The parameter 'probs_init' holds probabilities of heads and "
                f"must lie in [0, 1], but got min {float(probs.min())!r}, max "
                f"{float(probs.max())!r}."
            )
        floor = effective_prob_floor(self.prob_floor, dt)
        return {"probs": np.clip(probs, floor, 1 - floor).astype(dt)}

    # ------------------------------------------------------------ the family
    def _init_features(self, X):
        # Cluster the proportions of heads, not the raw counts: rounds of
        # different lengths (or features with different n_trials) are then on
        # one scale. A round without tosses sits at the neutral 1/2.
        heads, trials = self._split(X)
        trials = np.broadcast_to(trials, heads.shape)
        return np.divide(heads, trials, out=np.full_like(heads, 0.5), where=trials > 0)

    def _features(self, heads, trials, cache):
        """:func:`binomial_features` of the chunk.

        The rows do not change between passes: kept in the fit-long memo
        when there is one, else in the chunk's cache (the log-densities and
        the statistics of one E-step share it).
        """
        return memoized(
            cache, "features", lambda: binomial_features(heads, trials), large=True
        )

    def _component_log_prob(self, X, params, cache=None):
        heads, trials = self._split(X, cache)
        # The features (the binomial coefficients among them) depend on the
        # rows only: once per chunk and fit.
        features = self._features(heads, trials, cache)
        return binomial_log_prob_features(features, trials, params["probs"])

    def _conditional_means(self, X, params, cache):
        # Independent counts within a component: a missing heads count's mean
        # is its probability times the tosses; with tosses in X ('from_X') a
        # missing tosses entry has no model and stays missing.
        n_coins = params["probs"].shape[1]
        if self._trials_from_X():
            trials = X[:, n_coins:]
            heads = params["probs"][np.newaxis] * trials[:, np.newaxis, :]
            tosses = np.repeat(trials[:, np.newaxis, :], self.n_components, axis=1)
            return np.concatenate([heads, tosses], axis=2)
        trials = self._trials_vector(n_coins, X.dtype)
        return np.broadcast_to(
            params["probs"] * trials, (X.shape[0], self.n_components, n_coins)
        )

    def _component_stats(self, X, resp, params, cache=None) -> dict:
        heads, trials = self._split(X, cache)
        # The heads along rows (x^T) from the features.
        features = self._features(heads, trials, cache)
        return binomial_stats(heads, trials, resp, heads_T=features[: heads.shape[1]])

    def _component_mstep(self, stats, params):
        floor = effective_prob_floor(self.prob_floor, stats["heads"].dtype)
        return {"probs": binomial_probs(stats["heads"], stats["tosses"], floor)}

    def _project_params(self, params):
        floor = effective_prob_floor(self.prob_floor, params["probs"].dtype)
        return {**params, "probs": np.clip(params["probs"], floor, 1.0 - floor)}

    def _sample_component(self, rng, params, k, n_samples):
        if self._trials_from_X():
            raise ValueError(
                f"sample() needs the number of tosses of a round, which the model "
                f"does not have with n_trials={FROM_X!r} (rounds bring their own). "
                "Fit with n_trials set to an int (or one per feature) to sample."
            )
        probs = params["probs"]
        n_coins = probs.shape[1]
        trials = self._trials_vector(n_coins, np.float64).astype(np.int64)
        return rng.binomial(trials, probs[k], size=(n_samples, n_coins))

    def _component_label(self, k: int) -> str:
        # The two-coin problem names its coins A, B, ...
        return f"coin {chr(ord('A') + k)}" if k < 26 else f"coin {k + 1}"

    def _describe_component(self, k: int) -> str:
        return (
            f"weight {float(self.weights_[k]):.3f}, "
            f"P(heads) {format_values(self.probs_[k])}"
        )

    #: What the count figure's axis counts.
    _count_kind = "heads"

    def _n_count_features(self) -> int:
        return int(np.shape(self.probs_)[1])

    def _count_marginal(self, X, feature: int):
        """Observed heads of one coin, and each component's expected frequency
        of each number of heads (rounds of different sizes count right)."""
        weights = np.asarray(self.weights_, dtype=np.float64)
        probs = np.asarray(self.probs_, dtype=np.float64)[:, feature]
        heads_all, trials_all = self._split(X)
        trials = np.broadcast_to(trials_all, heads_all.shape)[:, feature]
        heads = X[:, feature]
        values = np.arange(0, int(np.max(trials)) + 1)
        # Sum over rows of each row's pmf.
        pmf = binom.pmf(
            values[np.newaxis, np.newaxis],
            trials[np.newaxis, :, np.newaxis],
            probs[:, np.newaxis, np.newaxis],
        ).sum(axis=1)
        return values, heads, weights[:, np.newaxis] * pmf

    def _drawn_columns(self, features) -> list[int]:
        coin = int(features[0])
        # With n_trials='from_X' a coin's tosses are the column n_coins after it.
        if self._trials_from_X():
            return [coin, coin + self._n_count_features()]
        return [coin]

    def _plot_components(self, X, ax, features, names):
        from ..plotting import draw_count_components

        return draw_count_components(self, X, features[0], ax, names)
