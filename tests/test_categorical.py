"""CategoricalMixture (latent class analysis): maths against scipy, direct
optimisation of the likelihood, recovery, labels, missing answers, errors."""

import doctest
import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from scipy.special import log_softmax, logsumexp, softmax
from sklearn import config_context as sklearn_config
from sklearn.exceptions import ConvergenceWarning

import emmix.datasets
import emmix.mixture._categorical
from emmix import CategoricalMixture
from emmix.datasets import make_latent_class
from emmix.mixture._categorical import (
    categorical_log_prob,
    categorical_probs,
    category_index,
    one_hot,
    one_hot_sparse,
)

SIZES = [2, 3, 2, 4]


def random_probs(rng, k, sizes):
    """One (k, C_j) array of category probabilities per item."""
    return [rng.dirichlet(np.full(c, 2.0), size=k) for c in sizes]


def flat(items):
    return np.concatenate(items, axis=1)


def by_hand_log_prob(X, items):
    """``log p(x | k)`` by direct indexing; NaN answers add nothing."""
    n, k = X.shape[0], items[0].shape[0]
    out = np.zeros((n, k))
    for j, p in enumerate(items):
        observed = ~np.isnan(X[:, j])
        out[observed] += np.log(p[:, X[observed, j].astype(int)]).T
    return out


def by_hand_loglik(X, weights, items):
    return float(np.sum(logsumexp(by_hand_log_prob(X, items) + np.log(weights), 1)))


@pytest.fixture(scope="module")
def small():
    """400 rows, 2 classes, items with 2, 3, 2 and 4 categories."""
    rng = np.random.RandomState(1)
    items = random_probs(rng, 2, SIZES)
    X, y = make_latent_class(400, items, weights=[0.35, 0.65], random_state=2)
    return X, y, items


# -------------------------------------------------------------- the maths
def test_log_prob_matches_scipy_multinomial():
    rng = np.random.RandomState(0)
    items = random_probs(rng, 3, SIZES)
    X = np.column_stack([rng.randint(0, c, size=30) for c in SIZES]).astype(float)
    offsets = np.concatenate([[0], np.cumsum(SIZES)])[:-1]
    z = one_hot(category_index(X, offsets, np.array(SIZES)), sum(SIZES))
    expected = np.zeros((30, 3))
    for j, c in enumerate(SIZES):
        counts = np.eye(c)[X[:, j].astype(int)]
        for k in range(3):
            expected[:, k] += stats.multinomial.logpmf(counts, 1, items[j][k])
    np.testing.assert_allclose(
        categorical_log_prob(z, flat(items)), expected, rtol=1e-12
    )
    np.testing.assert_allclose(by_hand_log_prob(X, items), expected, rtol=1e-12)


def test_sparse_one_hot_equals_dense():
    rng = np.random.RandomState(4)
    X = np.column_stack([rng.randint(0, c, size=40) for c in SIZES]).astype(float)
    X[rng.uniform(size=X.shape) < 0.3] = np.nan
    X[0, 1] = 1.5  # not a code (a filled-in mean): no answer
    offsets = np.concatenate([[0], np.cumsum(SIZES)])[:-1]
    index = category_index(X, offsets, np.array(SIZES))
    dense = one_hot(index, sum(SIZES))
    np.testing.assert_array_equal(one_hot_sparse(index, sum(SIZES)).toarray(), dense)
    for i in range(40):
        for j, c in enumerate(SIZES):
            block = dense[i, offsets[j] : offsets[j] + c]
            if np.isnan(X[i, j]) or (i, j) == (0, 1):
                assert block.sum() == 0
            else:
                assert block.tolist() == np.eye(c)[int(X[i, j])].tolist()


def test_score_samples_is_mixture_density(small):
    X, _, _ = small
    lca = CategoricalMixture(2, random_state=0).fit(X)
    expected = logsumexp(
        by_hand_log_prob(X, lca.category_probs_) + np.log(lca.weights_), axis=1
    )
    np.testing.assert_allclose(lca.score_samples(X), expected, rtol=1e-12)
    resp = np.exp(by_hand_log_prob(X, lca.category_probs_) + np.log(lca.weights_))
    resp /= resp.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(lca.predict_proba(X), resp, rtol=1e-10, atol=1e-14)


def test_mstep_closed_form_with_smoothing():
    rng = np.random.RandomState(3)
    X = np.column_stack([rng.randint(0, c, size=50) for c in SIZES]).astype(float)
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    resp = rng.dirichlet([1, 1, 1], size=50)
    offsets = np.concatenate([[0], np.cumsum(SIZES)])[:-1]
    z = one_hot(category_index(X, offsets, np.array(SIZES)), sum(SIZES))
    alpha = 0.7
    got = categorical_probs(resp.T @ z, np.array(SIZES), alpha)
    for j, c in enumerate(SIZES):
        for k in range(3):
            observed = ~np.isnan(X[:, j])
            for cat in range(c):
                num = resp[observed, k] @ (X[observed, j] == cat) + alpha
                den = resp[observed, k].sum() + c * alpha
                assert got[k, offsets[j] + cat] == pytest.approx(num / den, rel=1e-9)


def test_smoothing_keeps_estimates_off_the_boundary():
    X = np.array([[0, 0], [0, 1], [1, 1], [1, 1]] * 5, dtype=float)
    ml = CategoricalMixture(1).fit(X)
    assert ml.category_probs_[0][0].tolist() == pytest.approx([0.5, 0.5])
    assert ml.category_probs_[1][0].tolist() == pytest.approx([0.25, 0.75])
    X[:, 1] = 1
    ml = CategoricalMixture(1, categories=[[0, 1], [0, 1]]).fit(X)
    assert ml.category_probs_[1][0, 0] == pytest.approx(1e-10)  # the floor
    smooth = CategoricalMixture(1, alpha=1.0, categories=[[0, 1], [0, 1]]).fit(X)
    # (0 + 1) / (20 + 2 * 1)
    assert smooth.category_probs_[1][0].tolist() == pytest.approx([1 / 22, 21 / 22])


def test_probs_layout_and_parameter_count(small):
    X, _, _ = small
    lca = CategoricalMixture(3, random_state=0).fit(X)
    assert lca.probs_.shape == (3, sum(SIZES))
    assert lca.n_categories_.tolist() == SIZES
    assert lca.category_offsets_.tolist() == [0, 2, 5, 7, 11]
    for j, p in enumerate(lca.category_probs_):
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
        o = lca.category_offsets_
        np.testing.assert_array_equal(p, lca.probs_[:, o[j] : o[j + 1]])
    n_params = 2 + 3 * sum(c - 1 for c in SIZES)
    expected_bic = -2 * lca.score(X) * len(X) + n_params * math.log(len(X))
    assert lca.bic(X) == pytest.approx(expected_bic, rel=1e-12)


# ------------------------------------------- direct optimisation of the likelihood
def unpack(theta, k, sizes):
    log_w = log_softmax(theta[:k])
    items, start = [], k
    for c in sizes:
        items.append(log_softmax(theta[start : start + k * c].reshape(k, c), axis=1))
        start += k * c
    return log_w, items


def neg_loglik_and_grad(theta, X, k, sizes):
    """Observed-data log-likelihood (softmax parametrisation), direct indexing."""
    log_w, items = unpack(theta, k, sizes)
    joint = np.tile(log_w, (X.shape[0], 1))
    for j, logp in enumerate(items):
        observed = ~np.isnan(X[:, j])
        joint[observed] += logp[:, X[observed, j].astype(int)].T
    log_norm = logsumexp(joint, axis=1)
    resp = np.exp(joint - log_norm[:, np.newaxis])
    grad = [resp.sum(0) - X.shape[0] * np.exp(log_w)]
    for j, logp in enumerate(items):
        observed = ~np.isnan(X[:, j])
        c = logp.shape[1]
        z = np.eye(c)[X[observed, j].astype(int)]
        r = resp[observed]
        grad.append((r.T @ z - r.sum(0)[:, np.newaxis] * np.exp(logp)).ravel())
    return -float(log_norm.sum()), -np.concatenate(grad)


def direct_maximum(X, k, sizes, n_starts=4):
    rng = np.random.RandomState(0)
    size = k + k * sum(sizes)
    theta = rng.normal(size=size)
    err = optimize.check_grad(
        lambda t: neg_loglik_and_grad(t, X, k, sizes)[0],
        lambda t: neg_loglik_and_grad(t, X, k, sizes)[1],
        theta,
    )
    assert err < 1e-4 * np.sqrt(size) * len(X)
    best = None
    for _ in range(n_starts):
        result = optimize.minimize(
            neg_loglik_and_grad,
            rng.normal(size=size),
            args=(X, k, sizes),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-9},
        )
        if best is None or result.fun < best.fun:
            best = result
    return -best.fun


def fit_tight(X, k, **kwargs):
    return CategoricalMixture(
        k, tol=1e-12, max_iter=20000, n_init=4, random_state=0, **kwargs
    ).fit(X)


def test_loglik_matches_direct_optimisation(small):
    X, _, _ = small
    lca = fit_tight(X, 2)
    em = lca.score(X) * len(X)
    direct = direct_maximum(X, 2, SIZES)
    assert em == pytest.approx(direct, rel=1e-6)
    assert em == pytest.approx(by_hand_loglik(X, lca.weights_, lca.category_probs_))


def test_missing_answers_match_direct_optimisation(small):
    X, _, _ = small
    X = X.copy()
    rng = np.random.RandomState(5)
    X[rng.uniform(size=X.shape) < 0.25] = np.nan
    X = X[~np.isnan(X).all(axis=1)]
    lca = fit_tight(X, 2, accelerate="squarem")  # plain EM crawls here
    em = lca.score(X) * len(X)
    assert em == pytest.approx(direct_maximum(X, 2, SIZES), rel=1e-6)
    assert em == pytest.approx(by_hand_loglik(X, lca.weights_, lca.category_probs_))


def test_squarem_reaches_the_same_maximum(small):
    X, _, _ = small
    plain = fit_tight(X, 2, accelerate=None)
    fast = fit_tight(X, 2, accelerate="squarem")
    assert fast.score(X) == pytest.approx(plain.score(X), rel=1e-8)
    assert fast.n_iter_ < plain.n_iter_


# ------------------------------------------------------- published results
#: Stouffer & Toby (1951) role-conflict answers of 216 people to four yes/no
#: items, as tabulated by Goodman (1974): response pattern ("-" is poLCA's
#: category 1) -> count. The same data are poLCA's ``data(values)``.
STOUFFER_TOBY = {
    "++++": 42, "+++-": 23, "++-+": 6, "++--": 25,
    "+-++": 6, "+-+-": 24, "+--+": 7, "+---": 38,
    "-+++": 1, "-++-": 4, "-+-+": 1, "-+--": 6,
    "--++": 2, "--+-": 9, "---+": 2, "----": 20,
}  # fmt: skip
#: poLCA 1.6's documented results on them (``?poLCA`` examples and
#: ``print(M1)``): maximum log-likelihood for 1, 2 and 3 classes, and the
#: 2-class model's shares, Pr(category 1) per item and class, AIC and BIC.
POLCA_LOGLIK = {1: -543.6498, 2: -504.4677, 3: -503.3011}
POLCA_M1 = {
    "shares": [0.2792, 0.7208],
    "pr1": [[0.0068, 0.0602, 0.0735, 0.2309], [0.2864, 0.6704, 0.6460, 0.8676]],
    "aic": 1026.935,
    "bic": 1057.313,
}


def test_matches_polca_on_the_stouffer_toby_data():
    patterns = np.array(
        [[2.0 if ch == "+" else 1.0 for ch in p] for p in STOUFFER_TOBY]
    )
    counts = np.array(list(STOUFFER_TOBY.values()))
    for k, expected in POLCA_LOGLIK.items():
        # Three classes on four items are weakly identified (poLCA needs
        # maxiter=8000): many random starts, accelerated.
        lca = CategoricalMixture(
            k,
            n_init={1: 1, 2: 5, 3: 10}[k],
            init_params="random",
            tol=1e-10,
            max_iter=20000,
            accelerate="squarem",
            random_state=0,
        ).fit(patterns, sample_weight=counts)
        loglik = lca.score(patterns, sample_weight=counts) * counts.sum()
        assert loglik == pytest.approx(expected, abs=6e-5)
        if k != 2:
            continue
        order = np.argsort(lca.weights_)
        np.testing.assert_allclose(lca.weights_[order], POLCA_M1["shares"], atol=6e-5)
        assert lca.categories_[0].tolist() == [1.0, 2.0]
        pr1 = np.array([p[order, 0] for p in lca.category_probs_]).T
        np.testing.assert_allclose(pr1, POLCA_M1["pr1"], atol=6e-5)
        rows = np.repeat(patterns, counts, axis=0)
        assert lca.aic(rows) == pytest.approx(POLCA_M1["aic"], abs=6e-4)
        assert lca.bic(rows) == pytest.approx(POLCA_M1["bic"], abs=6e-4)


# ------------------------------------------------------------------ recovery
def test_recovers_latent_classes():
    X, y, truth = make_latent_class(
        5000, n_classes=4, n_features=20, return_probs=True, random_state=0
    )
    lca = CategoricalMixture(4, n_init=5, random_state=0).fit(X)
    true_ones = np.array([p[:, 1] for p in truth]).T  # (4, 20)
    fitted_ones = np.array([p[:, 1] for p in lca.category_probs_]).T
    cost = np.abs(true_ones[:, np.newaxis] - fitted_ones[np.newaxis]).sum(axis=2)
    rows, cols = optimize.linear_sum_assignment(cost)
    error = np.abs(true_ones[rows] - fitted_ones[cols])
    assert error.max() < 0.04
    assert error.mean() < 0.01
    counts = np.bincount(y, minlength=4) / len(y)
    np.testing.assert_allclose(lca.weights_[cols], counts[rows], atol=0.01)
    assert lca.entropy_r2(X) > 0.9


def test_entropy_r2_by_hand(small):
    X, _, _ = small
    lca = CategoricalMixture(3, random_state=0).fit(X)
    resp = lca.predict_proba(X)
    total = 0.0
    for row in resp:
        for r in row:
            if r > 0:
                total -= r * math.log(r)
    expected = 1 - total / (len(X) * math.log(3))
    assert lca.entropy_r2(X) == pytest.approx(expected, rel=1e-12)
    w = np.arange(len(X)) % 3
    ent = np.array([-sum(r * math.log(r) for r in row if r > 0) for row in resp])
    expected_w = 1 - (w @ ent) / (w.sum() * math.log(3))
    assert lca.entropy_r2(X, sample_weight=w) == pytest.approx(expected_w)
    assert CategoricalMixture(1).fit(X).entropy_r2(X) == 1.0


# --------------------------------------------------------- engine features
def test_integer_weights_equal_repeated_rows(small):
    X, _, _ = small
    X = X[:60]
    w = np.random.RandomState(0).randint(0, 4, size=60)
    a = CategoricalMixture(2, random_state=0, tol=1e-10, max_iter=500)
    b = CategoricalMixture(2, random_state=0, tol=1e-10, max_iter=500)
    init = np.array([[0.3, 0.7], [0.6, 0.4]])
    a.set_params(weights_init=[0.5, 0.5], probs_init=_starting_probs(X, init))
    b.set_params(weights_init=[0.5, 0.5], probs_init=_starting_probs(X, init))
    a.fit(X, sample_weight=w)
    b.fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(a.probs_, b.probs_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-8)


def _starting_probs(X, first_item_probs):
    """Start: item 0 as given, other items uniform (categories of X)."""
    items = [np.asarray(first_item_probs)]
    for j in range(1, X.shape[1]):
        c = len(np.unique(X[:, j]))
        items.append(np.full((2, c), 1 / c))
    return items


def test_fixed_probs_and_partial_fit(small):
    X, _, items = small
    lca = CategoricalMixture(
        2, probs_init=items, fixed_params={"probs"}, random_state=0
    ).fit(X)
    np.testing.assert_allclose(lca.probs_, flat(items), rtol=1e-9)
    assert lca._n_parameters() == 1
    stream = CategoricalMixture(2, random_state=0)
    for chunk in np.array_split(X, 4):
        stream.partial_fit(chunk)
    assert np.all(np.isfinite(stream.probs_))
    with pytest.raises(ValueError, match="partial_fit needs alpha=0"):
        CategoricalMixture(2, alpha=1.0).partial_fit(X)


def test_warm_start_needs_the_same_categories(small):
    X, _, _ = small
    lca = CategoricalMixture(2, warm_start=True, random_state=0).fit(X)
    lca.fit(X[::2])  # same categories: continues
    assert lca.n_iter_ >= 1
    with pytest.raises(ValueError, match="categories of this X differ"):
        lca.fit(np.where(X == 0, 5.0, X))


def test_start_features_are_one_hot(small):
    X, _, _ = small
    lca = CategoricalMixture(2, random_state=0).fit(X)
    offsets = lca.category_offsets_[:-1]
    dense = one_hot(category_index(X, offsets, lca.n_categories_), 11)
    np.testing.assert_array_equal(lca._init_features(X).toarray(), dense)


def test_float32_stays_float32(small):
    X, _, _ = small
    lca = CategoricalMixture(2, random_state=0).fit(X.astype(np.float32))
    assert lca.probs_.dtype == np.float32
    assert lca.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_log_likelihood_never_decreases(small):
    X, _, _ = small
    lca = CategoricalMixture(3, tol=0, max_iter=60, random_state=1)
    with pytest.warns(ConvergenceWarning):
        lca.fit(X)
    assert np.all(np.diff(lca.lower_bounds_) >= -1e-12)


def test_random_start_and_sample(small):
    X, _, _ = small
    lca = CategoricalMixture(2, init_params="random", n_init=3, random_state=0)
    lca.fit(X)
    draws, labels = lca.sample(2000)
    assert draws.shape == (2000, 4) and labels.shape == (2000,)
    for j, c in enumerate(SIZES):
        assert set(np.unique(draws[:, j])) <= set(range(c))
    # Drawn frequencies follow the fitted marginal of item 1.
    marginal = lca.weights_ @ lca.category_probs_[1]
    freq = np.bincount(draws[:, 1].astype(int), minlength=3) / 2000
    np.testing.assert_allclose(freq, marginal, atol=0.04)


def test_pickle_round_trip(small):
    X, _, _ = small
    lca = CategoricalMixture(2, random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(lca))
    np.testing.assert_array_equal(again.predict_proba(X), lca.predict_proba(X))


# --------------------------------------------------------------- labels
LETTERS = [["a", "b"], ["x", "y", "z"], ["no", "yes"], ["p", "q", "r", "s"]]


def as_labels(X):
    out = np.empty(X.shape, dtype=object)
    for j in range(X.shape[1]):
        missing = np.isnan(X[:, j])
        out[missing, j] = None
        out[~missing, j] = np.asarray(LETTERS[j])[X[~missing, j].astype(int)]
    return out


def test_string_labels_round_trip(small):
    X, _, _ = small
    labels = as_labels(X)
    on_codes = CategoricalMixture(2, random_state=0).fit(X)
    on_labels = CategoricalMixture(2, random_state=0).fit(labels.astype(str))
    assert [c.tolist() for c in on_labels.categories_] == [list(c) for c in LETTERS]
    np.testing.assert_allclose(on_labels.probs_, on_codes.probs_, rtol=1e-12)
    np.testing.assert_array_equal(on_labels.predict(labels), on_codes.predict(X))
    draws, _ = on_labels.sample(50)
    assert draws.dtype == object
    for j in range(4):
        assert set(draws[:, j]) <= set(LETTERS[j])
    frame = pd.DataFrame(labels, columns=["q1", "q2", "q3", "q4"])
    on_frame = CategoricalMixture(2, random_state=0).fit(frame)
    assert on_frame.feature_names_in_.tolist() == ["q1", "q2", "q3", "q4"]
    np.testing.assert_allclose(on_frame.probs_, on_codes.probs_, rtol=1e-12)
    np.testing.assert_allclose(
        on_frame.score_samples(frame), on_codes.score_samples(X), rtol=1e-12
    )


def test_numeric_labels_and_pandas_categorical():
    X = np.array([[1, 10], [5, 10], [5, 20], [2, 30], [1, 20]] * 4, dtype=float)
    lca = CategoricalMixture(1).fit(X)
    assert lca.categories_[0].tolist() == [1.0, 2.0, 5.0]
    np.testing.assert_allclose(lca.category_probs_[0], [[0.4, 0.2, 0.4]])
    frame = pd.DataFrame({"a": pd.Categorical(["u", "v", "u", None] * 5), "b": X[:, 1]})
    fitted = CategoricalMixture(1).fit(frame)
    assert fitted.categories_[0].tolist() == ["u", "v"]
    np.testing.assert_allclose(fitted.category_probs_[0], [[2 / 3, 1 / 3]])


def test_unknown_category_is_named(small):
    X, _, _ = small
    labels = as_labels(X).astype(str)
    lca = CategoricalMixture(2, random_state=0).fit(labels)
    bad = labels[:3].copy()
    bad[2, 1] = "w"
    with pytest.raises(ValueError, match=r"Unknown category 'w' at row 2, column 1"):
        lca.predict(bad)
    frame = pd.DataFrame(bad, columns=["q1", "q2", "q3", "q4"])
    lca.fit(pd.DataFrame(labels, columns=["q1", "q2", "q3", "q4"]))
    with pytest.raises(ValueError, match=r"row 2, column 1 \('q2'\)"):
        lca.predict(frame)
    codes = CategoricalMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"Unknown category 7.0 at row 0, column 0"):
        codes.score_samples(np.array([[7.0, 0, 0, 0]]))
    ignoring = CategoricalMixture(2, random_state=0, handle_unknown="ignore").fit(X)
    np.testing.assert_allclose(
        ignoring.score_samples(np.array([[7.0, 0, 1, 0]])),
        ignoring.score_samples(np.array([[np.nan, 0, 1, 0]])),
    )


@pytest.mark.parametrize(
    "bad, error, match",
    [
        ([["a", 1.0], ["b", 2.0], ["a", 1.0]], None, None),
        ([["a", 1], [2, 2], ["a", 1]], TypeError, "mix strings and numbers"),
        ([[{"x": 1}, "a"], ["b", "a"], ["b", "c"]], TypeError, "string or a real"),
        ([[0.5, 1], [1.5, 2], [np.inf, 1]], ValueError, "infinity"),
    ],
)
def test_bad_labels(bad, error, match):
    X = np.array(bad, dtype=object)
    lca = CategoricalMixture(1)
    if error is None:
        lca.fit(X)  # one string column and one numeric column
        assert lca.categories_[1].tolist() == [1.0, 2.0]
        return
    with pytest.raises(error, match=match):
        lca.fit(X)


def test_bad_parameters(small):
    X, _, _ = small
    with pytest.raises(ValueError, match="one list of categories per column"):
        CategoricalMixture(categories=[[0, 1]]).fit(X)
    with pytest.raises(ValueError, match=r"Unknown category 3\.0"):
        CategoricalMixture(categories=[[0, 1], [0, 1, 2], [0, 1], [0, 1, 2]]).fit(X)
    with pytest.raises(ValueError, match=r"shape of \(2, 11\)"):
        CategoricalMixture(2, probs_init=np.ones((2, 3))).fit(X)
    with pytest.raises(ValueError, match="sum to 1 within each item"):
        CategoricalMixture(2, probs_init=np.full((2, 11), 0.3)).fit(X)
    with pytest.raises(ValueError, match="alpha"):
        CategoricalMixture(alpha=-1).fit(X)


def test_dask_fit_on_labels(small):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    X, _, _ = small
    labels = np.where(np.isnan(X), np.nan, 10 * X + 3)  # codes 0, 1 -> 3, 13
    labels[::7, 2] = np.nan
    start = {
        "weights_init": [0.5, 0.5],
        "probs_init": _starting_probs(X, [[0.3, 0.7], [0.6, 0.4]]),
    }
    in_memory = CategoricalMixture(2, tol=0, max_iter=5, **start)
    in_memory = _fit_quiet(in_memory, labels)
    blocks = da.from_array(labels, chunks=(150, 4))
    with dask.config.set(scheduler="synchronous"):
        lazy = _fit_quiet(CategoricalMixture(2, tol=0, max_iter=5, **start), blocks)
        proba = lazy.predict_proba(blocks).compute()
        filled = lazy.impute(blocks).compute()
    assert [c.tolist() for c in lazy.categories_] == [
        c.tolist() for c in in_memory.categories_
    ]
    np.testing.assert_allclose(lazy.probs_, in_memory.probs_, rtol=1e-10)
    np.testing.assert_allclose(proba, in_memory.predict_proba(labels), rtol=1e-10)
    np.testing.assert_array_equal(filled, in_memory.impute(labels))
    bad = labels.copy()
    bad[200, 1] = 99.0
    with dask.config.set(scheduler="synchronous"):
        with pytest.raises(ValueError, match=r"Unknown category 99\.0 at row 50"):
            lazy.predict(da.from_array(bad, chunks=(150, 4))).compute()


def _fit_quiet(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X)


# ------------------------------------------------------------ imputation
def test_impute_takes_the_most_probable_category(small):
    X, _, _ = small
    lca = CategoricalMixture(2, random_state=0).fit(X)
    holes = X[:40].copy()
    holes[::2, 1] = np.nan
    holes[1::4, 3] = np.nan
    filled = lca.impute(holes)
    observed = ~np.isnan(holes)
    np.testing.assert_array_equal(filled[observed], holes[observed])
    for i in np.flatnonzero(np.isnan(holes).any(axis=1)):
        log_post = by_hand_log_prob(holes[i : i + 1], lca.category_probs_)[0]
        post = softmax(log_post + np.log(lca.weights_))
        for j in np.flatnonzero(np.isnan(holes[i])):
            assert filled[i, j] == np.argmax(post @ lca.category_probs_[j])
    labelled = CategoricalMixture(2, random_state=0).fit(as_labels(X))
    filled_labels = labelled.impute(as_labels(holes))
    np.testing.assert_array_equal(filled_labels, as_labels(filled))


# ------------------------------------------------------------ generator
def test_make_latent_class_frequencies():
    items = [np.array([[0.1, 0.9], [0.7, 0.3]]), np.array([[0.2, 0.3, 0.5]] * 2)]
    X, y = make_latent_class(20000, items, weights=[0.25, 0.75], random_state=0)
    assert abs(np.mean(y == 0) - 0.25) < 0.01
    for j, p in enumerate(items):
        for k in range(2):
            freq = np.bincount(X[y == k, j].astype(int), minlength=p.shape[1])
            freq = freq / freq.sum()
            np.testing.assert_allclose(freq, p[k], atol=0.02)
    X2, _ = make_latent_class(20000, items, weights=[0.25, 0.75], random_state=0)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="must sum to 1"):
        make_latent_class(10, [np.array([[0.5, 0.6]])])
    with pytest.raises(ValueError, match="n_categories"):
        make_latent_class(10, n_categories=0)


@pytest.mark.parametrize("module", [emmix.mixture._categorical, emmix.datasets])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------ description
def test_plot_bars_are_the_category_probabilities(small):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from emmix.plotting import plot_mixture

    X, _, _ = small
    lca = CategoricalMixture(2, random_state=0).fit(X)
    fig, ax = plt.subplots()
    try:
        plot_mixture(lca, X, ax, features=(3,))
        bars = [p for p in ax.patches if isinstance(p, Rectangle)]
        heights = np.array([b.get_height() for b in bars]).reshape(2, 4)
        np.testing.assert_allclose(heights, lca.category_probs_[3], rtol=1e-12)
        share = np.bincount(X[:, 3].astype(int), minlength=4) / len(X)
        marks = np.vstack(
            [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
        )
        np.testing.assert_allclose(marks[:, 1], share, rtol=1e-12)
        assert "class 1" in ax.get_legend().get_texts()[1].get_text()
    finally:
        plt.close(fig)


def test_describe_component_names_the_modal_answers():
    frame = pd.DataFrame({"smoker": ["yes", "yes", "no", "yes"], "n": [1, 2, 2, 2]})
    lca = CategoricalMixture(1).fit(frame)
    assert lca._describe_component(0) == (
        "weight 1.000, most probable answers: smoker='yes' (0.75), n=2 (0.75)"
    )
    assert lca._component_label(0) == "class 1"


def test_standard_errors_match_an_independent_hessian():
    """Binary items: SEs along the simplex equal the inverse Hessian of a
    likelihood written by hand in (weight, P(category 1)) coordinates."""
    from scipy.special import logsumexp

    from emmix.inference import standard_errors

    rng = np.random.RandomState(0)
    z = rng.rand(600) < 0.4
    p = np.where(z[:, None], [0.9, 0.8, 0.2, 0.7], [0.2, 0.3, 0.7, 0.1])
    X = (rng.rand(600, 4) < p).astype(float)
    model = CategoricalMixture(2, random_state=0).fit(X)
    se = standard_errors(model, X)

    def loglik(t):
        w = np.array([t[0], 1 - t[0]])
        q = t[1:].reshape(2, 4)
        terms = X[:, None, :] * np.log(q) + (1 - X[:, None, :]) * np.log(1 - q)
        return logsumexp(np.log(w) + terms.sum(axis=2), axis=1).sum()

    t0 = np.concatenate([[model.weights_[0]], model.probs_[:, 1::2].ravel()])
    h, n = 1e-4, t0.size
    hessian = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            e, f = np.eye(n)[i] * h, np.eye(n)[j] * h
            hessian[i, j] = (
                loglik(t0 + e + f)
                - loglik(t0 + e - f)
                - loglik(t0 - e + f)
                + loglik(t0 - e - f)
            ) / (4 * h * h)
    expected = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    np.testing.assert_allclose(se["weights_"][0], expected[0], rtol=1e-3)
    np.testing.assert_allclose(se["probs_"][:, 1::2].ravel(), expected[1:], rtol=1e-3)
    # The two categories of an item have the same SE (one free coordinate).
    np.testing.assert_allclose(se["probs_"][:, 0::2], se["probs_"][:, 1::2])


# ------------------------------------------------- fast paths (issue 16)
def _random_answers(rng, n, sizes, missing):
    X = np.column_stack([rng.randint(0, c, size=n) for c in sizes]).astype(float)
    holes = rng.uniform(size=X.shape) < missing
    holes[holes.all(axis=1), 0] = False  # every row keeps an answer
    X[holes] = np.nan
    return X


def _without_dense(monkeypatch):
    monkeypatch.setattr(CategoricalMixture, "_dense", lambda self: False)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("missing", [0.0, 0.25])
def test_dense_estep_equals_sparse_and_scipy(monkeypatch, missing):
    # The dense and the sparse one-hot rows give the same log-densities
    # (scipy's) and statistics (sums of weighted responsibilities by hand),
    # with NaN and sample weights.
    rng = np.random.RandomState(11)
    sizes = [2, 2, 3, 1, 2]  # at most 2 columns per item: dense
    X = _random_answers(rng, 300, sizes, missing)
    w = rng.uniform(0.0, 3.0, size=300)
    lca = CategoricalMixture(3, random_state=0, max_iter=2).fit(X, sample_weight=w)
    assert lca._dense()
    params = lca._em_load()
    expected = np.zeros((300, 3))
    for j, c in enumerate(sizes):
        probs = lca.category_probs_[j]
        seen = ~np.isnan(X[:, j])
        for k in range(3):
            counts = np.eye(c)[X[seen, j].astype(int)]
            expected[seen, k] += stats.multinomial.logpmf(counts, 1, probs[k])
    resp = rng.dirichlet(np.ones(3), size=300) * w[:, np.newaxis]
    by_hand = np.zeros_like(lca.probs_)
    for j, c in enumerate(sizes):
        for cat in range(c):
            rows = X[:, j] == cat
            by_hand[:, lca.category_offsets_[j] + cat] = resp[rows].sum(axis=0)
    dense_log_prob = lca._component_log_prob(X, params)
    dense_counts = lca._component_stats(X, resp, params)["counts"]
    np.testing.assert_allclose(dense_log_prob, expected, rtol=1e-12)
    np.testing.assert_allclose(dense_counts, by_hand, rtol=1e-12)
    _without_dense(monkeypatch)
    np.testing.assert_allclose(
        lca._component_log_prob(X, params), dense_log_prob, rtol=1e-13
    )
    np.testing.assert_allclose(
        lca._component_stats(X, resp, params)["counts"], dense_counts, rtol=1e-13
    )


@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_dense_fit_equals_sparse_fit(monkeypatch, missing):
    # The whole fit (start, iterations, chunks on threads) through the dense
    # or the sparse one-hot rows: the same numbers.
    rng = np.random.RandomState(3)
    items = [rng.dirichlet(np.full(c, 0.5), size=3) for c in [2] * 8 + [3, 1]]
    X, _ = make_latent_class(3000, items, weights=[0.2, 0.3, 0.5], random_state=4)
    holes = rng.uniform(size=X.shape) < missing
    holes[holes.all(axis=1), 0] = False
    X[holes] = np.nan
    w = rng.randint(0, 4, size=3000).astype(float)
    kwargs = dict(tol=0.0, max_iter=50, accelerate=None, random_state=1)
    with sklearn_config(working_memory=0.02), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0: 50 steps
        dense = CategoricalMixture(3, **kwargs).fit(X, sample_weight=w)
        assert dense._dense()
        _without_dense(monkeypatch)
        sparse = CategoricalMixture(3, **kwargs).fit(X, sample_weight=w)
    np.testing.assert_allclose(dense.probs_, sparse.probs_, rtol=1e-12)
    np.testing.assert_allclose(dense.weights_, sparse.weights_, rtol=1e-12)
    np.testing.assert_allclose(
        dense.lower_bounds_, sparse.lower_bounds_, rtol=1e-12, atol=0
    )
    np.testing.assert_allclose(
        np.dot(w, dense.score_samples(X)),
        by_hand_loglik_weighted(X, w, dense.weights_, dense.category_probs_),
        rtol=1e-12,
    )


def by_hand_loglik_weighted(X, w, weights, items):
    rows = logsumexp(by_hand_log_prob(X, items) + np.log(weights), axis=1)
    return float(np.dot(w, rows))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_wide_items_take_the_sparse_path():
    # Many categories per item: the sparse one-hot rows (one term per answer).
    rng = np.random.RandomState(0)
    X = _random_answers(rng, 200, [12, 9, 2], 0.1)
    lca = CategoricalMixture(2, random_state=0, max_iter=3).fit(X)
    assert not lca._dense()
    cache: dict = {}
    assert hasattr(lca._one_hot(X, cache), "tocsr")
    np.testing.assert_allclose(
        lca._component_log_prob(X, lca._em_load()),
        by_hand_log_prob(X, lca.category_probs_),
        rtol=1e-12,
    )


def _per_column_categories(X):
    return [np.unique(c[~np.isnan(c)]) for c in X.T]


@pytest.mark.parametrize(
    ("values", "counted"),
    [
        ([0, 1], True),
        ([-3, 0, 5, 2], True),
        ([1, 2, 70000], False),  # too wide a range: sorted per column
        ([0.5, 1, 2], False),  # not integers
        ([-0.0, 1], False),  # np.unique keeps -0.0
        ([3e9, 1], False),  # too large
    ],
)
def test_integer_encoding_equals_per_column_encoding(values, counted):
    # Learned categories are np.unique's; codes are each label's position in
    # its column's categories, -2 for an unknown label, NaN where missing.
    mod = emmix.mixture._categorical
    rng = np.random.RandomState(2)
    X = rng.choice(np.array(values, dtype=float), size=(400, 3))
    X[:, 1] = rng.choice([4.0, 7.0, 9.0], size=400)
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    missing = np.isnan(X)
    cats = mod._learn_integer_categories(X, missing)
    expected = _per_column_categories(X)
    assert (cats is not None) == counted
    if cats is not None:
        assert len(cats) == 3
        for got, want in zip(cats, expected, strict=True):
            np.testing.assert_array_equal(got, want)
            assert np.array_equal(np.signbit(got), np.signbit(want))
    # Encode other rows (with labels outside the categories) both ways.
    Y = np.where(rng.uniform(size=X.shape) < 0.1, 8.0, X)
    Y[0, 0], Y[1, 1], Y[2, 2] = 0.25, -1.0, 1e300
    fast = mod._encode_integers(Y, np.isnan(Y), expected)
    slow = np.column_stack(
        [mod._encode_column(Y[:, j], np.isnan(Y[:, j]), expected[j]) for j in range(3)]
    )
    assert (fast is not None) == (counted or values == [-0.0, 1])
    if fast is not None:
        np.testing.assert_array_equal(fast, slow)
    by_hand = np.full(Y.shape, np.nan)
    for j in range(3):
        for i in range(Y.shape[0]):
            if not np.isnan(Y[i, j]):
                hit = np.flatnonzero(expected[j] == Y[i, j])
                by_hand[i, j] = hit[0] if hit.size else -2
    np.testing.assert_array_equal(slow, by_hand)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("labels", [[-2.0, 0.0, 3.0, 4.0], [0.0, 1.0, 2.0]])
def test_fitted_categories_and_codes_of_integer_labels(labels):
    rng = np.random.RandomState(5)
    X = rng.choice(labels, size=(300, 4))
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    X[3, 2] = -0.0 if np.isnan(X[3, 2]) or X[3, 2] == 0 else X[3, 2]
    lca = CategoricalMixture(2, random_state=0, max_iter=5).fit(X)
    # The codes the fit used (of the rows as given at fit).
    fit_codes = lca._validate_input(X, reset=True)
    assert not np.signbit(fit_codes[~np.isnan(fit_codes)]).any()
    for got, want in zip(lca.categories_, _per_column_categories(X), strict=True):
        np.testing.assert_array_equal(got, want)
    codes = lca._validate_input(X, reset=False)
    np.testing.assert_array_equal(codes, fit_codes)
    for j, cats in enumerate(lca.categories_):
        seen = ~np.isnan(X[:, j])
        np.testing.assert_array_equal(cats[codes[seen, j].astype(int)], X[seen, j])
        assert np.isnan(codes[~seen, j]).all()
    with pytest.raises(ValueError, match=r"Unknown category 7\.0 at row 0"):
        lca.predict(np.array([[7.0, 0.0, 3.0, 4.0]]))


# ------------------------------------------------------- the sampled start
def test_kmeans_start_on_a_sample_of_rows(monkeypatch):
    # Above the threshold: k-means on a uniform sample of rows (drawn from
    # random_state), every row labelled by its nearest centre, one M-step.
    # Reproduced here with scikit-learn's KMeans and a by-hand M-step.
    from sklearn.cluster import KMeans
    from sklearn.utils import check_random_state

    mod = emmix.mixture._categorical
    monkeypatch.setattr(mod, "KMEANS_START_ROWS", 300)
    rng = np.random.RandomState(0)
    items = random_probs(rng, 2, [2, 2, 3, 2])
    X, _ = make_latent_class(1000, items, weights=[0.4, 0.6], random_state=1)
    lca = CategoricalMixture(2, max_iter=0, random_state=4).fit(X)
    state = check_random_state(4)
    rows = np.sort(state.choice(1000, size=300, replace=False))
    index = category_index(X, np.array([0, 2, 4, 7]), np.array([2, 2, 3, 2]))
    z, z_sparse = one_hot(index, 9), one_hot_sparse(index, 9)
    kmeans = KMeans(2, n_init=1, random_state=state).fit(z_sparse[rows])
    labels = kmeans.predict(z_sparse)
    nk = np.bincount(labels, minlength=2).astype(float)
    counts = np.array([z[labels == k].sum(axis=0) for k in range(2)])
    np.testing.assert_allclose(lca.weights_, nk / 1000, rtol=1e-12)
    np.testing.assert_allclose(
        lca.probs_, categorical_probs(counts, np.array([2, 2, 3, 2])), rtol=1e-12
    )
    # Deterministic under random_state; at or below the threshold (or with
    # unequal weights) the usual k-means of all rows.
    again = CategoricalMixture(2, max_iter=0, random_state=4).fit(X)
    np.testing.assert_array_equal(again.probs_, lca.probs_)
    monkeypatch.setattr(mod, "KMEANS_START_ROWS", 1000)
    full = CategoricalMixture(2, max_iter=0, random_state=4).fit(X)
    labels = KMeans(2, n_init=1, random_state=4).fit(z_sparse).labels_
    counts = np.array([z[labels == k].sum(axis=0) for k in range(2)])
    np.testing.assert_allclose(
        full.probs_, categorical_probs(counts, np.array([2, 2, 3, 2])), rtol=1e-12
    )


# ------------------------------------------------ grouped answers (E-step)
@pytest.mark.parametrize("limit", [1, 4, 30, 256])
def test_grouped_answers_factor_the_one_hot_rows(limit):
    # A @ B equals the one-hot rows (NaN and non-codes as no answer) for any
    # group size, also items of one category and items wider than a group.
    from emmix.mixture._categorical import (
        group_state_matrix,
        grouped_answers,
        item_groups,
        state_indicator,
    )

    rng = np.random.RandomState(5)
    sizes = np.array([2, 3, 1, 7, 2, 2, 3, 40, 2])
    X = _random_answers(rng, 500, sizes, 0.2)
    X[:, 1] = np.where(np.isnan(X[:, 1]), 1.0, X[:, 1])  # an item always answered
    X[3, 3] = 2.5  # not a code: no answer
    offsets = np.concatenate([[0], np.cumsum(sizes)])[:-1]
    index = category_index(X, offsets, sizes)
    states, n_states, groups = grouped_answers(index, offsets, sizes, limit)
    assert sorted(j for items in groups for j in items) == list(range(len(sizes)))
    for items in groups:
        assert len(items) == 1 or np.prod(n_states[items]) <= limit
    assert groups == item_groups(n_states, limit)
    assert n_states.tolist() == [
        c + bool(np.any(index[:, j] < 0)) for j, c in enumerate(sizes)
    ]
    B = group_state_matrix(n_states, groups, offsets, sizes)
    A = state_indicator(states, B.shape[0])
    assert A.shape == (500, B.shape[0])
    np.testing.assert_array_equal(A.sum(axis=1).A1, len(groups))
    np.testing.assert_array_equal((A @ B).toarray(), one_hot(index, int(sizes.sum())))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_grouped_estep_with_many_groups_equals_scipy(monkeypatch, missing):
    # Many items in several groups (small groups forced): log-densities as
    # scipy's multinomial, statistics as weighted sums by hand, with NaN and
    # sample weights; the whole fit equals the sparse one-hot path's.
    monkeypatch.setattr(emmix.mixture._categorical, "GROUP_STATES", 16)
    rng = np.random.RandomState(12)
    sizes = [2, 3, 2, 2, 3, 1, 2, 3, 3, 2, 2, 2]
    X = _random_answers(rng, 400, sizes, missing)
    w = rng.uniform(0.0, 3.0, size=400)
    lca = CategoricalMixture(3, random_state=0, max_iter=3).fit(X, sample_weight=w)
    assert lca._dense()
    cache: dict = {"memo": {}}
    A = lca._grouped(X, cache)["A"]
    assert 3 < A.shape[1] and A[0].nnz < len(sizes)  # several groups, fewer terms
    params = lca._em_prepare(lca._em_load())
    expected = np.zeros((400, 3))
    for j, c in enumerate(sizes):
        seen = ~np.isnan(X[:, j])
        for k in range(3):
            counts = np.eye(c)[X[seen, j].astype(int)]
            expected[seen, k] += stats.multinomial.logpmf(
                counts, 1, lca.category_probs_[j][k]
            )
    np.testing.assert_allclose(
        lca._component_log_prob(X, params, cache), expected, rtol=1e-12
    )
    resp = rng.dirichlet(np.ones(3), size=400) * w[:, np.newaxis]
    by_hand = np.zeros_like(lca.probs_)
    for j, c in enumerate(sizes):
        for cat in range(c):
            rows = X[:, j] == cat
            by_hand[:, lca.category_offsets_[j] + cat] = resp[rows].sum(axis=0)
    for r in (resp, np.asfortranarray(resp)):
        np.testing.assert_allclose(
            lca._component_stats(X, r, params, cache)["counts"], by_hand, rtol=1e-12
        )
    kwargs = dict(tol=0.0, max_iter=20, accelerate=None, random_state=1)
    with sklearn_config(working_memory=0.02):
        grouped = CategoricalMixture(3, **kwargs).fit(X, sample_weight=w)
        _without_dense(monkeypatch)
        sparse = CategoricalMixture(3, **kwargs).fit(X, sample_weight=w)
    np.testing.assert_allclose(grouped.probs_, sparse.probs_, rtol=1e-12)
    np.testing.assert_allclose(grouped.weights_, sparse.weights_, rtol=1e-12)
    np.testing.assert_allclose(grouped.lower_bounds_, sparse.lower_bounds_, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_two_labels_per_column_need_no_counting(dtype):
    # At most two labels per column (binary items, constant columns, a pair
    # like 3/4 or -1/0): the smallest and largest are the categories, as
    # np.unique's; a -0.0 label (np.unique keeps it) takes the general path.
    mod = emmix.mixture._categorical
    rng = np.random.RandomState(7)
    X = np.column_stack(
        [
            rng.randint(0, 2, size=300),
            rng.randint(3, 5, size=300),
            np.full(300, 6.0),
            rng.randint(-1, 1, size=300),
        ]
    ).astype(dtype)
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    cats = mod._learn_integer_categories(X, np.isnan(X))
    assert cats is not None
    for got, want in zip(cats, _per_column_categories(X), strict=True):
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, want)
    X[5, 0] = -0.0
    assert mod._learn_integer_categories(X, np.isnan(X)) is None
    X[5, 0] = 0.5
    assert mod._learn_integer_categories(X, np.isnan(X)) is None
