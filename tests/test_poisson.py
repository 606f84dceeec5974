"""PoissonMixture: maths against scipy, EM invariants, engine features, errors."""

import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp

import emmix.datasets
import emmix.mixture._poisson
from emmix import PoissonMixture
from emmix._responsibilities import column_sums
from emmix.datasets import make_poisson_mixture
from emmix.mixture._poisson import poisson_log_prob


@pytest.fixture(scope="module")
def two_clusters():
    """Two Poisson clusters with rates 2 and 6 (weights 0.4, 0.6)."""
    return make_poisson_mixture(
        n_samples=2000, rates=[2.0, 6.0], weights=[0.4, 0.6], random_state=0
    )


def scipy_log_prob(X, rates):
    """Component log-densities with scipy, one feature at a time."""
    return np.stack(
        [stats.poisson.logpmf(X, rate).sum(axis=1) for rate in rates], axis=1
    )


# -------------------------------------------------------------- the maths
def test_log_prob_matches_scipy():
    rng = np.random.RandomState(0)
    X = rng.poisson(4.0, size=(50, 3)).astype(float)
    rates = rng.uniform(0.1, 10.0, size=(4, 3))
    np.testing.assert_allclose(
        poisson_log_prob(X, rates), scipy_log_prob(X, rates), rtol=1e-12
    )


def test_score_samples_is_mixture_density(two_clusters):
    X, _ = two_clusters
    pm = PoissonMixture(n_components=2, random_state=0).fit(X)
    expected = logsumexp(
        scipy_log_prob(X[:20], pm.rates_) + np.log(pm.weights_), axis=1
    )
    np.testing.assert_allclose(pm.score_samples(X[:20]), expected, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    counts=st.lists(
        st.lists(st.integers(0, 30), min_size=2, max_size=2), min_size=1, max_size=8
    ),
    rates=st.lists(st.floats(1e-3, 50.0), min_size=2, max_size=2),
)
def test_log_prob_matches_scipy_property(counts, rates):
    X = np.array(counts, dtype=float)
    rates = np.array([rates, rates[::-1]])
    np.testing.assert_allclose(
        poisson_log_prob(X, rates), scipy_log_prob(X, rates), rtol=1e-10, atol=1e-10
    )


def test_single_component_is_weighted_mean():
    """K = 1 has the closed form rate = weighted mean of each feature."""
    rng = np.random.RandomState(1)
    X = rng.poisson([1.0, 7.0], size=(40, 2)).astype(float)
    w = rng.uniform(0.5, 2.0, size=40)
    pm = PoissonMixture().fit(X, sample_weight=w)
    np.testing.assert_allclose(pm.rates_[0], np.average(X, axis=0, weights=w))
    assert pm.n_iter_ <= 2  # the first M-step is already the optimum


def test_non_integer_counts_accepted():
    """Non-integer values use Gamma(x + 1) in place of x!."""
    X = np.array([[0.5], [1.5], [2.25], [0.0]])
    pm = PoissonMixture().fit(X)
    rate = X.mean()
    log_factorial = np.log([math.gamma(x + 1) for x in X[:, 0]])
    expected = X[:, 0] * np.log(rate) - rate - log_factorial
    np.testing.assert_allclose(pm.score_samples(X), expected, rtol=1e-10)


# ------------------------------------------------------ recovery and engine
def test_recovers_two_clusters(two_clusters):
    X, _ = two_clusters
    # The likelihood is flat along the weights when components overlap: the
    # default tol=1e-3 stops far from the optimum, so ask for a tight fit.
    pm = PoissonMixture(n_components=2, tol=1e-8, random_state=0).fit(X)
    order = np.argsort(pm.rates_[:, 0])
    # Standard errors are about sqrt(rate / n_k) ~ 0.05 and 0.01 for weights.
    np.testing.assert_allclose(pm.rates_[order, 0], [2.0, 6.0], atol=0.3)
    np.testing.assert_allclose(pm.weights_[order], [0.4, 0.6], atol=0.05)
    assert pm.converged_


def test_recovers_several_features():
    X, y = make_poisson_mixture(
        n_samples=600, rates=[[2.0, 10.0], [8.0, 1.0]], random_state=1
    )
    pm = PoissonMixture(n_components=2, random_state=0).fit(X)
    order = np.argsort(pm.rates_[:, 0])
    np.testing.assert_allclose(pm.rates_[order], [[2.0, 10.0], [8.0, 1.0]], atol=0.4)
    labels = pm.predict(X)
    agreement = np.mean(labels == y)
    assert max(agreement, 1 - agreement) > 0.98


# ------------------------------------------------- hard EM, fixed params
def test_hard_em_is_a_fixed_point_of_group_means():
    """At convergence hard-EM rates are the means of the rows assigned."""
    X, _ = make_poisson_mixture(n_samples=300, rates=[2.0, 9.0], random_state=6)
    pm = PoissonMixture(2, assignment="hard", tol=1e-12, random_state=0).fit(X)
    assert pm.converged_
    labels = pm.predict(X)
    for k in range(2):
        np.testing.assert_allclose(pm.rates_[k], X[labels == k].mean(axis=0))
        np.testing.assert_allclose(pm.weights_[k], np.mean(labels == k))


def test_hard_em_overlap_bias():
    """Hard EM pushes overlapping rates apart compared with soft EM."""
    X, _ = make_poisson_mixture(n_samples=2000, rates=[3.0, 6.0], random_state=7)
    start = {"weights_init": [0.5, 0.5], "rates_init": [[3.0], [6.0]]}
    soft = PoissonMixture(2, tol=1e-8, **start).fit(X)
    hard = PoissonMixture(2, assignment="hard", tol=1e-8, **start).fit(X)
    assert hard.rates_[1, 0] - hard.rates_[0, 0] > soft.rates_[1, 0] - soft.rates_[0, 0]


def test_fixed_weights_stay_and_rates_are_stationary(two_clusters):
    X, _ = two_clusters
    pm = PoissonMixture(
        2,
        weights_init=[0.5, 0.5],
        fixed_params={"weights"},
        tol=1e-12,
        max_iter=1000,
        random_state=0,
    ).fit(X)
    np.testing.assert_array_equal(pm.weights_, [0.5, 0.5])
    # Stationarity of the likelihood in the rates (closed form).
    resp = pm.predict_proba(X)
    np.testing.assert_allclose(
        pm.rates_[:, 0], resp.T @ X[:, 0] / resp.sum(axis=0), rtol=1e-6
    )
    # One free group fewer: 2 rates only.
    n = X.shape[0]
    n_params = (pm.bic(X) + 2 * pm.score(X) * n) / np.log(n)
    assert round(n_params, 6) == 2


def test_fixed_rates_stay(two_clusters):
    X, _ = two_clusters
    rates = np.array([[1.0], [7.0]])
    pm = PoissonMixture(2, rates_init=rates, fixed_params="rates").fit(X)
    np.testing.assert_array_equal(pm.rates_, rates)
    assert pm.rates_ is not rates
    n = X.shape[0]
    assert round((pm.aic(X) + 2 * pm.score(X) * n) / 2, 6) == 1  # one weight


def test_unknown_fixed_group():
    with pytest.raises(ValueError, match=r"unknown parameter groups.*means"):
        PoissonMixture(2, fixed_params={"means"}).fit([[1], [2], [3]])


def test_rate_floor_keeps_densities_finite():
    pm = PoissonMixture().fit(np.zeros((5, 2)))
    np.testing.assert_array_equal(pm.rates_, 1e-10)
    assert np.all(np.isfinite(pm.score_samples([[3.0, 0.0]])))


def test_float32_stays_float32(two_clusters):
    X = two_clusters[0][:100].astype(np.float32)
    pm = PoissonMixture(2, random_state=0).fit(X)
    assert pm.rates_.dtype == np.float32
    assert pm.predict_proba(X).dtype == np.float32
    assert pm.score_samples(X).dtype == np.float32


def test_sample():
    pm = PoissonMixture(
        2, weights_init=[0.3, 0.7], rates_init=[[1.0, 2.0], [20.0, 30.0]], max_iter=0
    ).fit([[0, 0], [1, 1]])
    X, y = pm.sample(4000)
    assert X.shape == (4000, 2) and y.shape == (4000,)
    np.testing.assert_array_equal(X, np.round(X))
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [20.0, 30.0], rtol=0.05)
    np.testing.assert_allclose(np.mean(y == 1), 0.7, atol=0.03)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "value, match",
    [
        (-1.0, r"Negative values in data.*row 2, column 1"),
        (np.inf, r"infinity at row 2, column 1"),
    ],
)
def test_bad_values_rejected_before_any_work(value, match):
    X = np.ones((5, 2))
    X[2, 1] = value
    pm = PoissonMixture()
    with pytest.raises(ValueError, match=match):
        pm.fit(X)
    assert not hasattr(pm, "weights_")
    fitted = PoissonMixture().fit(np.ones((5, 2)))
    with pytest.raises(ValueError, match=match):
        fitted.predict(X)


def test_negative_error_names_dataframe_column():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"calls": [1, 2, 3], "visits": [0, -4, 2]})
    with pytest.raises(ValueError, match=r"-4.0 at row 1, column 1 \('visits'\)"):
        PoissonMixture().fit(X)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rates_init": [[1.0], [2.0]]}, r"rates_init.*shape of \(2, 2\)"),
        ({"rates_init": [[1.0, -1.0], [2.0, 2.0]]}, "must be non-negative"),
        ({"weights_init": [0.2, 0.2]}, "should be normalized"),
        ({"rate_floor": 0.0}, "rate_floor"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PoissonMixture(2, **kwargs).fit(np.ones((4, 2)))


def test_init_arrays_are_not_modified():
    rates = np.array([[0.0], [4.0]])
    PoissonMixture(2, rates_init=rates).fit([[0], [1], [5], [4]])
    np.testing.assert_array_equal(rates, [[0.0], [4.0]])


# ---------------------------------------------------------------- datasets
def test_make_poisson_mixture():
    kwargs = {"rates": [[1.0, 5.0], [10.0, 0.0]], "weights": [1, 3]}
    X, y = make_poisson_mixture(n_samples=20000, random_state=0, **kwargs)
    again, _ = make_poisson_mixture(n_samples=20000, random_state=0, **kwargs)
    np.testing.assert_array_equal(X, again)
    assert X.shape == (20000, 2) and X.dtype == np.float64
    # Tolerances are about 4 standard errors.
    np.testing.assert_allclose(np.mean(y == 1), 0.75, atol=0.012)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [1.0, 5.0], atol=0.15)
    assert np.all(X[y == 1, 1] == 0)
    with pytest.raises(ValueError, match="non-negative"):
        make_poisson_mixture(rates=[-1.0, 2.0])
    with pytest.raises(ValueError, match="weights must have shape"):
        make_poisson_mixture(rates=[1.0, 2.0], weights=[1.0])


@pytest.mark.parametrize("module", [emmix.mixture._poisson, emmix.datasets])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_components", [1, 2, 8, 65])
def test_column_sums_are_numpy_sums_bit_for_bit(dtype, n_components):
    """The E-steps' fast column sums change no digit of ``sum(axis=0)``."""
    rng = np.random.RandomState(n_components)
    a = (
        rng.dirichlet(np.ones(n_components), size=20_001)
        * rng.lognormal(0.0, 3.0, size=(20_001, 1))
    ).astype(dtype)
    for layout in (a, np.asfortranarray(a), a[::3]):
        got = column_sums(layout)
        np.testing.assert_array_equal(got, layout.sum(axis=0))
        assert got.dtype == dtype
    # and they are the sums: against math.fsum, to float rounding
    exact = [math.fsum(col) for col in a.astype(np.float64).T]
    np.testing.assert_allclose(
        column_sums(a), exact, rtol=1e-12 if dtype == np.float64 else 1e-4
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("missing", [False, True])
def test_family_hooks_match_scipy_and_weighted_sums(missing):
    """The E-step hooks (one product over the rows' kept features on complete
    rows) give scipy's log-densities and the weighted sums by hand, with and
    without the fit-long memo, NaN and sample weights."""
    rng = np.random.RandomState(9)
    n, d, k = 300, 4, 3
    X = rng.poisson(rng.uniform(0.5, 30.0, size=d), size=(n, d)).astype(float)
    if missing:
        X[rng.uniform(size=X.shape) < 0.1] = np.nan
    observed = ~np.isnan(X)
    rates = rng.uniform(0.1, 40.0, size=(k, d))
    rates[0, 0] = 1e-10
    expected = np.zeros((n, k))
    for kk in range(k):
        terms = stats.poisson.logpmf(np.where(observed, X, 0), rates[kk])
        expected[:, kk] = np.where(observed, terms, 0.0).sum(axis=1)
    w = rng.uniform(0.0, 3.0, size=n)
    resp = rng.dirichlet(np.ones(k), size=n) * w[:, np.newaxis]
    model = PoissonMixture(k, max_iter=1).fit(np.nan_to_num(X))
    params = {"weights": np.full(k, 1.0 / k), "rates": rates}
    for cache in (None, {}, {"memo": {}}):
        np.testing.assert_allclose(
            model._component_log_prob(X, params, cache),
            expected,
            rtol=1e-12,
            atol=1e-12,
        )
        got = model._component_stats(X, resp, params, cache)
        np.testing.assert_allclose(
            got["sum_x"], resp.T @ np.where(observed, X, 0.0), rtol=1e-12
        )
        np.testing.assert_allclose(got["count"], resp.T @ observed, rtol=1e-12)
