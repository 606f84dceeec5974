"""Stopping rules of the EM loop: how far is the optimum?

EM converges linearly: near the optimum the increments of the log-likelihood
shrink by a nearly constant factor ``a`` per iteration, so a small last step
says little about the distance still to go when ``a`` is close to 1 (the
components overlap, or much of the data is missing). Two rules:

``"change"``
    scikit-learn's rule: the last change ``|l_{t+1} - l_t|``.
``"aitken"``
    Aitken's acceleration-based rule (Böhning et al., 1994; McNicholas et
    al., 2010): with ``a_t = (l_{t+1} - l_t) / (l_t - l_{t-1})`` the limit is
    estimated as ``l_inf = l_t + (l_{t+1} - l_t) / (1 - a_t)`` and the
    distance still to go as ``|l_inf - l_{t+1}|`` (never less than the last
    step, so the rule is never looser than ``"change"``). It bounds the
    distance to the optimum of a linearly converging sequence rather than
    the last step.

Both work on the mean log-likelihood per unit of sample weight, the scale of
the engine's ``tol``.
"""

from __future__ import annotations

import math

__all__ = ["STOPPING_RULES", "aitken_distance", "stopping_distance"]

STOPPING_RULES = ("change", "aitken")

#: Relative size, against the log-likelihood, of steps that are rounding
#: noise of its float64 sum over the rows (a few hundred ulps).
ROUNDING_FLOOR = 1e3 * 2.220446049250313e-16


def aitken_distance(l0: float, l1: float, l2: float) -> float:
    """Aitken's estimate of ``|l_inf - l2|`` from three consecutive values.

    ``l0, l1, l2`` are the log-likelihoods of three consecutive EM iterates.
    The result is never below the last step ``|l2 - l1|``.
    Returns ``inf`` when the estimate is undefined (fewer than three finite
    values) or when the increments do not shrink (``a >= 1``: no limit can be
    extrapolated, so the run is not near it). A sequence whose last step is
    exactly flat is at its limit (0).
    """
    if not (math.isfinite(l1) and math.isfinite(l2)):
        return math.inf
    step = l2 - l1
    if step == 0.0:
        return 0.0
    if not math.isfinite(l0):
        return math.inf
    before = l1 - l0
    if max(abs(step), abs(before)) <= ROUNDING_FLOOR * max(abs(l2), 1.0):
        # Both steps are rounding noise of the summed log-likelihood: their
        # ratio means nothing, and no iterate can get measurably closer.
        return abs(step)
    if before == 0.0:
        return math.inf
    rate = step / before
    if not math.isfinite(rate) or rate >= 1.0:
        return math.inf
    # l_inf - l2 = step / (1 - a) - step = step * a / (1 - a). Early on,
    # before the rate settles, a can come out small by chance: the last step
    # itself is then the better (larger) bound, so the rule is never looser
    # than scikit-learn's.
    return max(abs(step), abs(step * rate / (1.0 - rate)))


def stopping_distance(rule: str, l0: float, l1: float, l2: float) -> float:
    """The distance the rule compares with ``tol`` after the value ``l2``.

    ``l0, l1, l2`` are the last three log-likelihoods of consecutive iterates
    (``-inf`` where there is none yet).
    """
    if rule == "aitken":
        return aitken_distance(l0, l1, l2)
    change = abs(l2 - l1)
    return change if math.isfinite(change) else math.inf
