"""The stopping rule: Aitken's estimate of the distance to the optimum."""

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from scipy.stats import poisson
from sklearn.exceptions import ConvergenceWarning

from emmix import (
    CoinMixture,
    GaussianMixtureEM,
    MultivariateNormalImputer,
    PoissonMixture,
)
from emmix._stopping import aitken_distance, stopping_distance
from emmix.datasets import make_missing_normal


def slow_poisson(n=1000, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.rand(n) < 0.4
    return np.where(z, rng.poisson(1.3, n), rng.poisson(2.7, n))[:, None].astype(float)


def overlapping_gaussians(n=2000, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.rand(n) < 0.5
    return np.where(z, rng.normal(0.0, 1.0, n), rng.normal(1.0, 1.5, n))[:, None]


def tight(cls, **params):
    """The reference optimum: plain EM to a change below 1e-12."""
    params = {**params, "tol": 1e-12, "max_iter": 200_000, "stopping": "change"}
    if cls is not MultivariateNormalImputer:
        params["accelerate"] = None
    return cls(**params)


def relative_gap(reference, fitted, X):
    best = reference.score(X) if hasattr(reference, "score_samples") else None
    return (best - fitted.score(X)) / abs(best)


# ------------------------------------------------------------ the formula
def test_aitken_distance_is_exact_on_a_geometric_sequence():
    # l_t = L - c a^t converges linearly with rate a: the estimate is exact.
    limit, c, a = -2.5, 0.3, 0.93
    values = [limit - c * a**t for t in range(40)]
    for t in range(2, 40):
        estimate = aitken_distance(*values[t - 2 : t + 1])
        assert estimate == pytest.approx(limit - values[t], rel=1e-6)


def test_aitken_distance_is_never_below_the_last_step():
    # Fast convergence (a = 0.3): the geometric tail 0.43 * step is below the
    # step itself; the rule is never looser than scikit-learn's.
    values = [-2.0 - 0.5 * 0.3**t for t in range(3)]
    step = values[2] - values[1]
    assert aitken_distance(*values) == pytest.approx(step)
    assert aitken_distance(*values) >= stopping_distance("change", *values)


def test_aitken_distance_edge_cases():
    assert aitken_distance(-np.inf, -2.0, -1.0) == math.inf  # no history
    assert aitken_distance(-np.inf, -1.0, -1.0) == 0.0  # exactly flat
    assert aitken_distance(-3.0, -2.0, -1.0) == math.inf  # not shrinking (a=1)
    assert aitken_distance(-3.0, -2.0, -0.5) == math.inf  # growing (a>1)
    # steps at the rounding floor: the last one, not their meaningless ratio
    assert aitken_distance(-2.0, -2.0, -2.0 + 4e-16) == pytest.approx(4e-16, rel=0.1)
    # the change rule is the last step
    assert stopping_distance("change", -9.0, -2.0, -1.5) == 0.5


# -------------------------------------------------- fits near the optimum
def test_slow_poisson_default_is_within_1e6_of_the_optimum():
    X = slow_poisson()
    ref = tight(PoissonMixture, n_components=2, random_state=0).fit(X)
    default = PoissonMixture(2, random_state=0).fit(X)
    assert default.converged_
    assert relative_gap(ref, default, X) < 1e-6
    # The old default (scikit-learn's rule, tol=1e-3) stopped far away.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        old = PoissonMixture(
            2, random_state=0, stopping="change", tol=1e-3, accelerate=None
        ).fit(X)
    assert relative_gap(ref, old, X) > 1e-5


def test_slow_poisson_reference_is_the_likelihood_maximum():
    # The reference itself, against a direct optimisation of the likelihood.
    X = slow_poisson()
    ref = tight(PoissonMixture, n_components=2, random_state=0).fit(X)
    x = X[:, 0]

    def negloglik(theta):
        w = expit(theta[0])
        rates = np.exp(theta[1:])
        log_p = np.column_stack(
            [
                np.log(w) + poisson.logpmf(x, rates[0]),
                np.log1p(-w) + poisson.logpmf(x, rates[1]),
            ]
        )
        return -logsumexp(log_p, axis=1).sum()

    w0 = ref.weights_[0]
    start = np.r_[np.log(w0 / (1 - w0)), np.log(ref.rates_[:, 0])] + 0.05
    best = minimize(
        negloglik,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
    )
    # (a change below 1e-12 per iteration still leaves ~1e-10: EM crawls here)
    assert -best.fun / len(x) == pytest.approx(ref.score(X), rel=1e-9)
    assert_allclose(np.sort(ref.rates_[:, 0]), np.sort(np.exp(best.x[1:])), rtol=1e-3)


@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_overlapping_gaussians_with_aitken(accelerate):
    X = overlapping_gaussians()
    init = {
        "n_components": 2,
        "weights_init": [0.5, 0.5],
        "means_init": [[-1.0], [2.0]],
        "precisions_init": np.ones((2, 1, 1)),
    }
    ref = tight(GaussianMixtureEM, **init).fit(X)
    fitted = GaussianMixtureEM(
        **init, stopping="aitken", tol=1e-8, max_iter=5000, accelerate=accelerate
    ).fit(X)
    assert fitted.converged_
    assert relative_gap(ref, fitted, X) < 1e-6
    # scikit-learn's default rule stops far sooner and farther.
    change = GaussianMixtureEM(**init, max_iter=5000).fit(X)
    assert relative_gap(ref, change, X) > 1e-4


def test_gaussian_keeps_scikit_learn_default():
    gm = GaussianMixtureEM()
    assert gm.stopping == "change" and gm.tol == 1e-3 and gm.accelerate is None


def test_overlapping_coins_default_is_within_1e6():
    rng = np.random.RandomState(0)
    X = rng.binomial(20, np.where(rng.rand(500) < 0.5, 0.45, 0.6))[:, None]
    X = X.astype(float)
    ref = tight(CoinMixture, n_components=2, n_trials=20, random_state=0).fit(X)
    default = CoinMixture(2, n_trials=20, random_state=0).fit(X)
    assert default.converged_
    assert relative_gap(ref, default, X) < 1e-6


def test_imputer_default_is_within_1e6():
    X, _ = make_missing_normal(
        500,
        mean=np.zeros(5),
        std=np.ones(5),
        correlation=0.8,
        missing_rate=0.6,
        pattern="mcar",
        random_state=0,
    )
    ref = tight(MultivariateNormalImputer).fit(X)
    default = MultivariateNormalImputer().fit(X)
    assert default.stopping == "aitken" and default.converged_
    gap = (ref.lower_bound_ - default.lower_bound_) / abs(ref.lower_bound_)
    assert gap < 1e-6
    assert_allclose(default.mean_, ref.mean_, atol=1e-3)


# ----------------------------------------------------- not converged
@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_never_converged_while_far_and_the_warning_names_the_fix(accelerate):
    X = slow_poisson()
    with pytest.warns(ConvergenceWarning, match="raise max_iter") as record:
        pm = PoissonMixture(2, random_state=0, max_iter=30, accelerate=accelerate)
        pm.fit(X)
    assert not pm.converged_
    if accelerate is None:
        assert "accelerate='squarem'" in str(record[0].message)
    ref = tight(PoissonMixture, n_components=2, random_state=0).fit(X)
    assert ref.score(X) - pm.score(X) > pm.tol


def test_stopping_is_validated():
    with pytest.raises(ValueError, match="stopping"):
        PoissonMixture(stopping="never").fit(slow_poisson())
