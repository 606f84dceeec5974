"""SQUAREM acceleration of the EM map (Varadhan & Roland, 2008, scheme SqS3).

The engine sees one EM iteration as a map ``F: theta -> M(E(theta))`` over a
flat vector of the free parameters. From ``theta0`` SQUAREM takes two EM steps,
``theta1 = F(theta0)`` and ``theta2 = F(theta1)``, and extrapolates along them:

    r = theta1 - theta0,  v = theta2 - 2 theta1 + theta0,
    alpha = -|r| / |v|  (bounded to [-alpha_max, -1]),
    theta' = theta0 - 2 alpha r + alpha**2 v,

then projects ``theta'`` back into the valid set and takes one more EM step
from it. The extrapolated point is kept only if its log-likelihood is at least
that of ``theta1``; otherwise the cycle falls back to the plain EM point
``theta2``. The recorded log-likelihoods therefore never decrease. (``alpha =
-1`` gives ``theta2`` exactly.) The engine's stopping rule (``stopping``) is
applied as in plain EM; Aitken's rule only on three consecutive EM iterates.

Nothing here knows about a family: families only say how their parameters
are projected back into their valid set (``_em_project``).
"""

from __future__ import annotations

import numpy as np

from ._stopping import stopping_distance

__all__ = [
    "flatten_params",
    "project_psd",
    "project_simplex",
    "squarem_alpha",
    "unflatten_params",
]

#: Step length bounds: alpha = -1 is the plain EM step; the upper bound grows
#: by ``STEP_FACTOR`` after each accepted long step and resets after a failure
#: (the "global" step-length control of the SQUAREM package).
ALPHA_MAX_START = 1.0
STEP_FACTOR = 4.0


def flatten_params(params: dict, keys) -> np.ndarray:
    """Concatenate the named parameter arrays into one float64 vector."""
    return np.concatenate(
        [np.asarray(params[key], dtype=np.float64).ravel() for key in keys]
    )


def unflatten_params(vector: np.ndarray, template: dict, keys) -> dict:
    """Inverse of :func:`flatten_params`, shapes and dtypes from ``template``."""
    out = dict(template)
    start = 0
    for key in keys:
        ref = np.asarray(template[key])
        size = ref.size
        out[key] = vector[start : start + size].reshape(ref.shape).astype(ref.dtype)
        start += size
    return out


def project_simplex(weights: np.ndarray) -> np.ndarray:
    """Mixing weights made positive and summing to one."""
    tiny = np.finfo(weights.dtype).tiny
    weights = np.maximum(weights, tiny)
    return weights / weights.sum()


def project_psd(matrices: np.ndarray, floor: float) -> np.ndarray:
    """Symmetric matrices with every eigenvalue at least ``floor``.

    Works on one matrix or a stack; the nearest such matrix in Frobenius norm.
    """
    sym = 0.5 * (matrices + np.swapaxes(matrices, -1, -2))
    values, vectors = np.linalg.eigh(sym)
    if np.all(values >= floor):
        return sym
    values = np.maximum(values, floor)
    return (vectors * values[..., np.newaxis, :]) @ np.swapaxes(vectors, -1, -2)


def squarem_alpha(r: np.ndarray, v: np.ndarray, alpha_max: float) -> float | None:
    """SqS3 step length ``-|r| / |v|``, bounded below by ``-alpha_max``.

    Returns None when the step would be no longer than plain EM's
    (``alpha >= -1``) or is undefined.
    """
    norm_v = float(np.linalg.norm(v))
    if not np.isfinite(norm_v) or norm_v == 0.0:
        return None
    alpha = -float(np.linalg.norm(r)) / norm_v
    if not np.isfinite(alpha) or alpha >= -1.0:
        return None
    return float(max(alpha, -alpha_max))


def run_squarem(estimator, X, sample_weight, params, lower_bound, total_weight):
    """Accelerated EM from ``params``; returns what the engine's loop returns.

    Returns
    -------
    params : dict
        Final parameters.
    lower_bound : float
        Mean log-likelihood of the last evaluated accepted point.
    history : list of float
        Mean log-likelihood per E-step pass along the accepted path.
    n_iter : int
        Number of E-step passes made (comparable with plain EM's count).
    converged : bool
    """
    keys = estimator._em_free_keys()
    history: list[float] = []
    n_pass = 0
    alpha_max = ALPHA_MAX_START

    def em_map(theta):
        nonlocal n_pass
        n_pass += 1
        return estimator._em_step(X, sample_weight, theta, total_weight)

    rule = estimator._em_stopping_rule()
    gain = 0.0  # log-likelihood gained by the last accepted extrapolation

    def record(value, consecutive=False):
        """Record a value; True when the stopping rule is met.

        Aitken's rule needs three log-likelihoods of consecutive EM iterates
        (``theta, F(theta), F(F(theta))``); along the accepted path that holds
        at the second EM step of a cycle (``consecutive=True``), whatever the
        cycle before did, but not across an extrapolation.
        """
        previous = history[-1] if history else lower_bound
        before = history[-2] if len(history) >= 2 else -np.inf
        history.append(value)
        estimator._verbose_iter_end(n_pass, value - previous)
        if rule != "aitken":
            return stopping_distance(rule, before, previous, value) < estimator.tol
        if not consecutive:
            return False
        # Right after an extrapolation the fast modes of the EM map still
        # decay, so the three values can understate the rate of the slow one:
        # the run stops only once the last extrapolation gained less than tol
        # too (that gain is a lower bound on what remained before it).
        distance = max(stopping_distance(rule, before, previous, value), gain)
        return distance < estimator.tol

    while True:
        if n_pass >= estimator.max_iter:
            return params, lower_bound, history, n_pass, False
        params1, ll0 = em_map(params)
        if record(ll0):
            return params1, ll0, history, n_pass, True
        lower_bound = ll0
        if n_pass >= estimator.max_iter:
            return params1, lower_bound, history, n_pass, False
        params2, ll1 = em_map(params1)
        if record(ll1, consecutive=True):
            return params2, ll1, history, n_pass, True
        lower_bound = ll1
        theta0 = flatten_params(params, keys)
        theta1 = flatten_params(params1, keys)
        theta2 = flatten_params(params2, keys)
        r = theta1 - theta0
        v = theta2 - 2.0 * theta1 + theta0
        alpha = squarem_alpha(r, v, alpha_max)
        if alpha is None or n_pass >= estimator.max_iter:
            params, gain = params2, 0.0
            continue
        candidate = None
        try:
            extrapolated = theta0 - 2.0 * alpha * r + alpha**2 * v
            candidate = estimator._em_project(
                unflatten_params(extrapolated, params2, keys)
            )
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            candidate = None  # e.g. a covariance that cannot be factorised
        if candidate is not None:
            try:
                stabilised, ll_candidate = em_map(candidate)
            except (ValueError, FloatingPointError, np.linalg.LinAlgError):
                stabilised, ll_candidate = None, -np.inf
            if np.isfinite(ll_candidate) and ll_candidate >= ll1:
                gain = ll_candidate - ll1
                if record(ll_candidate):
                    return stabilised, ll_candidate, history, n_pass, True
                lower_bound = ll_candidate
                params = stabilised
                alpha_max = (
                    alpha_max * STEP_FACTOR if alpha == -alpha_max else alpha_max
                )
                continue
        # The extrapolation did not improve on plain EM: keep the EM point
        # and be more careful with the next step.
        gain = 0.0
        alpha_max = max(ALPHA_MAX_START, alpha_max / STEP_FACTOR)
        params = params2
