"""StudentTMixture: robust clustering with multivariate t components.

Component ``k`` is a multivariate t distribution with location ``mu_k``, scale
matrix ``Sigma_k`` (structured by ``covariance_type`` as for
:class:`~emmix.GaussianMixtureEM`) and degrees of freedom ``nu_k``. EM treats
each row as Gaussian with covariance ``Sigma_k / u`` given a latent scale
``u ~ Gamma(nu_k / 2, rate nu_k / 2)`` (McLachlan & Peel 2000, ch. 7):

* E-step: responsibilities ``r_ik`` as usual, and with the Mahalanobis
  distance ``delta_ik = (x_i - mu_k)^T Sigma_k^{-1} (x_i - mu_k)``

  - ``u_ik = E[u | x_i, k] = (nu_k + d) / (nu_k + delta_ik)``,
  - ``E[log u | x_i, k] = log u_ik + psi((nu_k + d) / 2) - log((nu_k + d) / 2)``;

  the statistics are the sums over rows ``N_k = sum_i r_ik`` (added by the base
  class), ``U_k = sum_i r_ik u_ik``, ``S1_k = sum_i r_ik u_ik x_i``, the second
  moments ``sum_i r_ik u_ik x_i x_i^T`` (reduced per covariance type, both
  taken around the Gaussian's centring point for numerical safety) and
  ``L_k = sum_i r_ik (E[log u | x_i, k] - u_ik + 1)``.
* M-step: ``mu_k = S1_k / U_k``,
  ``Sigma_k = sum_i r_ik u_ik (x_i - mu_k)(x_i - mu_k)^T / N_k`` (plus
  ``reg_covar``), and ``nu_k`` the root of
  ``log(nu / 2) - psi(nu / 2) + L_k / N_k = 0`` (``scipy.optimize.brentq``;
  pooled over components for a shared ``nu``). This is the exact maximiser of
  the expected complete-data log-likelihood, so the log-likelihood never
  decreases.

The ``psi((nu_k + d) / 2)`` term of ``E[log u]`` depends on the parameters
entering the E-step only, so it is part of each row's expected statistic: the
sums stay plain sums over rows (chunked, weighted, summed across Dask blocks
and averaged over batches by ``partial_fit`` like any other), and the M-step
needs no parameter of the previous iteration. ``L_k`` carries the ``+ 1`` of
the usual equation ``-psi(nu/2) + log(nu/2) + 1 + (1/N_k) sum r (E log u - u)``
so that its summands, ``log1p(t) - t`` with ``t = u - 1 = (d - delta) /
(nu + delta)``, keep their digits when ``u`` is near 1 (large ``nu``).

The covariance maths (Cholesky factors of precisions, log-determinants,
Mahalanobis distances, second moments and M-steps per covariance type) is the
Gaussian family's, imported from :mod:`emmix.mixture._gaussian`: the t's
statistics are the Gaussian's with the weights ``r_ik u_ik``.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import digamma, gammaln
from sklearn.utils._param_validation import Interval, StrOptions

from .._accel import project_psd
from .._conditional_gaussian import missing_patterns
from .._responsibilities import column_sums
from .._validation import (
    check_array_shape,
    fill_column_means,
)
from ..base import (
    BaseMixture,
    chunked_stats,
    format_values,
    memoized,
    mixture_weights,
    normalize_log_prob,
)
from ._gaussian import (
    COVARIANCE_TYPES,
    PRECISION_CHOLESKY,
    _check_precisions_init,
    _log_det_chol,
    _mixture_mean,
    check_gaussian_scale,
    covariances_from_precisions,
    gaussian_mstep,
    gaussian_stats,
    log_gaussian_prob_prepared,
    precision_cholesky_from_precisions,
    precisions_from_cholesky,
    prepare_log_gaussian_prob,
    symmetric_parametrisation,
)
from ._gaussian_missing import missing_log_prob, missing_stats

__all__ = ["StudentTMixture"]

#: How the degrees of freedom are estimated (besides a fixed positive float).
DOF_OPTIONS = ("per_component", "shared")
#: Rows (at most) on which the start's degrees of freedom are profiled.
DOF_START_ROWS = 10_000
#: Range of the estimated degrees of freedom. Above the upper end a t
#: component is a Gaussian for every practical purpose (``nu`` would otherwise
#: creep towards infinity on Gaussian data); the lower end keeps a component
#: that sits on a few points from an infinite ``Gamma(nu / 2)``.
DOF_BOUNDS = (1e-3, 1e6)
#: Above this argument the series below replace ``gammaln`` and ``digamma``
#: differences, which lose digits to cancellation.
_SERIES_FROM = 100.0


# ------------------------------------------------------------- pure maths
def log_gamma_ratio(y, a: float):
    """``log Gamma(y + a) - log Gamma(y) - a log y``, accurate for large ``y``.

    Tends to 0 as ``y`` grows (like ``a (a - 1) / (2 y)``); the direct
    difference of ``gammaln`` values of size ``y log y`` would lose about
    ``eps * y log y`` to cancellation, so large ``y`` use Stirling's series.
    """
    y = np.asarray(y, dtype=np.float64)
    out = np.empty_like(y)
    small = y <= _SERIES_FROM
    ys = y[small]
    out[small] = gammaln(ys + a) - gammaln(ys) - a * np.log(ys)
    yb = y[~small]
    z = yb + a
    out[~small] = (
        (z - 0.5) * np.log1p(a / yb)
        - a
        + (1.0 / z - 1.0 / yb) / 12.0
        - (z**-3 - yb**-3) / 360.0
        + (z**-5 - yb**-5) / 1260.0
    )
    return out


def log_minus_digamma(y):
    """``log y - psi(y)`` (positive, about ``1 / (2 y)`` for large ``y``)."""
    y = np.asarray(y, dtype=np.float64)
    out = np.empty_like(y)
    small = y <= _SERIES_FROM
    out[small] = np.log(y[small]) - digamma(y[small])
    yb = y[~small]
    out[~small] = (
        0.5 / yb + 1.0 / (12.0 * yb**2) - 1.0 / (120.0 * yb**4) + 1.0 / (252.0 * yb**6)
    )
    return out


def t_log_constant(dofs, prec_chol, covariance_type, n_features: int):
    """Normalising constant of each t component's log-density.

    ``log Gamma((nu + d) / 2) - log Gamma(nu / 2) - (d / 2) log(nu pi)
    + log det L``, written as :func:`log_gamma_ratio` so that it tends to the
    Gaussian's constant as ``nu`` grows.
    """
    return (
        log_gamma_ratio(0.5 * dofs, 0.5 * n_features)
        - 0.5 * n_features * math.log(2.0 * math.pi)
        + _log_det_chol(prec_chol, covariance_type, n_features)
    )


def prepare_mahalanobis(means, prec_chol, covariance_type, shift):
    """The Gaussian family's prepared constants, normalised to give ``-delta / 2``.

    :func:`prepare_log_gaussian_prob` adds its normalising constant and
    ``log_weights`` to the log-densities; passing minus that constant as the
    weights leaves exactly ``-(x - mu)^T P (x - mu) / 2``.
    """
    n_components, n_features = means.shape
    constant = -0.5 * n_features * math.log(2 * math.pi) + _log_det_chol(
        prec_chol, covariance_type, n_features
    )
    constant = np.broadcast_to(constant, (n_components,)).astype(means.dtype)
    return prepare_log_gaussian_prob(
        means, prec_chol, covariance_type, shift, log_weights=-constant
    )


def mahalanobis_prepared(X, consts, covariance_type, cache=None):
    """Squared Mahalanobis distances ``delta_ik``, shape (n_samples, K)."""
    half = log_gaussian_prob_prepared(X, consts, covariance_type, cache=cache)
    # Rounding can leave a row at a mean a hair below zero.
    return np.maximum(-2.0 * half, 0.0, out=half)


def t_log_prob(delta, dofs, log_constant, n_features: int):
    """``log p(x | k)`` from the Mahalanobis distances (shape (n, K))."""
    dofs = dofs.astype(delta.dtype, copy=False)
    scale = (0.5 * (dofs + n_features)).astype(delta.dtype)
    log_prob = delta / dofs
    np.log1p(log_prob, out=log_prob)  # in place: no second (n, K) temporary
    log_prob *= -scale
    log_prob += log_constant.astype(delta.dtype)
    return log_prob


def t_stats(X, resp, delta, dofs, shift, covariance_type, cache=None):
    """Expected sufficient statistics of one chunk (``nk`` excluded).

    ``resp`` holds the responsibilities times the sample weights and
    ``delta`` the Mahalanobis distances under the parameters of the E-step;
    ``delta=None`` means ``u = 1`` (the start, where there is no ``nu`` yet).
    """
    if delta is None:
        weighted = resp
        log_u = np.zeros(resp.shape[1], dtype=resp.dtype)
    else:
        d = X.shape[1]
        dofs = dofs.astype(delta.dtype, copy=False)
        # The same operations as ``t = (d - delta) / (dofs + delta)``,
        # ``weighted = resp * (1 + t)`` and ``log1p(t) - t``, in place: three
        # (n, K) arrays instead of seven.
        t = d - delta
        weighted = dofs + delta
        t /= weighted  # u - 1, exactly
        np.add(t, 1.0, out=weighted)
        weighted *= resp
        # E[log u] - u + 1 = log u - (u - 1) - (log(z) - psi(z)), z = (nu + d)/2
        row_term = np.log1p(t)
        row_term -= t
        row_term -= log_minus_digamma(0.5 * (dofs + d)).astype(delta.dtype)
        log_u = np.einsum("nk,nk->k", resp, row_term)
    stats = gaussian_stats(X, weighted, shift, covariance_type, cache=cache)
    stats["su"] = column_sums(weighted)
    stats["log_u"] = log_u
    return stats


def t_scale_mstep(stats, shift, reg_covar, covariance_type, held_means=None):
    """Locations and scale matrices from summed statistics (``nk`` included).

    The Gaussian M-step on the ``u``-weighted statistics gives the location
    ``S1 / U`` and the scatter divided by ``U``; the t's scale divides the
    scatter by ``N`` instead, so it is rescaled by ``U / N`` before
    ``reg_covar`` is added.
    """
    eps = 10 * np.finfo(stats["nk"].dtype).eps
    weighted = {"nk": stats["su"], "s1": stats["s1"], "s2": stats["s2"]}
    means, scatter = gaussian_mstep(
        weighted, shift, 0.0, covariance_type, held_means=held_means
    )
    su, nk = stats["su"] + eps, stats["nk"] + eps
    if covariance_type == "tied":
        covariances = scatter * (np.sum(su) / np.sum(nk))
        covariances.flat[:: covariances.shape[0] + 1] += reg_covar
        return means, covariances
    ratio = su / nk
    if covariance_type == "full":
        d = scatter.shape[1]
        covariances = scatter * ratio[:, np.newaxis, np.newaxis]
        covariances[:, np.arange(d), np.arange(d)] += reg_covar
    elif covariance_type == "diag":
        covariances = scatter * ratio[:, np.newaxis] + reg_covar
    else:
        covariances = scatter * ratio + reg_covar
    return means, covariances


def dof_mstep(log_u, nk, shared: bool, bounds=DOF_BOUNDS):
    """Degrees of freedom maximising the expected complete-data log-likelihood.

    Solves ``log(nu / 2) - psi(nu / 2) + L_k / N_k = 0`` for each component
    (for the pooled ``L`` and ``N`` if ``shared``). The left side decreases
    from ``+inf`` to ``L_k / N_k <= 0``; when it stays non-negative on
    ``bounds`` (``u`` all 1: Gaussian data) the upper bound is returned.
    Components with no responsibility mass get NaN (the caller keeps their
    previous value).
    """
    log_u = np.asarray(log_u, dtype=np.float64)
    nk = np.asarray(nk, dtype=np.float64)
    if shared:
        log_u, nk = np.array([log_u.sum()]), np.array([nk.sum()])
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    out = np.full(nk.shape, np.nan)
    for k, (total, mass) in enumerate(zip(log_u, nk, strict=True)):
        if not mass > 1e3 * np.finfo(np.float64).tiny:
            continue
        mean = total / mass

        def score(log_nu, mean=mean):
            return float(log_minus_digamma(0.5 * np.exp(log_nu))) + mean

        if score(hi) >= 0.0:
            out[k] = bounds[1]
        elif score(lo) <= 0.0:
            out[k] = bounds[0]
        else:
            out[k] = np.exp(brentq(score, lo, hi, xtol=1e-13, rtol=1e-15))
    return out


def distinct_patterns(mask):
    """The distinct rows of a missingness mask, for :func:`t_missing_log_prob`.

    Returns
    -------
    masks : ndarray of shape (n_patterns, n_features), dtype bool
        Each distinct pattern once.
    inverse : ndarray of shape (n_samples,)
        The pattern of each row: ``masks[inverse] == mask``.
    patterns : MissingPatterns
        :func:`~emmix._conditional_gaussian.missing_patterns` of ``masks``.
    """
    masks, inverse = np.unique(mask, axis=0, return_inverse=True)
    return masks, inverse.ravel(), missing_patterns(masks)


def t_missing_log_prob(
    X,
    mask,
    means,
    covariances,
    prec_chol,
    dofs,
    covariance_type,
    patterns,
    distinct=None,
):
    """Log-densities of the observed part of rows with missing entries.

    The observed block of a t row is t with the same ``nu``, dimension
    ``p_o`` and the observed blocks of location and scale. The Gaussian
    family's kernel gives ``log N(x_o; mu_o, S_oo)``; the same kernel at
    ``x_o = mu_o`` (zeros against zero locations) gives its normalising part
    ``-(p_o log(2 pi) + log|S_oo|) / 2``, and their difference the distance
    ``delta_o``. The normalising part depends on a row's pattern alone, so
    the kernel computes it on one row of zeros per distinct pattern
    (``distinct``, :func:`distinct_patterns` of ``mask``; found if None).

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
    delta : ndarray of shape (n_samples, n_components)
        Mahalanobis distances of the observed blocks.
    n_observed : ndarray of shape (n_samples,)
        ``p_o`` of each row.
    fill : dict
        The Gaussian kernel's conditional fill (for :func:`t_missing_stats`).
    """
    gauss, fill = missing_log_prob(
        X, mask, means, covariances, prec_chol, covariance_type, patterns=patterns
    )
    if distinct is None:
        distinct = distinct_patterns(mask)
    masks, inverse, distinct_groups = distinct
    zeros = np.where(masks, np.nan, 0.0).astype(X.dtype)
    normaliser, _ = missing_log_prob(
        zeros,
        masks,
        np.zeros_like(means),
        covariances,
        prec_chol,
        covariance_type,
        patterns=distinct_groups,
    )
    normaliser = normaliser[inverse]
    delta = np.maximum(-2.0 * (gauss - normaliser), 0.0)
    n_observed = np.sum(~mask, axis=1)
    dofs = dofs.astype(X.dtype, copy=False)
    ratio = np.stack(
        [log_gamma_ratio(0.5 * dofs, 0.5 * p) for p in range(X.shape[1] + 1)]
    ).astype(X.dtype)  # (d + 1, K): lgamma((nu + p)/2) - lgamma(nu/2) - p/2 log(nu/2)
    half = (0.5 * (dofs + n_observed[:, np.newaxis])).astype(X.dtype)
    log_prob = ratio[n_observed] + normaliser - half * np.log1p(delta / dofs)
    return log_prob, delta, n_observed, fill


def t_missing_stats(resp, delta, n_observed, dofs, fill, shift, covariance_type):
    """Expected sufficient statistics of rows with missing entries.

    Given ``u`` and the component, the missing block is normal with the
    Gaussian's conditional mean ``xhat`` and covariance ``C / u``, so
    ``E[u x] = u_ik xhat`` and ``E[u x x^T] = u_ik xhat xhat^T + C``: the
    Gaussian kernel's statistics with the weights ``r u`` count ``C`` with
    ``r u``, and a second call (rows at the shift, weights ``r (1 - u)``)
    brings it back to ``r``. ``u`` and ``E[log u]`` use the observed
    dimension ``p_o``.
    """
    dofs = dofs.astype(delta.dtype, copy=False)
    p_o = n_observed[:, np.newaxis].astype(delta.dtype)
    t = (p_o - delta) / (dofs + delta)  # u - 1
    weighted = resp * (1.0 + t)
    stats = missing_stats(weighted, fill, shift, covariance_type)
    at_shift = {**fill, "xhat": np.broadcast_to(shift, fill["xhat"].shape)}
    extra = missing_stats(-resp * t, at_shift, shift, covariance_type)
    stats["s2"] = stats["s2"] + extra["s2"]
    row_term = np.log1p(t) - t
    row_term -= log_minus_digamma(0.5 * (dofs + p_o)).astype(delta.dtype)
    stats["su"] = column_sums(weighted)
    stats["log_u"] = np.einsum("nk,nk->k", resp, row_term)
    return stats


def profile_dofs(delta, resp, n_features: int, shared: bool, bounds=DOF_BOUNDS):
    """Starting degrees of freedom from the start's Mahalanobis distances.

    EM moves ``nu`` slowly (the likelihood is flat in ``nu`` where it is
    large), so a fixed start such as ``teigen``'s 50 leaves a fit with the
    default ``tol`` nearly Gaussian after a few iterations. Instead, for each
    component, the ``resp``-weighted t log-likelihood of the distances
    ``delta`` (taken under the start's Gaussian covariance ``C``) is
    maximised over ``nu`` and a scale factor ``c`` (scale matrix ``c C``):

    ``sum_i r_i [log_gamma_ratio(nu/2, d/2) - (d/2) log c
    - ((nu + d)/2) log(1 + delta_i / (c nu))]``.

    ``shared`` gives one ``nu``: the mass-weighted geometric mean.
    """
    d = n_features
    delta = np.asarray(delta, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    nus = np.full(resp.shape[1], np.nan)
    for k in range(resp.shape[1]):
        r, dist = resp[:, k], delta[:, k]
        mass = r.sum()
        if not mass > 0:
            continue

        def negative(theta, r=r, dist=dist, mass=mass):
            log_c, log_nu = theta
            nu = np.exp(log_nu)
            scaled = dist * np.exp(-log_c) / nu
            value = mass * (
                float(log_gamma_ratio(0.5 * nu, 0.5 * d)) - 0.5 * d * log_c
            ) - 0.5 * (nu + d) * (r @ np.log1p(scaled))
            return -value / mass

        found = minimize(
            negative,
            x0=[0.0, np.log(10.0)],
            method="L-BFGS-B",
            bounds=[(-30.0, 30.0), (lo, hi)],
        )
        nus[k] = np.exp(found.x[1])
    if shared:
        mass = resp.sum(axis=0)
        ok = np.isfinite(nus)
        nus[:] = np.exp(np.average(np.log(nus[ok]), weights=mass[ok]))
    return np.where(np.isfinite(nus), nus, 10.0)


def covariance_n_parameters(covariance_type: str, n_components: int, n_features: int):
    """Free parameters of the scale matrices, as scikit-learn counts them."""
    k, d = n_components, n_features
    return {
        "full": k * d * (d + 1) // 2,
        "diag": k * d,
        "tied": d * (d + 1) // 2,
        "spherical": k,
    }[covariance_type]


# ------------------------------------------------------------ estimator
class StudentTMixture(BaseMixture):
    """Mixture of multivariate t distributions fitted by EM: robust clustering.

    Each component is a multivariate t distribution with location
    ``means_[k]``, scale matrix ``covariances_[k]`` and degrees of freedom
    ``dofs_[k]``. Its heavy tails give far-out rows a small weight ``u`` in
    the M-step, so outliers pull the locations and scales much less than they
    pull a Gaussian mixture's (McLachlan & Peel 2000, ch. 7; R's ``teigen``).
    As ``nu`` grows a component becomes a Gaussian with covariance
    ``Sigma``; for ``nu > 2`` its covariance is ``nu / (nu - 2) Sigma``.

    Parameters, methods and fitted attributes follow
    :class:`GaussianMixtureEM`, plus the degrees of freedom.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Structure of the scale matrices, as for :class:`GaussianMixtureEM`.
    dof : {'per_component', 'shared'} or float, default='per_component'
        Degrees of freedom: estimated for each component, estimated once for
        all components, or a positive float held fixed (a large value such
        as ``1e6`` gives a Gaussian mixture). Estimates stay within
        ``[1e-3, 1e6]``.
    tol : float, default=1e-8
        Convergence threshold on the mean log-likelihood per sample: by
        default on Aitken's estimate of its distance to the optimum (see
        ``stopping``).
    reg_covar : float, default=1e-6
        Non-negative amount added to the diagonal of the scale matrices.
    max_iter : int, default=1000
        Maximum number of EM iterations (passes over the data) per run.
    n_init : int, default=1
        Number of runs from different starts; the best is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='kmeans'
        How the starting responsibilities are drawn (as in scikit-learn).
    weights_init : array-like of shape (n_components,), default=None
        User-given starting weights.
    means_init : array-like of shape (n_components, n_features), default=None
        User-given starting locations.
    precisions_init : array-like, default=None
        User-given starting inverse scale matrices, shaped as for
        :class:`GaussianMixtureEM`.
    dofs_init : array-like of shape (n_components,), default=None
        User-given starting degrees of freedom (positive; all equal with
        ``dof='shared'``; not allowed with a fixed float ``dof``). Without
        it each component's start maximises the likelihood of its starting
        rows over ``nu`` and a scale factor (EM moves ``nu`` slowly, so a
        fixed start would stop near it).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of :meth:`sample`.
    warm_start : bool, default=False
        If True, each :meth:`fit` after the first continues from the fitted
        parameters with a single run.
    verbose : int, default=0
        1 prints each run and iteration, 2 also times and log-likelihoods.
    verbose_interval : int, default=10
        Iterations between two messages.
    assignment : {'soft', 'hard'}, default='soft'
        'soft' is EM; 'hard' is classification EM.
    fixed_params : set of str, default=None
        Parameter groups held at their initial values: any of ``'weights'``,
        ``'means'``, ``'covariances'``, ``'dofs'``.
    accelerate : {None, 'squarem'}, default='squarem'
        None runs plain EM; 'squarem' accelerates it (see
        :class:`GaussianMixtureEM`): worth it here, as EM crawls in ``nu``.
    stopping : {'aitken', 'change'}, default='aitken'
        The stopping rule: Aitken's estimate of the distance to the optimum
        of the log-likelihood below ``tol``, or scikit-learn's rule (the last
        change below ``tol``). See the user guide's "When does EM stop?".
    learning_decay : float, default=0.7
        Exponent of the step size of :meth:`partial_fit`.
    learning_offset : float, default=10.0
        Offset of the step size of :meth:`partial_fit`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component locations (the means where ``nu > 1``).
    covariances_ : ndarray
        Component scale matrices (shape by ``covariance_type``).
    precisions_ : ndarray
        Inverses of the scale matrices.
    precisions_cholesky_ : ndarray
        Upper-triangular Cholesky factors of the precisions.
    dofs_ : ndarray of shape (n_components,)
        Degrees of freedom of each component (all equal unless
        ``dof='per_component'``).
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
    The M-step of ``nu`` maximises the expected complete-data log-likelihood
    given the E-step's ``u`` (an exact EM step, not ECM's approximation), so
    the log-likelihood never decreases. A float ``dof`` is a constant of the
    model rather than a parameter group (it cannot be named in
    ``fixed_params``, and counts no parameter in :meth:`bic`).

    EM moves ``nu`` slowly where the likelihood is flat in it, which is why
    the start profiles ``nu`` on the data, and the defaults stop near the
    optimum (``stopping="aitken"``, ``tol=1e-8``) with SQUAREM. A component
    heading for a Gaussian (``nu`` towards the upper bound) is the slowest.

    Missing values (NaN) are integrated out, as by :class:`GaussianMixtureEM`:
    a row's observed block is t with the same ``nu`` in its own dimension, and
    given ``u`` its missing block is normal with the Gaussian's conditional
    mean and covariance ``C / u``, so ``E[u x x^T]`` adds ``C`` (not
    ``u C``) to the second moment. :meth:`impute` fills with the conditional
    means.

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import StudentTMixture
    >>> rng = np.random.RandomState(0)
    >>> X = np.vstack([rng.standard_t(3, size=(200, 2)),
    ...                rng.standard_t(3, size=(200, 2)) + 10])
    >>> tm = StudentTMixture(n_components=2, random_state=0).fit(X)
    >>> tm.means_.round(1)
    array([[10. , 10.1],
           [-0. , -0.1]])
    >>> tm.predict([[0, 0], [12, 9]])
    array([1, 0])
    """

    _parameter_constraints: dict = {
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "dof": [
            StrOptions(set(DOF_OPTIONS)),
            Interval(Real, 0.0, None, closed="neither"),
        ],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "dofs_init": ["array-like", None],
    }

    _parameter_groups = {
        "means": ("means",),
        "covariances": ("covariances", "precisions_cholesky"),
        "dofs": ("dofs",),
    }
    _supports_missing = True
    _family_name = "Student t"

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        dof="per_component",
        reg_covar: float = 1e-6,
        means_init=None,
        precisions_init=None,
        dofs_init=None,
        **params,
    ):
        super().__init__(n_components, **params)
        self.covariance_type = covariance_type
        self.dof = dof
        self.reg_covar = reg_covar
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.dofs_init = dofs_init

    # ------------------------------------------------------------ checks
    def _fixed_dof(self) -> float | None:
        return None if isinstance(self.dof, str) else float(self.dof)

    def _em_groups(self):
        groups = super()._em_groups()
        if self._fixed_dof() is not None:
            # A float ``dof`` is a constant of the model, not a parameter
            # group: nothing of it is estimated, held or extrapolated (and
            # check_em_family wants every group to have free parameters).
            del groups["dofs"]
        return groups

    def _dofs(self, params):
        """The degrees of freedom of ``params``, or the fixed ``dof``."""
        if "dofs" in params:
            return params["dofs"]
        dtype = params["means"].dtype
        return np.full(self.n_components, self._fixed_dof(), dtype=dtype)

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

    def _check_dofs_init(self, dtype):
        k = self.n_components
        if self._fixed_dof() is not None:
            raise ValueError(
                f"dofs_init={self.dofs_init!r} is given, but dof={self.dof!r} "
                "fixes the degrees of freedom: give one or the other."
            )
        dofs = check_array_shape(self.dofs_init, (k,), "dofs_init", dtype)
        if np.any(dofs <= 0.0):
            j = int(np.argwhere(dofs <= 0.0)[0][0])
            raise ValueError(
                f"The parameter 'dofs_init' must be positive: dofs_init[{j}] = "
                f"{float(dofs[j])!r} for component {j}."
            )
        if self.dof == "shared" and np.any(dofs != dofs[0]):
            raise ValueError(
                f"dof='shared' needs one value for all components, but "
                f"dofs_init={dofs.tolist()!r} has different ones."
            )
        return dofs

    def _initial_params(self, X):
        k, d, dt = self.n_components, X.shape[1], X.dtype
        arrays = {}
        if self.means_init is not None:
            arrays["means"] = check_array_shape(
                self.means_init, (k, d), "means_init", dt
            )
        if self.precisions_init is not None:
            precisions = _check_precisions_init(
                self.precisions_init, self.covariance_type, k, d, dt
            )
            arrays["covariances"] = covariances_from_precisions(
                precisions, self.covariance_type
            )
            arrays["precisions_cholesky"] = precision_cholesky_from_precisions(
                precisions, self.covariance_type
            )
        if self.dofs_init is not None:
            arrays["dofs"] = self._check_dofs_init(dt)
        return arrays

    # ------------------------------------------------------------ the family
    def _shift(self, params):
        if "_ref" in params:  # pinned for a stream (partial_fit)
            return params["_ref"]
        return _mixture_mean(params["weights"], params["means"]).astype(
            params["means"].dtype
        )

    def _em_stream_start(self, params):
        # Statistics of all batches are taken around one point.
        return {**params, "_ref": self._shift(params)}

    def _em_initialize(self, X, sample_weight, random_state):
        params = super()._em_initialize(X, sample_weight, random_state)
        if self._fixed_dof() is None and "dofs" not in self._init_arrays:
            # Profiled on the start actually used (drawn or user-given).
            params["dofs"] = self._start_dofs(X, sample_weight, params)
        return params

    def _start_dofs(self, X, sample_weight, params):
        """Starting ``nu``: :func:`profile_dofs` on the start's distances.

        On at most ``DOF_START_ROWS`` evenly spaced rows (missing entries
        filled with their column's mean, as for the start), with the
        responsibilities of the start under a provisional ``nu = 1e6`` (a
        Gaussian, as the start itself).
        """
        rows = slice(None, None, max(1, X.shape[0] // DOF_START_ROWS))
        X, weight = X[rows], sample_weight[rows]
        X = fill_column_means(X, weight)
        dtype = params["means"].dtype
        provisional = {**params, "dofs": np.full(self.n_components, 1e6, dtype)}
        prepared = self._em_prepare(provisional)
        cache: dict = {}
        _, resp = normalize_log_prob(self._weighted_log_prob(X, prepared, cache))
        resp *= weight[:, np.newaxis]
        dofs = profile_dofs(
            cache["delta"], resp, X.shape[1], shared=self.dof == "shared"
        )
        return dofs.astype(dtype)

    def _params_from_resp(self, X, resp, sample_weight):
        """Start: Gaussian-like locations and scales (``u = 1``).

        The statistics are taken around the data's weighted mean (there is no
        mixture mean yet); ``nu`` is set by :meth:`_start_dofs` afterwards.
        """
        shift = (sample_weight @ X / np.sum(sample_weight)).astype(X.dtype)
        stats = chunked_stats(
            X,
            resp,
            self._em_row_bytes(X, None),
            lambda X, resp: t_stats(X, resp, None, None, shift, self.covariance_type),
        )
        means, covariances = t_scale_mstep(
            stats, shift, self.reg_covar, self.covariance_type
        )
        params = {
            "weights": mixture_weights(stats["nk"]),
            "means": means,
            **self._scales(covariances),
        }
        return params

    def _scales(self, covariances):
        return {
            "covariances": covariances,
            "precisions_cholesky": PRECISION_CHOLESKY[self.covariance_type](
                covariances
            ),
        }

    def _em_prepare(self, params):
        n_features = params["means"].shape[1]
        dofs = self._dofs(params)
        consts = prepare_mahalanobis(
            params["means"],
            params["precisions_cholesky"],
            self.covariance_type,
            self._shift(params),
        )
        log_constant = t_log_constant(
            dofs,
            params["precisions_cholesky"],
            self.covariance_type,
            n_features,
        )
        return {
            **params,
            "dofs": dofs,
            "_consts": consts,
            "_log_constant": log_constant,
        }

    def _mahalanobis(self, X, params, cache):
        if cache is not None and "delta" in cache:
            return cache["delta"]
        delta = mahalanobis_prepared(X, params["_consts"], self.covariance_type, cache)
        if cache is not None:
            cache["delta"] = delta
        return delta

    def _complete_log_prob(self, X, params, cache):
        delta = self._mahalanobis(X, params, cache)
        return t_log_prob(delta, params["dofs"], params["_log_constant"], X.shape[1])

    def _component_log_prob(self, X, params, cache=None):
        if "_consts" not in params:
            params = self._em_prepare(params)
        mask = np.isnan(X)
        if not mask.any():  # complete data: the fast path
            return self._complete_log_prob(X, params, cache)
        # Complete rows as above; rows with missing entries through their
        # observed blocks (what their statistics need stays in the cache).
        complete = ~mask.any(axis=1)
        out = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        sub_cache: dict = {}
        out[complete] = self._complete_log_prob(X[complete], params, sub_cache)
        incomplete_mask = mask[~complete]
        log_prob, delta, n_observed, fill = t_missing_log_prob(
            X[~complete],
            incomplete_mask,
            params["means"],
            params["covariances"],
            params["precisions_cholesky"],
            params["dofs"],
            self.covariance_type,
            memoized(cache, "patterns", lambda: missing_patterns(incomplete_mask)),
            memoized(cache, "distinct", lambda: distinct_patterns(incomplete_mask)),
        )
        out[~complete] = log_prob
        if cache is not None:
            cache["missing"] = (complete, sub_cache, delta, n_observed, fill)
        return out

    def _component_stats(self, X, resp, params, cache=None):
        if "_consts" not in params:
            params = self._em_prepare(params)
        shift = params["_consts"]["shift"]
        if cache is None or "missing" not in cache:
            delta = self._mahalanobis(X, params, cache)
            return t_stats(
                X, resp, delta, params["dofs"], shift, self.covariance_type, cache
            )
        complete, sub_cache, delta, n_observed, fill = cache["missing"]
        stats = t_stats(
            X[complete],
            resp[complete],
            sub_cache["delta"],
            params["dofs"],
            shift,
            self.covariance_type,
            sub_cache,
        )
        extra = t_missing_stats(
            resp[~complete],
            delta,
            n_observed,
            params["dofs"],
            fill,
            shift,
            self.covariance_type,
        )
        return {key: stats[key] + extra[key] for key in stats}

    def _conditional_means(self, X, params, cache):
        # E[x_m | x_o, k] of a t component is the Gaussian's conditional mean
        # (for nu > 1, where the mean exists).
        out = np.repeat(X[:, np.newaxis, :], self.n_components, axis=1)
        if "missing" in cache:
            complete, *_, fill = cache["missing"]
            out[~complete] = fill["xhat"]
        return out

    def _component_mstep(self, stats, params):
        fixed = self._em_fixed_groups()
        means, covariances = t_scale_mstep(
            stats,
            self._shift(params),
            self.reg_covar,
            self.covariance_type,
            held_means=params["means"] if "means" in fixed else None,
        )
        new = {"means": means}
        if "covariances" in fixed:
            # Never factorise scales that are thrown away (they may be singular).
            new.update(
                {key: params[key] for key in ("covariances", "precisions_cholesky")}
            )
        else:
            new.update(self._scales(covariances))
        if self._fixed_dof() is None:
            new["dofs"] = self._dofs_mstep(stats, params, "dofs" in fixed)
        if "_ref" in params:
            new["_ref"] = params["_ref"]
        return new

    def _dofs_mstep(self, stats, params, held: bool):
        old = params["dofs"]
        if held:
            return old
        dofs = dof_mstep(stats["log_u"], stats["nk"], self.dof == "shared")
        if self.dof == "shared":
            dofs = np.full(self.n_components, dofs[0])
        # A component without mass keeps its degrees of freedom.
        return np.where(np.isnan(dofs), old, dofs).astype(old.dtype)

    def _project_params(self, params):
        covariances = params["covariances"]
        scale = float(np.max(np.abs(covariances))) if covariances.size else 1.0
        floor = max(self.reg_covar, 1e-12 * scale)
        if self.covariance_type in ("full", "tied"):
            covariances = project_psd(covariances, floor)
        else:
            covariances = np.maximum(covariances, floor)
        params = {**params, **self._scales(covariances)}
        if "dofs" in params:
            params["dofs"] = np.clip(params["dofs"], *DOF_BOUNDS)
        return params

    def _em_row_bytes(self, X, params):
        d, k = X.shape[1], self.n_components
        per_row = k * (d + 10) + 4 * d
        if self.covariance_type == "full":
            per_row += k * d
        return X.dtype.itemsize * per_row

    def _derived_attributes(self, params) -> dict:
        derived = {
            "precisions_": precisions_from_cholesky(
                params["precisions_cholesky"], self.covariance_type
            )
        }
        if "dofs" not in params:
            derived["dofs_"] = self._dofs(params)
        return derived

    def _n_free_parameters(self, group, value) -> int:
        if group == "covariances":
            return covariance_n_parameters(
                self.covariance_type, self.n_components, self.means_.shape[1]
            )
        if group == "dofs":
            if self._fixed_dof() is not None:
                return 0
            return 1 if self.dof == "shared" else self.n_components
        return int(np.size(value))

    def _free_parametrisation(self, group, value):
        """Symmetric scales keep their upper triangles; a shared ``nu`` is one."""
        value = np.asarray(value, dtype=np.float64)
        if group == "dofs" and self.dof == "shared":
            return value[:1].copy(), lambda theta: np.full(value.shape, theta[0])
        if group != "covariances" or self.covariance_type not in ("full", "tied"):
            return super()._free_parametrisation(group, value)
        return symmetric_parametrisation(value)

    def _sample_component(self, rng, params, k, n_samples):
        # x = mu + z / sqrt(w), z ~ N(0, Sigma), w ~ Gamma(nu / 2, rate nu / 2).
        mean = params["means"][k]
        covariances = params["covariances"]
        nu = float(self._dofs(params)[k])
        d = mean.shape[0]
        if self.covariance_type == "full":
            z = rng.multivariate_normal(np.zeros(d), covariances[k], n_samples)
        elif self.covariance_type == "tied":
            z = rng.multivariate_normal(np.zeros(d), covariances, n_samples)
        else:
            z = rng.standard_normal(size=(n_samples, d)) * np.sqrt(covariances[k])
        w = rng.gamma(0.5 * nu, 2.0 / nu, size=n_samples)
        return mean + z / np.sqrt(w)[:, np.newaxis]

    def _describe_component(self, k: int) -> str:
        weight = float(self.weights_[k])
        return (
            f"weight {weight:.3f}, location {format_values(self.means_[k])}, "
            f"dof {float(self.dofs_[k]):.3g}"
        )

    def _plot_components(self, X, ax, features, names):
        from ..plotting import draw_gaussian_components

        if X.shape[1] == 1:
            return self._plot_1d(X, ax, names)
        # Two features: the scatter and the ellipses of the scale matrices
        # (the t's density contours have the same shape as the Gaussian's).
        return draw_gaussian_components(self, X, features, ax, names)

    def _plot_1d(self, X, ax, names):
        from scipy import stats

        from ..plotting import _colors, _feature_name

        x = X[:, 0]
        ax.hist(x, bins="auto", density=True, color="0.75", label="data")
        low, high = np.quantile(x, [0.005, 0.995])
        span = high - low
        grid = np.linspace(low - 0.1 * span, high + 0.1 * span, 400)
        scales = np.sqrt(np.reshape(self.covariances_, -1)) * np.ones(self.n_components)
        total = np.zeros_like(grid)
        for k, color in enumerate(_colors(self.n_components)):
            density = self.weights_[k] * stats.t.pdf(
                grid, self.dofs_[k], loc=self.means_[k, 0], scale=scales[k]
            )
            total += density
            ax.fill_between(grid, density, color=color, alpha=0.3, linewidth=0)
            ax.plot(
                grid,
                density,
                color=color,
                linestyle="--",
                label=self._component_label(k),
            )
        ax.plot(grid, total, color="black", linewidth=2, label="mixture")
        ax.set_xlim(grid[0], grid[-1])
        ax.set_xlabel(_feature_name(self, 0, names))
        ax.set_ylabel("density")
        ax.legend(fontsize="small")
