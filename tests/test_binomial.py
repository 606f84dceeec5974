"""CoinMixture: maths against scipy, the two-coin tutorial against a direct
maximisation of the likelihood, EM invariants, per-row tosses, errors."""

import doctest

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats
from scipy.special import expit, logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score

import emmix.mixture._binomial
from emmix import CoinMixture
from emmix.datasets import make_coin_rounds
from emmix.mixture._binomial import binomial_log_prob

#: The two-coin tutorial: heads in five rounds of 10 tosses.
TUTORIAL_HEADS = np.array([[5.0], [7.0], [8.0], [9.0], [4.0]])


@pytest.fixture(scope="module")
def rounds():
    """Coins with biases 0.2 and 0.8, picked with probabilities 0.3 and 0.7."""
    return make_coin_rounds(
        n_rounds=1000, n_trials=10, probs=[0.2, 0.8], weights=[0.3, 0.7], random_state=0
    )


def scipy_log_prob(heads, trials, probs):
    """Component log-densities with scipy (trials broadcast against heads)."""
    return np.stack(
        [stats.binom.logpmf(heads, trials, p).sum(axis=1) for p in probs], axis=1
    )


def mixture_nll(theta, heads, trials, log_weights=None):
    """Negative log-likelihood over logits (weight logit first unless fixed)."""
    if log_weights is None:
        w = expit(theta[0])
        log_weights = np.log([w, 1 - w])
        theta = theta[1:]
    log_prob = scipy_log_prob(heads, trials, expit(theta)[:, np.newaxis])
    return -logsumexp(log_prob + log_weights, axis=1).sum()


def direct_optimum(heads, trials, n_params, log_weights=None, n_starts=12):
    """Best of several BFGS runs on the mixture likelihood (independent of EM)."""
    rng = np.random.RandomState(0)
    best = None
    for _ in range(n_starts):
        result = optimize.minimize(
            mixture_nll,
            rng.normal(scale=2.0, size=n_params),
            args=(heads, trials, log_weights),
            method="BFGS",
            options={"gtol": 1e-10},
        )
        if best is None or result.fun < best.fun:
            best = result
    return best


def sorted_estimates(weights, probs):
    order = np.argsort(probs)
    return np.asarray(weights)[order], np.asarray(probs)[order]


# ------------------------------------------------------------------ maths
def test_log_prob_matches_scipy_fixed_and_per_feature_trials():
    rng = np.random.RandomState(0)
    trials = np.array([10.0, 3.0, 25.0])
    heads = rng.binomial(trials.astype(int), 0.4, size=(40, 3)).astype(float)
    probs = rng.uniform(0.01, 0.99, size=(4, 3))
    np.testing.assert_allclose(
        binomial_log_prob(heads, trials, probs),
        scipy_log_prob(heads, trials, probs),
        rtol=1e-12,
    )


def test_log_prob_matches_scipy_per_row_trials():
    rng = np.random.RandomState(1)
    trials = rng.randint(0, 30, size=(40, 2)).astype(float)
    heads = rng.binomial(trials.astype(int), 0.6).astype(float)
    probs = rng.uniform(0.01, 0.99, size=(3, 2))
    np.testing.assert_allclose(
        binomial_log_prob(heads, trials, probs),
        scipy_log_prob(heads, trials, probs),
        rtol=1e-12,
        atol=1e-12,
    )


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=2, max_size=10
    ),
    p=st.floats(1e-6, 1 - 1e-6),
    split=st.integers(1, 9),
    seed=st.integers(0, 2**16),
)
def test_log_prob_and_split_stats_property(rows, p, split, seed):
    """Per-row tosses: log-densities equal scipy's, and E-step statistics of
    X[:k] plus those of X[k:] equal those of X."""
    tosses = np.array([max(a, b) for a, b in rows], dtype=float)
    heads = np.array([min(a, b) for a, b in rows], dtype=float)
    X = np.column_stack([heads, tosses])
    probs = np.array([[p], [1 - p]])
    np.testing.assert_allclose(
        binomial_log_prob(X[:, :1], X[:, 1:], probs),
        scipy_log_prob(X[:, :1], X[:, 1:], probs),
        rtol=1e-10,
        atol=1e-10,
    )
    k = min(split, X.shape[0] - 1)
    w = np.random.RandomState(seed).uniform(0.1, 3.0, size=X.shape[0])
    coins = CoinMixture(2, n_trials="from_X")
    params = {"weights": np.array([0.4, 0.6]), "probs": probs}
    whole, loglik = coins._em_estep(X, w, params)
    head, loglik_head = coins._em_estep(X[:k], w[:k], params)
    tail, loglik_tail = coins._em_estep(X[k:], w[k:], params)
    assert set(whole) == {"nk", "heads", "tosses"}
    for key in whole:
        np.testing.assert_allclose(head[key] + tail[key], whole[key], rtol=1e-12)
    np.testing.assert_allclose(loglik_head + loglik_tail, loglik, rtol=1e-12)


def test_score_samples_is_mixture_density(rounds):
    X, _ = rounds
    coins = CoinMixture(2, n_trials=10, random_state=0).fit(X)
    expected = logsumexp(
        scipy_log_prob(X[:20], 10, coins.probs_) + np.log(coins.weights_), axis=1
    )
    np.testing.assert_allclose(coins.score_samples(X[:20]), expected, rtol=1e-12)


# -------------------------------------------------- the two-coin tutorial
def test_two_coin_tutorial_matches_direct_maximisation():
    best = direct_optimum(TUTORIAL_HEADS, 10, n_params=3)
    w = expit(best.x[0])
    ref_weights, ref_probs = sorted_estimates([w, 1 - w], expit(best.x[1:]))
    coins = CoinMixture(
        n_components=2, n_trials=10, tol=1e-14, max_iter=5000, random_state=0
    ).fit(TUTORIAL_HEADS)
    weights, probs = sorted_estimates(coins.weights_, coins.probs_[:, 0])
    np.testing.assert_allclose(probs, ref_probs, atol=1e-5)
    np.testing.assert_allclose(weights, ref_weights, atol=1e-5)
    np.testing.assert_allclose(coins.score(TUTORIAL_HEADS) * 5, -best.fun, atol=1e-9)


def test_two_coin_tutorial_known_equal_weights():
    """Coins picked equally often: fixed weights, only the biases are fitted."""
    log_half = np.log([0.5, 0.5])
    best = direct_optimum(TUTORIAL_HEADS, 10, n_params=2, log_weights=log_half)
    coins = CoinMixture(
        n_components=2,
        n_trials=10,
        weights_init=[0.5, 0.5],
        fixed_params={"weights"},
        tol=1e-14,
        max_iter=5000,
        random_state=0,
    ).fit(TUTORIAL_HEADS)
    np.testing.assert_array_equal(coins.weights_, [0.5, 0.5])
    np.testing.assert_allclose(
        np.sort(coins.probs_[:, 0]), np.sort(expit(best.x)), atol=1e-5
    )
    n = len(TUTORIAL_HEADS)
    assert (
        round((coins.aic(TUTORIAL_HEADS) + 2 * coins.score(TUTORIAL_HEADS) * n) / 2)
        == 2
    )


def test_per_row_tosses_match_direct_maximisation():
    heads = np.array([1, 2, 9, 14, 3, 17, 0, 6, 11, 2], dtype=float)
    tosses = np.array([5, 10, 12, 20, 8, 20, 4, 15, 13, 9], dtype=float)
    best = direct_optimum(heads[:, None], tosses[:, None], n_params=3)
    w = expit(best.x[0])
    ref_weights, ref_probs = sorted_estimates([w, 1 - w], expit(best.x[1:]))
    coins = CoinMixture(
        2, n_trials="from_X", tol=1e-14, max_iter=5000, n_init=3, random_state=0
    ).fit(np.column_stack([heads, tosses]))
    weights, probs = sorted_estimates(coins.weights_, coins.probs_[:, 0])
    np.testing.assert_allclose(probs, ref_probs, atol=1e-5)
    np.testing.assert_allclose(weights, ref_weights, atol=1e-5)


# ------------------------------------------------------ recovery and engine
def test_recovers_coin_biases(rounds):
    X, y = rounds
    coins = CoinMixture(2, n_trials=10, tol=1e-8, random_state=0).fit(X)
    weights, probs = sorted_estimates(coins.weights_, coins.probs_[:, 0])
    # Standard errors: ~0.006 for the biases, ~0.015 for the weights.
    np.testing.assert_allclose(probs, [0.2, 0.8], atol=0.03)
    np.testing.assert_allclose(weights, [0.3, 0.7], atol=0.06)
    labels = coins.predict(X)
    agreement = np.mean(labels == y)
    assert max(agreement, 1 - agreement) > 0.97


def test_per_feature_trials_recovery():
    X, _ = make_coin_rounds(
        n_rounds=800,
        n_trials=[5, 40],
        probs=[[0.1, 0.3], [0.7, 0.6]],
        random_state=2,
    )
    coins = CoinMixture(2, n_trials=[5, 40], tol=1e-8, random_state=0).fit(X)
    order = np.argsort(coins.probs_[:, 0])
    np.testing.assert_allclose(coins.probs_[order], [[0.1, 0.3], [0.7, 0.6]], atol=0.03)


def test_from_X_with_constant_tosses_equals_fixed_n_trials(rounds):
    X, _ = rounds
    X = X[:200]
    fixed = CoinMixture(2, n_trials=10, random_state=0).fit(X)
    paired_X = np.column_stack([X, np.full(len(X), 10.0)])
    paired = CoinMixture(2, n_trials="from_X", random_state=0).fit(paired_X)
    # Equal in exact arithmetic; SQUAREM's extrapolations (the default)
    # amplify the rounding differences of the two sums a little.
    np.testing.assert_allclose(paired.probs_, fixed.probs_, rtol=1e-10)
    np.testing.assert_allclose(paired.weights_, fixed.weights_, rtol=1e-10)
    np.testing.assert_allclose(
        paired.score_samples(paired_X), fixed.score_samples(X), rtol=1e-12
    )


def test_from_X_works_with_cross_validation():
    """Tosses travel with the rows, so CV splits need nothing special."""
    rng = np.random.RandomState(3)
    tosses = rng.randint(1, 30, size=120).astype(float)
    heads = rng.binomial(tosses.astype(int), np.where(rng.rand(120) < 0.5, 0.2, 0.8))
    X = np.column_stack([heads, tosses])
    scores = cross_val_score(CoinMixture(2, n_trials="from_X", random_state=0), X, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


# ------------------------------------------------- hard EM, fixed params
def test_hard_em_is_a_fixed_point_of_group_proportions(rounds):
    """At convergence hard-EM biases are the heads proportions of each group."""
    X = rounds[0][:300]
    coins = CoinMixture(
        2, n_trials=10, assignment="hard", tol=1e-12, random_state=0
    ).fit(X)
    assert coins.converged_
    labels = coins.predict(X)
    for k in range(2):
        np.testing.assert_allclose(coins.probs_[k], X[labels == k].mean(axis=0) / 10)
        np.testing.assert_allclose(coins.weights_[k], np.mean(labels == k))


def test_fixed_probs_stay(rounds):
    X = rounds[0][:100]
    probs = np.array([[0.25], [0.75]])
    coins = CoinMixture(2, n_trials=10, probs_init=probs, fixed_params={"probs"})
    coins.fit(X)
    np.testing.assert_array_equal(coins.probs_, probs)
    # Stationarity in the weights: each is the mean responsibility.
    np.testing.assert_allclose(
        coins.weights_, coins.predict_proba(X).mean(axis=0), atol=1e-3
    )


def test_prob_floor_keeps_densities_finite():
    coins = CoinMixture(n_trials=10).fit(np.zeros((4, 1)))
    np.testing.assert_allclose(coins.probs_, 1e-10)
    assert np.isfinite(coins.score_samples([[10.0]])[0])
    coins32 = CoinMixture(n_trials=10).fit(np.full((4, 1), 10.0, dtype=np.float32))
    assert coins32.probs_.dtype == np.float32
    assert coins32.probs_[0, 0] < 1.0
    assert np.isfinite(coins32.score_samples(np.zeros((1, 1), np.float32))[0])


def test_sample(rounds):
    coins = CoinMixture(
        2,
        n_trials=[10, 3],
        weights_init=[0.3, 0.7],
        probs_init=[[0.1, 0.5], [0.9, 0.5]],
        max_iter=0,
    ).fit([[0, 0], [10, 3]])
    X, y = coins.sample(3000)
    assert X.shape == (3000, 2)
    assert X[:, 0].max() <= 10 and X[:, 1].max() <= 3
    np.testing.assert_allclose(X[y == 1, 0].mean(), 9.0, atol=0.1)
    with pytest.raises(ValueError, match=r"sample.*from_X"):
        CoinMixture(n_trials="from_X").fit([[1, 2], [2, 2]]).sample(3)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "value, match",
    [
        (-1.0, r"Negative values in data.*row 2, column 1"),
        (11.0, r"X\[2, 1\] = 11.0 heads at row 2, column 1 exceeds the 10.0 tosses"),
        (np.inf, r"infinity at row 2, column 1"),
    ],
)
def test_bad_values_rejected_before_any_work(value, match):
    X = np.ones((5, 2))
    X[2, 1] = value
    coins = CoinMixture(n_trials=10)
    with pytest.raises(ValueError, match=match):
        coins.fit(X)
    assert not hasattr(coins, "weights_")
    fitted = CoinMixture(n_trials=10).fit(np.ones((5, 2)))
    with pytest.raises(ValueError, match=match):
        fitted.predict(X)


def test_from_X_errors():
    with pytest.raises(ValueError, match="even number of columns"):
        CoinMixture(n_trials="from_X").fit(np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"7.0 heads at row 1, column 0 exceeds .*5.0"):
        CoinMixture(n_trials="from_X").fit([[1, 5], [7, 5]])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_trials": [10, 10, 10]}, r"n_trials has shape \(3,\) but X has 2"),
        ({"n_trials": [10, 2.5]}, "positive integers"),
        ({"n_trials": 0}, "n_trials"),
        ({"n_trials": "per_row"}, "n_trials"),
        ({"probs_init": [[0.5], [0.5]]}, r"probs_init.*shape of \(2, 2\)"),
        ({"probs_init": [[0.5, 1.5], [0.5, 0.5]]}, r"must lie in \[0, 1\]"),
        ({"prob_floor": 0.5}, "prob_floor"),
        ({"fixed_params": {"rates"}}, "unknown parameter groups"),
    ],
)
def test_bad_parameters(kwargs, match):
    kwargs = {"n_components": 2, "n_trials": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        CoinMixture(**kwargs).fit(np.ones((4, 2)))


# ---------------------------------------------------------------- datasets
def test_make_coin_rounds():
    kwargs = {"n_trials": [10, 2], "probs": [[0.2, 0.0], [0.8, 1.0]], "weights": [1, 1]}
    X, y = make_coin_rounds(n_rounds=20000, random_state=0, **kwargs)
    again, _ = make_coin_rounds(n_rounds=20000, random_state=0, **kwargs)
    np.testing.assert_array_equal(X, again)
    assert X.shape == (20000, 2) and X.dtype == np.float64
    # Tolerances are about 4 standard errors.
    np.testing.assert_allclose(np.mean(y == 1), 0.5, atol=0.015)
    np.testing.assert_allclose(X[y == 0, 0].mean(), 2.0, atol=0.05)
    np.testing.assert_array_equal(X[y == 0, 1], 0)
    np.testing.assert_array_equal(X[y == 1, 1], 2)
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\]"):
        make_coin_rounds(probs=[0.5, 1.5])
    with pytest.raises(ValueError, match="n_trials must be an int or have shape"):
        make_coin_rounds(n_trials=[10, 10])


def test_docstring_examples():
    result = doctest.testmod(
        emmix.mixture._binomial, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("n_trials", [10, "from_X"])
def test_chunks_with_and_without_missing_counts_equal_one_chunk(n_trials):
    """Each chunk remembers for the fit whether it has missing counts: chunks
    with and without them must add up to the one-chunk fit."""
    from sklearn import config_context

    rng = np.random.RandomState(5)
    n = 3000
    labels = rng.rand(n) < 0.4
    heads = rng.binomial(10, np.where(labels, 0.8, 0.3)[:, None], size=(n, 2))
    X = heads.astype(float)
    if n_trials == "from_X":
        X = np.column_stack([X, np.full((n, 2), 10.0)])
    X[rng.choice(300, 60, replace=False), 0] = np.nan  # missing in the first rows
    kwargs = dict(
        n_trials=n_trials,
        probs_init=[[0.6, 0.5], [0.4, 0.5]],
        weights_init=[0.5, 0.5],
        max_iter=15,
        tol=0.0,
        accelerate=None,
    )
    one = CoinMixture(2, **kwargs)
    many = CoinMixture(2, **kwargs)
    with pytest.warns(ConvergenceWarning):
        one.fit(X)
    with config_context(working_memory=0.01), pytest.warns(ConvergenceWarning):
        many.fit(X)  # chunks of 59 rows: only those in the first 300 have NaN
    np.testing.assert_allclose(many.probs_, one.probs_, rtol=1e-12)
    np.testing.assert_allclose(many.lower_bounds_, one.lower_bounds_, rtol=1e-12)
    # and the observed-data likelihood is scipy's, missing counts left out
    observed = ~np.isnan(X[:, :2])
    trials = 10.0
    log_joint = np.stack(
        [
            np.log(w)
            + np.where(
                observed, stats.binom.logpmf(np.nan_to_num(X[:, :2]), trials, p), 0.0
            ).sum(axis=1)
            for w, p in zip(many.weights_, many.probs_, strict=True)
        ],
        axis=1,
    )
    np.testing.assert_allclose(
        many.score_samples(X), logsumexp(log_joint, axis=1), rtol=1e-10
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_trials", [50, [10, 3, 25], "from_X"])
@pytest.mark.parametrize("missing", [False, True])
def test_family_hooks_match_scipy_and_weighted_sums(n_trials, missing):
    """The E-step hooks (one product over the rows' kept features; with fixed
    tosses over logit weights) give scipy's log-densities and the weighted
    sums by hand, with and without the fit-long memo, NaN and weights; the
    probabilities near 0 and 1 lose no digits."""
    rng = np.random.RandomState(8)
    n, d, k = 300, 3, 4
    if n_trials == "from_X":
        trials = rng.randint(0, 40, size=(n, d)).astype(float)
    else:
        trials = np.broadcast_to(np.asarray(n_trials, dtype=float), (n, d)).copy()
    heads = rng.binomial(trials.astype(int), 0.7).astype(float)
    X = np.column_stack([heads, trials]) if n_trials == "from_X" else heads.copy()
    if missing:
        X[rng.uniform(size=X.shape) < 0.1] = np.nan
    heads_seen = np.where(np.isnan(X[:, :d]), np.nan, X[:, :d])
    if n_trials == "from_X":
        heads_seen[np.isnan(X[:, d:])] = np.nan
    observed = ~np.isnan(heads_seen)
    probs = rng.uniform(0.01, 0.99, size=(k, d))
    probs[0, 0], probs[1, 1] = 1e-9, 1 - 1e-9
    expected = np.zeros((n, k))
    for kk in range(k):
        terms = stats.binom.logpmf(np.where(observed, heads_seen, 0), trials, probs[kk])
        expected[:, kk] = np.where(observed, terms, 0.0).sum(axis=1)
    w = rng.uniform(0.0, 3.0, size=n)
    resp = rng.dirichlet(np.ones(k), size=n) * w[:, np.newaxis]
    by_hand_heads = resp.T @ np.where(observed, heads_seen, 0.0)
    by_hand_tosses = resp.T @ np.where(observed, trials, 0.0)
    complete = np.column_stack([heads, trials]) if n_trials == "from_X" else heads
    coins = CoinMixture(k, n_trials=n_trials, max_iter=1).fit(complete)
    params = {"weights": np.full(k, 1.0 / k), "probs": probs}
    for cache in (None, {}, {"memo": {}}):
        np.testing.assert_allclose(
            coins._component_log_prob(X, params, cache),
            expected,
            rtol=1e-12,
            atol=1e-12,
        )
        got = coins._component_stats(X, resp, params, cache)
        np.testing.assert_allclose(got["heads"], by_hand_heads, rtol=1e-12)
        np.testing.assert_allclose(got["tosses"], by_hand_tosses, rtol=1e-12)
