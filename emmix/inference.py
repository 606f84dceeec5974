"""Uncertainty of fitted mixtures: standard errors, the bootstrap, tests for K.

Every tool here works on any emmix mixture (any family written on
:class:`emmix.base.BaseMixture`) through its parameter groups, with
``sample_weight`` read as frequency weights:

* :func:`standard_errors`: asymptotic standard errors from the observed
  information matrix (fast; trustworthy when the fit is at an interior
  optimum and ``n`` is large);
* :func:`bootstrap`: nonparametric (rows resampled) or parametric (data drawn
  from the fit) bootstrap distributions of the parameters, their standard
  errors and percentile intervals;
* :func:`bootstrap_lrt`: the parametric bootstrap likelihood-ratio test of
  ``K`` against ``K + 1`` components (McLachlan, 1987), whose statistic has
  no chi-squared null distribution.

See the "Uncertainty" page of the documentation for what each estimates and
when the asymptotic standard errors fail (near the boundary of the parameter
space, with few rows per component, or when components are barely
separated).
"""

from __future__ import annotations

import copy
import math
import warnings
from itertools import combinations
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._em import iter_chunks
from ._responsibilities import normalize_log_prob
from ._split import fit_from_split
from ._validation import check_sample_weight
from .base import BaseMixture

__all__ = [
    "BootstrapResult",
    "LikelihoodRatioTest",
    "bootstrap",
    "bootstrap_lrt",
    "standard_errors",
]

#: Refits inside the bootstrap stop near the optimum whatever the estimator's
#: own rule: a refit warm-started at the original optimum would otherwise stop
#: at once under a loose change rule, and the draws would be too narrow.
STRICT_TOL = 1e-8
STRICT_MAX_ITER = 1000

#: Relative step of the finite differences of the log-likelihood (about
#: eps ** (1/4), the best step for central second differences).
HESSIAN_STEP = 1e-4


# ------------------------------------------------------------ checks
def _check_mixture(estimator, name: str = "estimator") -> None:
    if not isinstance(estimator, BaseMixture):
        raise TypeError(
            f"{name} must be a fitted emmix mixture (a BaseMixture such as "
            f"GaussianMixtureEM or PoissonMixture), got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)


def _data(estimator, X, sample_weight):
    """Validated float64 data and weights, as the estimator sees them."""
    X_checked = estimator._validate_input(X, reset=False)
    return (
        np.asarray(X_checked, dtype=np.float64),
        check_sample_weight(sample_weight, X_checked).astype(np.float64),
    )


def _check_n_boot(n_boot, name="n_boot") -> int:
    if not isinstance(n_boot, Integral) or isinstance(n_boot, bool) or n_boot < 1:
        raise ValueError(f"{name} must be a positive integer, got {n_boot!r}.")
    return int(n_boot)


# ------------------------------------------------- free parametrisation
def _layout(estimator):
    """The free coordinates of the fitted parameters.

    Returns ``(params, blocks, theta)``: the fitted parameters (float64);
    for each estimated group, ``(group, key, start, stop, to_value)`` where
    ``theta[start:stop]`` are the group's free coordinates and ``to_value``
    maps them to the value of ``params[key]``; and the free coordinates of
    the fit, ``theta``. The mixing weights have
    ``K - 1`` free coordinates (the last weight is one minus the others);
    groups held by ``fixed_params`` have none.
    """
    params = {
        key: np.asarray(value, dtype=np.float64)
        for key, value in estimator._em_load().items()
    }
    fixed = estimator._em_fixed_groups()
    blocks, pieces, start = [], [], 0
    for group, keys in estimator._em_groups().items():
        if group in fixed:
            continue
        value = params[keys[0]]
        if group == "weights":
            theta = value[:-1].copy()

            def to_value(t):
                return np.append(t, 1.0 - t.sum())

        else:
            theta, to_value = estimator._free_parametrisation(group, value)
            theta = np.asarray(theta, dtype=np.float64).ravel()
        blocks.append((group, keys[0], start, start + theta.size, to_value))
        pieces.append(theta)
        start += theta.size
    theta = np.concatenate(pieces) if pieces else np.zeros(0)
    return params, blocks, theta


def _params_at(estimator, params, blocks, theta):
    """Valid parameters (derived keys included) at free coordinates ``theta``."""
    new = dict(params)
    for _, key, start, stop, to_value in blocks:
        new[key] = to_value(theta[start:stop])
    return estimator._em_project(new)


def _log_likelihood(estimator, X, sample_weight, params) -> float:
    """Total weighted log-likelihood of ``params`` (chunked, bounded memory)."""
    prepared = estimator._em_prepare(params)
    total = 0.0
    positive = sample_weight > 0
    for rows in iter_chunks(X.shape[0], estimator._em_row_bytes(X, prepared)):
        log_norm, _ = normalize_log_prob(
            estimator._weighted_log_prob(X[rows], prepared)
        )
        keep = positive[rows]
        total += float(np.dot(sample_weight[rows][keep], log_norm[keep]))
    return total


def _steps(theta, blocks):
    """Finite-difference steps: relative to each entry, floored by its group's scale."""
    steps = np.empty_like(theta)
    for _, _, start, stop, _ in blocks:
        part = np.abs(theta[start:stop])
        scale = 0.1 * float(part.max()) if part.size else 1.0
        steps[start:stop] = HESSIAN_STEP * np.maximum(part, max(scale, 1e-8))
    return steps


def _hessian(f, theta, steps):
    """Central second differences of ``f`` at ``theta`` (error O(h^2))."""
    p = theta.size
    f0 = f(theta)
    H = np.empty((p, p))
    e = [np.eye(p)[i] * steps[i] for i in range(p)]
    plus = [f(theta + e[i]) for i in range(p)]
    minus = [f(theta - e[i]) for i in range(p)]
    for i in range(p):
        H[i, i] = (plus[i] - 2.0 * f0 + minus[i]) / steps[i] ** 2
    for i, j in combinations(range(p), 2):
        value = (
            f(theta + e[i] + e[j])
            - f(theta + e[i] - e[j])
            - f(theta - e[i] + e[j])
            + f(theta - e[i] - e[j])
        ) / (4.0 * steps[i] * steps[j])
        H[i, j] = H[j, i] = value
    return H


def _jacobian(to_value, theta):
    """Jacobian of ``to_value`` (central differences; exact for linear maps)."""
    size = np.asarray(to_value(theta)).size
    J = np.empty((size, theta.size))
    for i in range(theta.size):
        h = HESSIAN_STEP * max(abs(theta[i]), 1.0)
        step = np.zeros_like(theta)
        step[i] = h
        J[:, i] = (
            np.asarray(to_value(theta + step)).ravel()
            - np.asarray(to_value(theta - step)).ravel()
        ) / (2.0 * h)
    return J


def _observed_information(estimator, X, sample_weight=None):
    """The observed information matrix in the free coordinates, and the layout.

    ``-H``, with ``H`` the Hessian of the total (weighted) log-likelihood at
    the fitted parameters, by central finite differences.
    """
    _check_mixture(estimator)
    X, sample_weight = _data(estimator, X, sample_weight)
    params, blocks, theta = _layout(estimator)

    def f(t):
        return _log_likelihood(
            estimator, X, sample_weight, _params_at(estimator, params, blocks, t)
        )

    H = _hessian(f, theta, _steps(theta, blocks))
    return -H, params, blocks, theta


def standard_errors(
    estimator, X: ArrayLike, sample_weight: ArrayLike | None = None
) -> dict[str, np.ndarray]:
    """Asymptotic standard errors of a fitted mixture's parameters.

    From the **observed information matrix** ``I = -H``, the negated Hessian
    of the (weighted) log-likelihood at the fitted parameters, taken by
    central finite differences in a free parametrisation built from the
    family's parameter groups: the mixing weights have ``K - 1`` free
    coordinates (the last is one minus the others), symmetric covariances
    their upper triangles, every other group all its entries
    (``_free_parametrisation``), and groups held by ``fixed_params`` none.
    The covariance of the free coordinates is ``I^{-1}``; the delta method
    ``J I^{-1} J^T`` (``J`` the Jacobian of each group's value in its free
    coordinates) brings it back to each attribute's shape.

    Why this method: it needs nothing from a family beyond its
    log-densities, so it works for every family, with missing values and
    sample weights alike; the observed (rather than expected) information is
    the one the data give, and is what Efron & Hinkley (1978) recommend. Its
    cost is about ``2 p^2`` passes over the data for ``p`` free parameters;
    for many parameters, or when asymptotics are doubtful, use
    :func:`bootstrap`.

    The fit should be at the optimum: fit with ``stopping="aitken"`` and a
    small ``tol`` (the default of the counts mixtures). Standard errors are
    only asymptotic: they fail near the boundary (a weight near 0, a rate
    near 0, a probability near 0 or 1, a nearly singular covariance), and
    when ``K`` exceeds the number of components the data support.

    Parameters
    ----------
    estimator : fitted BaseMixture
        Any emmix mixture.
    X : array-like of shape (n_samples, n_features)
        The data it was fitted on.
    sample_weight : array-like of shape (n_samples,), default=None
        The weights it was fitted with (frequency weights).

    Returns
    -------
    standard_errors : dict of str to ndarray
        From each parameter group's fitted attribute (``"weights_"``,
        ``"means_"``, ``"covariances_"``, ``"rates_"``, ``"probs_"``, ...) to
        an array of its shape. Held groups (``fixed_params``) get zeros.
        Entries whose variance comes out negative (the information is not
        positive definite) are NaN, with a warning.

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import PoissonMixture
    >>> from emmix.inference import standard_errors
    >>> X = np.random.RandomState(0).poisson(4.0, size=(400, 1))
    >>> pm = PoissonMixture(1).fit(X)
    >>> se = standard_errors(pm, X)
    >>> bool(np.isclose(se["rates_"][0, 0], np.sqrt(pm.rates_[0, 0] / 400), rtol=1e-4))
    True
    """
    if not getattr(estimator, "converged_", True):
        warnings.warn(
            "The estimator did not converge: standard errors are computed at "
            "parameters that are not the maximum-likelihood ones. Refit with a "
            "larger max_iter (and stopping='aitken').",
            ConvergenceWarning,
            stacklevel=2,
        )
    info, params, blocks, theta = _observed_information(estimator, X, sample_weight)
    cov = _invert_information(info)
    out = {}
    for _group, keys in estimator._em_groups().items():
        out[keys[0] + "_"] = np.zeros(np.shape(params[keys[0]]))
    for _, key, start, stop, to_value in blocks:
        J = _jacobian(to_value, theta[start:stop])
        variance = np.einsum("ij,jk,ik->i", J, cov[start:stop, start:stop], J)
        with np.errstate(invalid="ignore"):
            se = np.where(variance >= 0, np.sqrt(np.abs(variance)), np.nan)
        out[key + "_"] = se.reshape(np.shape(params[key]))
    return out


def _invert_information(info):
    """``inv(info)``, with a warning when it is not positive definite."""
    if info.size == 0:
        return info
    sym = 0.5 * (info + info.T)
    values = np.linalg.eigvalsh(sym)
    if not np.all(values > 0):
        warnings.warn(
            "The observed information matrix is not positive definite (smallest "
            f"eigenvalue {values.min():.3g}): the fit is not at a strict local "
            "maximum, or a parameter is on the boundary or not identified (a "
            "component too many, an empty component). Standard errors are "
            "unreliable; NaN where a variance came out negative. Consider "
            "bootstrap().",
            UserWarning,
            stacklevel=3,
        )
    return np.linalg.pinv(sym, hermitian=True)


# ------------------------------------------------------------ bootstrap
def _strict(estimator, max_iter=None):
    """A copy that refits near the optimum (see STRICT_TOL)."""
    est = copy.deepcopy(estimator)
    est.set_params(
        stopping="aitken",
        tol=min(float(estimator.tol), STRICT_TOL),
        max_iter=max(int(estimator.max_iter), STRICT_MAX_ITER),
    )
    return est


def _component_groups(estimator, X):
    """Keys of the groups whose first axis indexes the components.

    Found by invariance: permuting the components of the weights and of
    exactly these groups leaves the log-likelihood unchanged (a group shared
    by the components, such as a tied covariance, would change it).
    """
    params = {k: np.asarray(v) for k, v in estimator._em_load().items()}
    K = estimator.n_components
    groups = estimator._em_groups()
    candidates = [
        g
        for g, keys in groups.items()
        if g != "weights"
        and np.ndim(params[keys[0]]) >= 1
        and np.shape(params[keys[0]])[0] == K
    ]
    if K == 1:
        return [k for g in candidates for k in groups[g]]
    rows = X[: min(200, X.shape[0])]
    w = np.ones(rows.shape[0])
    base = _log_likelihood(estimator, rows, w, params)
    shift = np.roll(np.arange(K), 1)
    for size in range(len(candidates), -1, -1):
        for subset in combinations(candidates, size):
            keys = ["weights"] + [k for g in subset for k in groups[g]]
            permuted = {k: (v[shift] if k in keys else v) for k, v in params.items()}
            try:
                with np.errstate(all="ignore"):  # a shared group permuted
                    value = _log_likelihood(estimator, rows, w, permuted)
            except (ValueError, np.linalg.LinAlgError):
                continue
            if math.isclose(value, base, rel_tol=1e-9, abs_tol=1e-9):
                return [k for g in subset for k in groups[g]]
    return []


def _match(reference, replicate, keys, weights_key="weights"):
    """Permutation of the replicate's components closest to the reference's.

    Hungarian matching (``linear_sum_assignment``) on the squared distances
    between components, each parameter group scaled by its spread across the
    reference's components (floored by 1% of its mean square, so that a
    group whose components are alike, such as equal weights, does not drown
    the others).
    """
    K = reference[weights_key].shape[0]
    cost = np.zeros((K, K))
    for key in [weights_key, *keys]:
        ref = np.asarray(reference[key], dtype=np.float64).reshape(K, -1)
        rep = np.asarray(replicate[key], dtype=np.float64).reshape(K, -1)
        spread = float(np.sum((ref - ref.mean(axis=0)) ** 2)) / K
        scale = spread + 1e-2 * float(np.mean(ref**2)) * ref.shape[1] + 1e-300
        diff = ref[:, np.newaxis, :] - rep[np.newaxis, :, :]
        cost += np.sum(diff**2, axis=2) / scale
    _, order = linear_sum_assignment(cost)
    return order


def _resample_weights(rng, sample_weight):
    """Nonparametric bootstrap as multinomial counts on the rows.

    With integer weights (frequency weights; 1 by default) ``sum(w)`` rows
    are drawn, each row with probability ``w_i / sum(w)``: exactly resampling
    the expanded data. Other weights draw as many rows as have a positive
    weight and rescale the counts to keep the total weight.
    """
    total = float(sample_weight.sum())
    if np.all(sample_weight == np.round(sample_weight)):
        n_draws = round(total)
        scale = 1.0
    else:
        n_draws = int(np.count_nonzero(sample_weight))
        scale = total / n_draws
    counts = rng.multinomial(n_draws, sample_weight / total)
    return counts * scale


def _one_replicate(estimator, X, sample_weight, kind, seed, comp_keys):
    """One bootstrap refit; returns the fitted parameters matched (or None)."""
    rng = np.random.RandomState(seed)
    est = _strict(estimator)
    est.set_params(warm_start=True)
    est.lower_bound_ = -np.inf  # the old data's bound is no history here
    if kind == "nonparametric":
        weights = _resample_weights(rng, sample_weight)
        data = X
    else:
        n = round(float(sample_weight.sum()))
        sampler = copy.deepcopy(estimator)
        sampler.random_state = rng
        data, _ = sampler.sample(n)
        weights = None
    reference = estimator._em_load()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(data, sample_weight=weights)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None
    fitted = est._em_load()
    order = _match(reference, fitted, comp_keys)
    out = {}
    for key, value in fitted.items():
        value = np.asarray(value, dtype=np.float64)
        out[key] = value[order] if key in ("weights", *comp_keys) else value
    return out


class BootstrapResult:
    """Result of :func:`bootstrap`.

    Attributes
    ----------
    kind : {'nonparametric', 'parametric'}
    draws_ : dict of str to ndarray
        From each parameter group's fitted attribute (``"weights_"``, ...)
        to an array of shape ``(n_boot, *attribute.shape)``: one row per
        replicate, components matched to the original fit. Rows of failed
        refits are NaN.
    standard_errors_ : dict of str to ndarray
        The standard deviation over the replicates (ddof=1), per entry.
    n_failed_ : int
        Replicates whose refit raised an error (NaN rows).
    """

    def __init__(self, kind, draws, n_failed):
        self.kind = kind
        self.draws_ = draws
        self.n_failed_ = int(n_failed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.standard_errors_ = {
                key: np.nanstd(value, axis=0, ddof=1) for key, value in draws.items()
            }

    def confidence_intervals(self, level: float = 0.95) -> dict:
        """Percentile intervals of every parameter.

        Parameters
        ----------
        level : float, default=0.95
            Coverage, in (0, 1).

        Returns
        -------
        intervals : dict of str to tuple of ndarray
            From each attribute to ``(lower, upper)``, each of its shape.
        """
        if not (isinstance(level, float | int) and 0.0 < level < 1.0):
            raise ValueError(f"level must lie in (0, 1), got {level!r}.")
        alpha = (1.0 - level) / 2.0
        return {
            key: (
                np.nanquantile(value, alpha, axis=0),
                np.nanquantile(value, 1.0 - alpha, axis=0),
            )
            for key, value in self.draws_.items()
        }

    def __repr__(self) -> str:
        n = next(iter(self.draws_.values())).shape[0] if self.draws_ else 0
        return f"BootstrapResult(kind={self.kind!r}, n_boot={n})"


def bootstrap(
    estimator,
    X: ArrayLike,
    n_boot: int = 100,
    kind: str = "nonparametric",
    *,
    sample_weight: ArrayLike | None = None,
    random_state=None,
    n_jobs: int | None = None,
) -> BootstrapResult:
    """Bootstrap distribution of a fitted mixture's parameters.

    Each replicate refits the mixture on new data, starting from the
    original fit (a warm start, so that it finds the same optimum's
    neighbour rather than another local optimum), with Aitken's stopping
    rule and ``tol <= 1e-8``; its components are then matched to the
    original fit's by Hungarian matching on their parameters (label
    switching).

    Parameters
    ----------
    estimator : fitted BaseMixture
        Any emmix mixture.
    X : array-like of shape (n_samples, n_features)
        The data it was fitted on.
    n_boot : int, default=100
        Number of replicates.
    kind : {'nonparametric', 'parametric'}, default='nonparametric'
        'nonparametric' resamples the rows with replacement (as multinomial
        counts given to ``sample_weight``, so ``X`` is never copied);
        'parametric' draws ``n`` rows from the fitted mixture (its
        :meth:`sample`), which trusts the model and is the one to use with
        few rows.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights of the rows (as in the original fit).
    random_state : int, RandomState instance or None, default=None
        Seeds of the replicates (the result does not depend on ``n_jobs``).
    n_jobs : int, default=None
        Replicates run in parallel with joblib.

    Returns
    -------
    result : BootstrapResult
        ``draws_``, ``standard_errors_`` and ``confidence_intervals(level)``.

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import PoissonMixture
    >>> from emmix.inference import bootstrap
    >>> X = np.random.RandomState(0).poisson(4.0, size=(200, 1))
    >>> pm = PoissonMixture(1).fit(X)
    >>> result = bootstrap(pm, X, n_boot=20, random_state=0)
    >>> result.draws_["rates_"].shape
    (20, 1, 1)
    """
    _check_mixture(estimator)
    n_boot = _check_n_boot(n_boot)
    if kind not in ("nonparametric", "parametric"):
        raise ValueError(f"kind must be 'nonparametric' or 'parametric', got {kind!r}.")
    X_checked, weights = _data(estimator, X, sample_weight)
    rng = check_random_state(random_state)
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_boot)
    comp_keys = _component_groups(estimator, X_checked)
    results = Parallel(n_jobs=n_jobs)(
        delayed(_one_replicate)(estimator, X_checked, weights, kind, seed, comp_keys)
        for seed in seeds
    )
    groups = estimator._em_groups()
    reference = estimator._em_load()
    draws = {}
    for keys in groups.values():
        key = keys[0]
        shape = np.shape(reference[key])
        stack = np.full((n_boot, *shape), np.nan)
        for b, fitted in enumerate(results):
            if fitted is not None:
                stack[b] = fitted[key]
        draws[key + "_"] = stack
    n_failed = sum(r is None for r in results)
    if n_failed:
        warnings.warn(
            f"{n_failed} of {n_boot} bootstrap refits failed (their draws are "
            "NaN and left out of the standard errors and intervals).",
            UserWarning,
            stacklevel=2,
        )
    return BootstrapResult(kind, draws, n_failed)


# ------------------------------------------------- likelihood-ratio test
class LikelihoodRatioTest:
    """Result of :func:`bootstrap_lrt`.

    Attributes
    ----------
    n_components : tuple of int
        ``(k, k1)``: the null and the alternative numbers of components.
    statistic_ : float
        ``2 * (loglik(k1) - loglik(k))`` on the data (total, weighted; a
        negative value, which can only come from stopping short of the
        optima, is reported as 0).
    p_value_ : float
        ``(1 + #{boot >= statistic}) / (n_boot + 1)``.
    boot_statistics_ : ndarray of shape (n_boot,)
        The statistic on each data set drawn from the ``k`` fit (NaN where a
        refit failed).
    log_likelihoods_ : tuple of float
        Total log-likelihoods of the ``k`` and ``k1`` fits.
    estimators_ : tuple of estimator
        The ``k`` and ``k1`` fits on the data.
    """

    def __init__(self, n_components, statistic, boot, log_likelihoods, estimators):
        self.n_components = tuple(int(k) for k in n_components)
        # The k1 maximum is never below the k one: a negative difference is
        # the fits' convergence noise (|value| ~ n * tol), reported as 0.
        self.statistic_ = max(float(statistic), 0.0)
        self.boot_statistics_ = np.maximum(np.asarray(boot, dtype=np.float64), 0.0)
        valid = self.boot_statistics_[~np.isnan(self.boot_statistics_)]
        self.p_value_ = float(
            (1 + np.sum(valid >= self.statistic_ - 1e-9 * abs(self.statistic_)))
            / (valid.size + 1)
        )
        self.log_likelihoods_ = tuple(float(v) for v in log_likelihoods)
        self.estimators_ = estimators

    def __repr__(self) -> str:
        k, k1 = self.n_components
        return (
            f"LikelihoodRatioTest({k} vs {k1} components: statistic="
            f"{self.statistic_:.4g}, p_value={self.p_value_:.4g}, "
            f"n_boot={self.boot_statistics_.size})"
        )


def _total_loglik(model, X, sample_weight) -> float:
    return _log_likelihood(model, X, sample_weight, model._em_load())


def _fit_pair(estimator, X, sample_weight, k, k1, seed):
    """Fits with ``k`` and ``k1`` components; ``k1`` never below ``k``.

    The ``k1`` fit is the better of a fresh fit and fits grown from the
    ``k`` fit by splitting components (:mod:`emmix._split`).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        small = _strict(clone(estimator).set_params(n_components=k, random_state=seed))
        small.fit(X, sample_weight=sample_weight)
        big = _strict(clone(estimator).set_params(n_components=k1, random_state=seed))
        big.fit(X, sample_weight=sample_weight)
        best_big = _total_loglik(big, X, sample_weight)
        grown = small
        for _ in range(k1 - k):
            grown = fit_from_split(grown, X, sample_weight, random_state=seed)
            if grown is None:
                break
        if grown is not None:
            value = _total_loglik(grown, X, sample_weight)
            if value > best_big:
                big, best_big = grown, value
    return small, big, _total_loglik(small, X, sample_weight), best_big


def _boot_statistic(estimator, n, k, k1, seed):
    rng = np.random.RandomState(seed)
    sampler = copy.deepcopy(estimator)
    sampler.random_state = rng
    data, _ = sampler.sample(n)
    weights = np.ones(n)
    try:
        _, _, l0, l1 = _fit_pair(estimator, data, weights, k, k1, seed)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return np.nan
    return 2.0 * (l1 - l0)


def bootstrap_lrt(
    estimator,
    X: ArrayLike,
    n_components=None,
    n_boot: int = 99,
    *,
    sample_weight: ArrayLike | None = None,
    random_state=None,
    n_jobs: int | None = None,
) -> LikelihoodRatioTest:
    """Parametric bootstrap likelihood-ratio test of ``k`` against ``k1`` components.

    The statistic ``2 * (loglik(k1) - loglik(k))`` does not follow a
    chi-squared distribution under the null (the smaller model sits on the
    boundary of the larger one), so its null distribution is simulated
    (McLachlan, 1987; mclust's ``mclustBootstrapLRT``): ``n_boot`` data sets
    of ``n`` rows are drawn from the ``k``-component fit, both models are
    refitted on each, and the p-value is the share of simulated statistics at
    least as large as the observed one.

    Every fit is a clone of ``estimator`` with ``n_components`` set (its other
    settings kept; stopping near the optimum forced, see :func:`bootstrap`),
    and the ``k1`` fit is the better of a fresh fit and a fit grown from the
    ``k`` fit by splitting its largest component, so the statistic is never
    negative from a poor local optimum.

    Parameters
    ----------
    estimator : BaseMixture
        An emmix mixture (fitted or not: only its settings are used).
    X : array-like of shape (n_samples, n_features)
        Data.
    n_components : tuple of int, default=None
        ``(k, k1)`` with ``k1 > k``; default ``(K, K + 1)`` with ``K`` the
        estimator's ``n_components``.
    n_boot : int, default=99
        Number of simulated data sets.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights; simulated data sets have ``round(sum(w))`` rows.
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
        Simulations run in parallel with joblib.

    Returns
    -------
    test : LikelihoodRatioTest
        ``statistic_``, ``p_value_``, ``boot_statistics_``.

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import PoissonMixture
    >>> from emmix.inference import bootstrap_lrt
    >>> X = np.random.RandomState(0).poisson(4.0, size=(100, 1))
    >>> test = bootstrap_lrt(PoissonMixture(1), X, (1, 2), n_boot=9, random_state=0)
    >>> test.p_value_ > 0.05
    True
    """
    if not isinstance(estimator, BaseMixture):
        raise TypeError(
            "estimator must be an emmix mixture (a BaseMixture), got "
            f"{type(estimator).__name__}."
        )
    n_boot = _check_n_boot(n_boot)
    if n_components is None:
        n_components = (estimator.n_components, estimator.n_components + 1)
    try:
        k, k1 = (int(v) for v in n_components)
    except (TypeError, ValueError):
        raise ValueError(
            f"n_components must be a pair (k, k1) of integers, got {n_components!r}."
        ) from None
    if not 1 <= k < k1:
        raise ValueError(f"n_components must satisfy 1 <= k < k1, got ({k}, {k1}).")
    rng = check_random_state(random_state)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    probe = clone(estimator).set_params(n_components=k)
    X_checked = probe._validate_input(X, reset=True)
    X_checked = np.asarray(X_checked, dtype=np.float64)
    weights = check_sample_weight(sample_weight, X_checked).astype(np.float64)
    small, big, l0, l1 = _fit_pair(estimator, X_checked, weights, k, k1, seed)
    statistic = 2.0 * (l1 - l0)
    n = round(float(weights.sum()))
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_boot)
    boot = Parallel(n_jobs=n_jobs)(
        delayed(_boot_statistic)(small, n, k, k1, int(s)) for s in seeds
    )
    return LikelihoodRatioTest((k, k1), statistic, boot, (l0, l1), (small, big))
