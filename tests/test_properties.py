"""Properties of every family, on data drawn by hypothesis.

For the Gaussian mixture, the Poisson mixture, the coin (binomial) mixture
and the normal imputer:

* the log-likelihood history never decreases (up to rounding);
* ``predict_proba`` rows sum to 1 and ``score_samples`` is finite on valid
  input, also on new rows (the imputer: ``transform`` is finite and keeps the
  observed entries);
* the same ``random_state`` gives identical results;
* ``X``, ``sample_weight`` and the ``*_init`` arrays are never modified;
* a permutation of the rows gives the same optimum from the same start.

Small arrays and few examples keep the file to a few seconds.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix.impute import MultivariateNormalImputer
from emmix.mixture._gaussian import COVARIANCE_TYPES

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass
class Family:
    """How to build, feed and start one family."""

    name: str
    make: Callable  # (n_components, covariance_type, **kwargs) -> estimator
    data: Callable  # (rng, n, d, k) -> valid X
    start: Callable  # (rng, X, k, covariance_type) -> explicit *_init kwargs
    new_rows: Callable  # (rng, X, estimator) -> valid rows not seen in fit


def gaussian_data(rng, n, d, k):
    centres = rng.normal(scale=4.0, size=(k, d))
    labels = rng.randint(k, size=n)
    return centres[labels] + rng.normal(size=(n, d))


def gaussian_start(rng, X, k, covariance_type):
    d = X.shape[1]
    precisions = {
        "full": np.stack([np.eye(d)] * k),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[covariance_type]
    return {
        "weights_init": np.full(k, 1.0 / k),
        "means_init": X[rng.choice(len(X), k, replace=False)],
        "precisions_init": precisions,
    }


def poisson_data(rng, n, d, k):
    rates = rng.uniform(0.5, 15.0, size=(k, d))
    return rng.poisson(rates[rng.randint(k, size=n)]).astype(np.float64)


def poisson_start(rng, X, k, covariance_type):
    return {
        "weights_init": np.full(k, 1.0 / k),
        "rates_init": rng.uniform(0.5, 1.5, size=(k, X.shape[1])) * X.mean(axis=0),
    }


N_TRIALS = 12


def coin_data(rng, n, d, k):
    probs = rng.uniform(0.05, 0.95, size=(k, d))
    return rng.binomial(N_TRIALS, probs[rng.randint(k, size=n)]).astype(np.float64)


def coin_start(rng, X, k, covariance_type):
    return {
        "weights_init": np.full(k, 1.0 / k),
        "probs_init": rng.uniform(0.1, 0.9, size=(k, X.shape[1])),
    }


def imputer_data(rng, n, d, k):
    A = rng.normal(size=(d, d)) + 2.0 * np.eye(d)
    X = rng.normal(size=(n, d)) @ A + rng.normal(scale=5.0, size=d)
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    return X


FAMILIES = {
    "gaussian": Family(
        "gaussian",
        lambda k, ct, **kw: GaussianMixtureEM(k, covariance_type=ct, **kw),
        gaussian_data,
        gaussian_start,
        lambda rng, X, est: rng.uniform(-30, 30, size=(5, X.shape[1])),
    ),
    "poisson": Family(
        "poisson",
        lambda k, ct, **kw: PoissonMixture(k, **kw),
        poisson_data,
        poisson_start,
        # Zeros and counts far above any rate: still a finite log-density.
        lambda rng, X, est: np.r_[np.zeros((1, X.shape[1])), 3 * X[:4] + 50],
    ),
    "coin": Family(
        "coin",
        lambda k, ct, **kw: CoinMixture(k, n_trials=N_TRIALS, **kw),
        coin_data,
        coin_start,
        lambda rng, X, est: np.r_[
            np.zeros((1, X.shape[1])), np.full((1, X.shape[1]), N_TRIALS)
        ],
    ),
    "imputer": Family(
        "imputer",
        lambda k, ct, **kw: MultivariateNormalImputer(
            **{key: v for key, v in kw.items() if key != "init_params"}
        ),
        imputer_data,
        lambda rng, X, k, ct: {},  # the start is deterministic
        lambda rng, X, est: np.where(
            rng.uniform(size=(5, X.shape[1])) < 0.5,
            np.nan,
            rng.normal(scale=20.0, size=(5, X.shape[1])),
        ),
    ),
}

cases = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**16),
        "n": st.integers(16, 40),
        "d": st.integers(1, 3),
        "k": st.integers(1, 3),
        "covariance_type": st.sampled_from(COVARIANCE_TYPES),
        "init_params": st.sampled_from(["kmeans", "k-means++", "random_from_data"]),
    }
)


def draw(family, case):
    """Valid data for the family (enough distinct rows and varying columns)."""
    rng = np.random.RandomState(case["seed"])
    X = family.data(rng, case["n"], case["d"], case["k"])
    if family.name == "imputer":
        observed = [col[~np.isnan(col)] for col in X.T]
        assume(all(len(np.unique(col)) >= 2 for col in observed))
    else:
        assume(len(np.unique(X, axis=0)) >= case["k"])
    return rng, X


def fitted_arrays(estimator):
    return {
        name: value
        for name, value in vars(estimator).items()
        if name.endswith("_") and not name.startswith("_")
    }


def quiet_fit(estimator, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence, unidentified pairs
        return estimator.fit(X, **kwargs)


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("name", FAMILIES)
@SETTINGS
@given(case=cases)
def test_log_likelihood_never_decreases(name, case):
    family = FAMILIES[name]
    _, X = draw(family, case)
    # reg_covar=0: the Gaussian M-step is then the exact maximiser, so EM's
    # ascent property holds for the plain log-likelihood (a component that
    # collapses onto a point raises a ValueError; such draws are skipped).
    extra = {"reg_covar": 0.0} if name == "gaussian" else {}
    estimator = family.make(
        case["k"],
        case["covariance_type"],
        tol=0.0,
        max_iter=30,
        random_state=case["seed"],
        init_params=case["init_params"],
        accelerate=None,  # plain EM: one recorded value per iteration
        **extra,
    )
    try:
        quiet_fit(estimator, X)
    except ValueError as exc:
        assert "reg_covar" in str(exc)
        assume(False)
    if name == "gaussian":
        # A component collapsed onto one point has an unbounded likelihood
        # whose variance is rounding noise (1e-17): "up to rounding" is then
        # meaningless, so such draws are skipped too.
        largest_precision = np.max(np.abs(estimator.precisions_))
        assume(largest_precision * np.min(X.var(axis=0)) < 1e8)
    bounds = np.array(estimator.lower_bounds_)
    assert len(bounds) == 30
    assert np.all(np.diff(bounds) >= -1e-10 * (1.0 + np.abs(bounds[1:])))


@pytest.mark.parametrize("name", FAMILIES)
@SETTINGS
@given(case=cases)
def test_probabilities_sum_to_one_and_scores_are_finite(name, case):
    family = FAMILIES[name]
    rng, X = draw(family, case)
    estimator = quiet_fit(
        family.make(
            case["k"],
            case["covariance_type"],
            random_state=case["seed"],
            init_params=case["init_params"],
        ),
        X,
    )
    for rows in (X, family.new_rows(rng, X, estimator)):
        assert np.all(np.isfinite(estimator.score_samples(rows)))
        if name == "imputer":
            filled = estimator.transform(rows)
            assert np.all(np.isfinite(filled))
            observed = ~np.isnan(rows)
            assert_array_equal(filled[observed], rows[observed])
        else:
            proba = estimator.predict_proba(rows)
            assert np.all((proba >= 0) & (proba <= 1))
            assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
            assert_array_equal(estimator.predict(rows), proba.argmax(axis=1))


@pytest.mark.parametrize("name", FAMILIES)
@SETTINGS
@given(case=cases)
def test_same_random_state_gives_identical_results(name, case):
    family = FAMILIES[name]
    _, X = draw(family, case)
    kwargs = dict(random_state=case["seed"], init_params=case["init_params"], n_init=2)
    first = quiet_fit(family.make(case["k"], case["covariance_type"], **kwargs), X)
    second = quiet_fit(family.make(case["k"], case["covariance_type"], **kwargs), X)
    one, two = fitted_arrays(first), fitted_arrays(second)
    assert one.keys() == two.keys()
    for key in one:
        if key == "indicator_":
            continue
        assert_array_equal(np.asarray(one[key]), np.asarray(two[key]), err_msg=key)


@pytest.mark.parametrize("name", FAMILIES)
@SETTINGS
@given(case=cases)
def test_inputs_are_never_modified(name, case):
    family = FAMILIES[name]
    rng, X = draw(family, case)
    weights = rng.uniform(0.5, 2.0, size=len(X))
    start = family.start(rng, X, case["k"], case["covariance_type"])
    copies = (X.copy(), weights.copy(), {k: v.copy() for k, v in start.items()})
    estimator = quiet_fit(
        family.make(case["k"], case["covariance_type"], random_state=0, **start),
        X,
        sample_weight=weights,
    )
    estimator.score_samples(X)
    if name == "imputer":
        estimator.transform(X)
    else:
        estimator.predict_proba(X)
    assert_array_equal(X, copies[0])
    assert_array_equal(weights, copies[1])
    for key, value in start.items():
        assert_array_equal(value, copies[2][key])
        assert estimator.get_params()[key] is value  # stored as given


@pytest.mark.parametrize("name", FAMILIES)
@SETTINGS
@given(case=cases, permutation_seed=st.integers(0, 2**16))
def test_permuted_rows_give_the_same_optimum(name, case, permutation_seed):
    family = FAMILIES[name]
    rng, X = draw(family, case)
    start = family.start(rng, X, case["k"], case["covariance_type"])
    perm = np.random.RandomState(permutation_seed).permutation(len(X))
    # Plain EM: SQUAREM's accept/reject choices at the rounding level may
    # differ with the row order, and with them the length of lower_bounds_.
    kwargs = dict(tol=0.0, max_iter=100, accelerate=None, **start)
    if name == "gaussian":
        kwargs["reg_covar"] = 1e-3  # keep every component well conditioned
    try:
        fits = [
            quiet_fit(family.make(case["k"], case["covariance_type"], **kwargs), Z)
            for Z in (X, X[perm])
        ]
    except ValueError as exc:  # singular start (the imputer with few rows)
        assert "singular" in str(exc)
        assume(False)
    one, two = (fitted_arrays(fit) for fit in fits)
    for key in one:
        if key in ("indicator_", "n_iter_", "converged_", "n_features_in_"):
            continue
        assert_allclose(
            np.asarray(one[key], dtype=float),
            np.asarray(two[key], dtype=float),
            rtol=1e-6,
            atol=1e-9,
            err_msg=key,
        )
