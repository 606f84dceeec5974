"""GaussianMixtureEM against scikit-learn, scipy and the EM invariants."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import optimize, stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emmix import GaussianMixtureEM
from emmix.mixture._gaussian import (
    COVARIANCE_TYPES,
    covariance_shape,
    estimate_log_gaussian_prob,
)

ATTRIBUTES = [
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
]


def make_blobs3(n=400, d=3, offset=0.0, random_state=0, spread=2.5):
    """Three overlapping Gaussian clusters with random covariances."""
    rng = np.random.RandomState(random_state)
    centers = rng.normal(scale=spread, size=(3, d)) + offset
    parts = []
    for j, size in enumerate([n // 2, n // 3, n - n // 2 - n // 3]):
        A = rng.normal(size=(d, d)) * 0.6 + np.eye(d)
        parts.append(rng.normal(size=(size, d)) @ A + centers[j])
    return np.vstack(parts)


def start_params(X, covariance_type, k=3, random_state=1):
    """An explicit (deliberately rough) starting point shared by both libraries."""
    rng = np.random.RandomState(random_state)
    d = X.shape[1]
    means = X[rng.choice(len(X), k, replace=False)]
    weights = np.full(k, 1.0 / k)
    var = X.var(axis=0).mean()
    precisions = {
        "full": np.stack([np.eye(d) / var] * k),
        "tied": np.eye(d) / var,
        "diag": np.full((k, d), 1.0 / var),
        "spherical": np.full(k, 1.0 / var),
    }[covariance_type]
    return {"weights_init": weights, "means_init": means, "precisions_init": precisions}


def fit_both(X, covariance_type, sample_weight=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = GaussianMixtureEM(covariance_type=covariance_type, **kwargs).fit(
            X, sample_weight=sample_weight
        )
        theirs = GaussianMixture(covariance_type=covariance_type, **kwargs).fit(X)
    return ours, theirs


def rel_err(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


# ------------------------------------------------------- scikit-learn parity
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_same_numbers_as_sklearn_from_same_start(covariance_type, offset):
    X = make_blobs3(offset=offset)
    init = start_params(X, covariance_type)
    ours, theirs = fit_both(
        X, covariance_type, n_components=3, max_iter=40, tol=0.0, **init
    )
    for name in ATTRIBUTES:
        assert rel_err(getattr(ours, name), getattr(theirs, name)) < 1e-6, name
    assert ours.n_iter_ == theirs.n_iter_ == 40
    # Far from the origin scikit-learn's own one-pass moments are the less
    # accurate side (see the test below); elsewhere the bound agrees to 1e-8.
    rtol = 1e-8 if offset == 0.0 else 1e-6
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=rtol)
    assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=rtol)
    assert_allclose(ours.bic(X), theirs.bic(X), rtol=rtol)
    assert_allclose(ours.aic(X), theirs.aic(X), rtol=rtol)
    if offset == 0.0:
        assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-8)
        assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-7)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_large_offset_as_accurate_as_centred_sklearn(covariance_type):
    # scikit-learn's one-pass moments lose digits on data near 1e4; the exact
    # reference is scikit-learn on the same data moved to the origin.
    offset = 1e4
    X = make_blobs3(offset=offset)
    init = start_params(X, covariance_type)
    ours, _ = fit_both(X, covariance_type, n_components=3, max_iter=40, tol=0.0, **init)
    centred_init = {**init, "means_init": init["means_init"] - offset}
    _, exact = fit_both(
        X - offset,
        covariance_type,
        n_components=3,
        max_iter=40,
        tol=0.0,
        **centred_init,
    )
    assert_allclose(ours.means_ - offset, exact.means_, rtol=1e-7, atol=1e-8)
    for name in ["weights_", "covariances_", "precisions_"]:
        assert rel_err(getattr(ours, name), getattr(exact, name)) < 1e-8, name
    assert_allclose(ours.lower_bounds_, exact.lower_bounds_, rtol=1e-10)
    assert_allclose(ours.score_samples(X), exact.score_samples(X - offset), rtol=1e-10)


SEEDING_TIED = {("tied", "k-means++"), ("tied", "random_from_data")}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_same_partition_as_sklearn_with_same_seed(covariance_type, init_params):
    if (covariance_type, init_params) in SEEDING_TIED:
        pytest.skip("scikit-learn's tied start from seeds differs; tested below")
    X = make_blobs3(spread=8.0, random_state=3)
    ours, theirs = fit_both(
        X, covariance_type, n_components=3, init_params=init_params, random_state=7
    )
    assert_array_equal(ours.predict(X), theirs.predict(X))
    assert_allclose(ours.means_, theirs.means_, rtol=1e-6)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    # With restarts, runs reaching the same optimum with permuted labels can
    # be kept in either order; the partition itself must be the same.
    ours, theirs = fit_both(
        X,
        covariance_type,
        n_components=3,
        init_params=init_params,
        random_state=7,
        n_init=3,
    )
    assert adjusted_rand_score(ours.predict(X), theirs.predict(X)) == 1.0
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-8)


@pytest.mark.parametrize("init_params", ["k-means++", "random_from_data"])
@pytest.mark.parametrize("random_state", range(4))
def test_tied_start_from_seeds_is_no_worse_than_sklearn(init_params, random_state):
    # From one-point seeds, scikit-learn's tied covariance counts every row
    # (X.T @ X over all rows divided by the K seeds), an origin-dependent
    # start that ends in poor optima. emmix takes the covariance of the seeds'
    # responsibilities, as for the other types, and must never end worse.
    X = make_blobs3(spread=15.0, random_state=random_state)
    ours, theirs = fit_both(
        X, "tied", n_components=3, init_params=init_params, random_state=7
    )
    assert ours.lower_bound_ >= theirs.lower_bound_ - 1e-10


def test_random_init_draws_like_sklearn():
    X = make_blobs3(spread=8.0, random_state=3)
    ours, theirs = fit_both(
        X, "diag", n_components=3, init_params="random", random_state=0, max_iter=5
    )
    assert_allclose(ours.means_, theirs.means_, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_matches_sklearn(covariance_type):
    X = make_blobs3()
    init = start_params(X, covariance_type)
    ours, theirs = fit_both(X, covariance_type, n_components=3, random_state=0, **init)
    Xo, yo = ours.sample(50)
    Xt, yt = theirs.sample(50)
    assert_array_equal(yo, yt)
    assert_allclose(Xo, Xt, rtol=1e-6, atol=1e-8)
    assert Xo.shape == (50, 3)


# --------------------------------------------------------- scipy densities
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_log_density_matches_scipy(covariance_type):
    X = make_blobs3(n=60, offset=50.0)
    gm = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0).fit(X)
    covs = {
        "full": lambda c: c,
        "tied": lambda c: np.stack([c] * 3),
        "diag": lambda c: np.stack([np.diag(row) for row in c]),
        "spherical": lambda c: np.stack([np.eye(3) * v for v in c]),
    }[covariance_type](gm.covariances_)
    expected_comp = np.column_stack(
        [stats.multivariate_normal(gm.means_[k], covs[k]).logpdf(X) for k in range(3)]
    )
    log_prob = estimate_log_gaussian_prob(
        X, gm.means_, gm.precisions_cholesky_, covariance_type
    )
    assert_allclose(log_prob, expected_comp, rtol=1e-9)
    mixture = np.log(np.exp(expected_comp) @ gm.weights_)
    assert_allclose(gm.score_samples(X), mixture, rtol=1e-9)
    assert_allclose(gm.score(X), mixture.mean(), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_blocked_kernels_match_scipy_and_sklearn(covariance_type):
    # Enough rows and components for several blocks of every product and of
    # the whitening (the small cases above fit in one).
    rng = np.random.RandomState(0)
    n, d, k = 6000, 9, 5
    X = rng.normal(size=(n, d)) * 2.0 + 40.0 + 6.0 * rng.randint(k, size=(n, 1))
    gm = GaussianMixtureEM(k, covariance_type=covariance_type, random_state=0)
    gm.fit(X)
    covs = {
        "full": lambda c: c,
        "tied": lambda c: np.stack([c] * k),
        "diag": lambda c: np.stack([np.diag(row) for row in c]),
        "spherical": lambda c: np.stack([np.eye(d) * v for v in c]),
    }[covariance_type](gm.covariances_)
    expected = np.column_stack(
        [stats.multivariate_normal(gm.means_[j], covs[j]).logpdf(X) for j in range(k)]
    )
    log_prob = estimate_log_gaussian_prob(
        X, gm.means_, gm.precisions_cholesky_, covariance_type
    )
    assert_allclose(log_prob, expected, rtol=1e-9)
    init = {
        "weights_init": np.full(k, 1.0 / k),
        "means_init": X[rng.choice(n, k, replace=False)],
        "precisions_init": {
            "full": np.stack([np.eye(d) / 4.0] * k),
            "tied": np.eye(d) / 4.0,
            "diag": np.full((k, d), 0.25),
            "spherical": np.full(k, 0.25),
        }[covariance_type],
    }
    ours = GaussianMixtureEM(
        k, covariance_type=covariance_type, max_iter=5, tol=0.0, **init
    ).fit(X)
    theirs = GaussianMixture(
        k, covariance_type=covariance_type, max_iter=5, tol=0.0, **init
    ).fit(X)
    assert_allclose(ours.means_, theirs.means_, rtol=1e-10)
    assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-9)
    assert_allclose(ours.lower_bound_, theirs.lower_bound_, rtol=1e-12)


@pytest.mark.parametrize("spread", [1.0, 1e-3])
def test_full_log_density_both_forms_match_scipy(spread):
    # Near the centre (in units of the spread) full covariances use the
    # expanded quadratic form; far from it the whitened difference, which
    # keeps every digit of the small distances near a far-off mean.
    from emmix.mixture._gaussian import (
        EXPANDED_MAX_NORM,
        precision_cholesky_from_precisions,
        prepare_log_gaussian_prob,
    )

    rng = np.random.RandomState(3)
    d, k = 4, 3
    means = np.array([[0.0] * d, [3.0] * d, [-2.0, 1.0, 0.5, 4.0]]) * 10.0
    A = rng.normal(size=(k, d, d))
    covs = (A @ np.swapaxes(A, 1, 2) + np.eye(d)) * spread**2
    X = np.concatenate(
        [rng.multivariate_normal(means[j], covs[j], size=200) for j in range(k)]
    )
    prec_chol = precision_cholesky_from_precisions(np.linalg.inv(covs), "full")
    shift = means.mean(axis=0)
    consts = prepare_log_gaussian_prob(means, prec_chol, "full", shift)
    centred = means - shift
    norms = np.einsum("kd,kde,ke->k", centred, np.linalg.inv(covs), centred)
    assert ("W" in consts) == bool(np.all(norms <= EXPANDED_MAX_NORM))
    assert ("W" in consts) == (spread == 1.0)
    expected = np.column_stack(
        [stats.multivariate_normal(means[j], covs[j]).logpdf(X) for j in range(k)]
    )
    log_prob = estimate_log_gaussian_prob(X, means, prec_chol, "full", shift=shift)
    # Near each mean the densities are compared to 1e-12 absolute.
    assert_allclose(log_prob, expected, rtol=1e-12, atol=1e-9)


# ----------------------------------------------------------- EM invariants


def test_weighted_kmeans_start_equals_repeated_rows():
    X = make_blobs3(n=90, spread=6.0)
    sw = np.random.RandomState(1).randint(1, 4, size=len(X))
    a = GaussianMixtureEM(3, random_state=0).fit(X, sample_weight=sw)
    b = GaussianMixtureEM(3, random_state=0).fit(np.repeat(X, sw, axis=0))
    assert_allclose(a.means_, b.means_, rtol=1e-8)


def test_warm_start_continues_the_same_run():
    X = make_blobs3(n=300)
    init = start_params(X, "full")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        straight = GaussianMixtureEM(3, max_iter=10, tol=0, **init).fit(X)
        warm = GaussianMixtureEM(3, max_iter=5, tol=0, warm_start=True, **init)
        warm.fit(X)
        warm.fit(X)
    assert_allclose(warm.means_, straight.means_, rtol=1e-10)
    assert_allclose(warm.lower_bound_, straight.lower_bound_, rtol=1e-12)


def test_float32_stays_float32():
    X = make_blobs3(n=200).astype(np.float32)
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    for name in ATTRIBUTES:
        assert getattr(gm, name).dtype == np.float32, name
    assert gm.predict_proba(X).dtype == np.float32
    gm64 = GaussianMixtureEM(3, random_state=0).fit(X.astype(np.float64))
    assert_allclose(gm.means_, gm64.means_, rtol=1e-3)


def test_verbose_prints(capsys):
    X = make_blobs3(n=100)
    GaussianMixtureEM(2, verbose=2, verbose_interval=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "Initialization 0" in out
    assert "Iteration 1" in out
    assert "converged" in out


def test_convergence_warning():
    X = make_blobs3(n=100)
    with pytest.warns(ConvergenceWarning):
        GaussianMixtureEM(3, max_iter=1, tol=0, random_state=0).fit(X)


def test_max_iter_zero_returns_start():
    X = make_blobs3(n=100)
    init = start_params(X, "diag")
    gm = GaussianMixtureEM(3, covariance_type="diag", max_iter=0, **init).fit(X)
    assert_allclose(gm.means_, init["means_init"])
    assert gm.n_iter_ == 0


# --------------------------------------------------- hard EM, fixed groups
def test_hard_em_means_are_cluster_means():
    X = make_blobs3(n=300, spread=6.0)
    gm = GaussianMixtureEM(3, assignment="hard", random_state=0, tol=0, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
    labels = gm.predict(X)
    # At a fixed point of classification EM each mean is its cluster's mean.
    for k in range(3):
        assert_allclose(gm.means_[k], X[labels == k].mean(axis=0), rtol=1e-6)
    assert_allclose(gm.weights_, np.bincount(labels, minlength=3) / len(X), atol=1e-9)


def test_fixed_sigma_textbook_case_matches_brute_force():
    # Two normals with known sigma = 6; means and weight estimated.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(40, 6, 120), rng.normal(20, 6, 80)][:, np.newaxis]
    gm = GaussianMixtureEM(
        2,
        covariance_type="spherical",
        means_init=[[35.0], [25.0]],
        precisions_init=[1 / 36, 1 / 36],
        fixed_params={"covariances"},
        tol=1e-12,
        max_iter=2000,
    ).fit(X)
    assert_allclose(gm.covariances_, [36.0, 36.0])

    def nll(theta):
        w = 1 / (1 + np.exp(-theta[0]))
        dens = w * stats.norm.pdf(X[:, 0], theta[1], 6) + (1 - w) * stats.norm.pdf(
            X[:, 0], theta[2], 6
        )
        return -np.sum(np.log(dens))

    best = optimize.minimize(
        nll,
        [0.0, 35.0, 25.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 10000},
    )
    w = 1 / (1 + np.exp(-best.x[0]))
    assert_allclose(gm.means_.ravel(), best.x[1:], rtol=1e-5)
    assert_allclose(gm.weights_[0], w, rtol=1e-5)
    assert gm._n_parameters() == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fixed_means_give_covariance_around_them(covariance_type):
    X = make_blobs3(n=200)
    means = X[:3] + 0.5
    gm = GaussianMixtureEM(
        3,
        covariance_type=covariance_type,
        means_init=means,
        fixed_params=["means", "weights"],
        weights_init=[0.2, 0.3, 0.5],
        random_state=0,
    ).fit(X)
    assert_allclose(gm.means_, means)
    assert_allclose(gm.weights_, [0.2, 0.3, 0.5])
    # The covariance must be the weighted scatter around the held means.
    resp = gm.predict_proba(X)
    gm2 = GaussianMixtureEM(
        3,
        covariance_type=covariance_type,
        means_init=means,
        weights_init=[0.2, 0.3, 0.5],
        precisions_init=gm.precisions_,
        fixed_params=["means", "weights"],
        max_iter=1,
        tol=1e300,
    ).fit(X)
    full = np.stack(
        [
            (resp[:, k] * (X - means[k]).T) @ (X - means[k]) / resp[:, k].sum()
            for k in range(3)
        ]
    )
    expected = {
        "full": full,
        "tied": np.einsum("k,kij->ij", resp.sum(0), full) / len(X),
        "diag": np.stack([np.diag(c) for c in full]),
        "spherical": np.stack([np.diag(c).mean() for c in full]),
    }[covariance_type]
    assert_allclose(gm2.covariances_, expected, rtol=1e-5, atol=2e-6)


def test_unknown_fixed_group_is_rejected():
    with pytest.raises(ValueError, match="can hold fixed"):
        GaussianMixtureEM(2, fixed_params={"mean"}).fit(make_blobs3(n=50))


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1.0, 2.0], [np.nan, np.nan], [4.0, 5.0]]), "Row 1 of X has no"),
        (np.array([[1.0, 2.0], [np.inf, 3.0], [4.0, 5.0]]), "infinity at row 1"),
        (np.arange(5.0), "Expected 2D array"),
        (np.array([["a", "b"], ["c", "d"]]), "non-numeric"),
    ],
)
def test_bad_input_errors(X, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixtureEM(1).fit(X)


def test_non_numeric_object_cell_named():
    X = np.arange(20.0).reshape(10, 2).astype(object)
    X[3, 1] = "oops"
    with pytest.raises(ValueError, match=r"'oops'.*row 3, column 1"):
        GaussianMixtureEM(1).fit(X)


def test_fewer_samples_than_components():
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixtureEM(5).fit(make_blobs3(n=4))


def test_zero_components():
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixtureEM(0).fit(make_blobs3(n=20))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weights_init": [0.5, 0.5]}, "weights_init.*shape"),
        ({"weights_init": [0.5, 0.6, -0.1]}, "range"),
        ({"weights_init": [0.2, 0.2, 0.2]}, "normalized"),
        ({"means_init": np.zeros((3, 2))}, "means_init.*shape"),
        ({"precisions_init": np.ones((3, 2, 2))}, "precisions_init.*shape"),
        ({"precisions_init": -np.stack([np.eye(3)] * 3)}, "positive-definite"),
    ],
)
def test_bad_init_arrays(kwargs, match):
    X = make_blobs3(n=50)
    with pytest.raises(ValueError, match=match):
        GaussianMixtureEM(3, **kwargs).fit(X)


def test_init_arrays_are_not_modified():
    X = make_blobs3(n=50)
    means = X[:3].tolist()
    GaussianMixtureEM(3, means_init=means).fit(X)
    assert means == X[:3].tolist()
    assert GaussianMixtureEM(3, means_init=means).get_params()["means_init"] is means


def test_input_not_modified():
    X = make_blobs3(n=100)
    before = X.copy()
    GaussianMixtureEM(3, random_state=0).fit(X, sample_weight=np.ones(len(X)))
    assert_array_equal(X, before)


def test_bad_sample_weight():
    X = make_blobs3(n=30)
    with pytest.raises(ValueError, match="non-negative"):
        GaussianMixtureEM(2).fit(X, sample_weight=-np.ones(30))
    with pytest.raises(ValueError, match="positive sample_weight"):
        GaussianMixtureEM(2).fit(X, sample_weight=np.r_[1.0, np.zeros(29)])
    with pytest.raises(ValueError, match="one weight per row"):
        GaussianMixtureEM(2).fit(X, sample_weight=np.ones(3))


def test_singular_covariance_raises_helpful_error():
    X = np.r_[np.zeros((10, 2)), np.ones((10, 2))]
    with pytest.raises(ValueError, match="increase reg_covar"):
        GaussianMixtureEM(2, reg_covar=0.0, random_state=0).fit(X)
    # With the default reg_covar the same data fit fine.
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    assert np.all(np.isfinite(gm.covariances_))


def test_covariance_shapes():
    X = make_blobs3(n=60)
    for covariance_type in COVARIANCE_TYPES:
        gm = GaussianMixtureEM(3, covariance_type=covariance_type).fit(X)
        shape = covariance_shape(covariance_type, 3, 3)
        assert gm.covariances_.shape == shape
        assert gm.precisions_.shape == shape


# ------------------------------------------------------- ecosystem
def test_pipeline_and_grid_search_choose_k():
    X = make_blobs3(n=300, spread=8.0)
    pipe = make_pipeline(StandardScaler(), GaussianMixtureEM(random_state=0))
    grid = GridSearchCV(pipe, {"gaussianmixtureem__n_components": [1, 2, 3]}, cv=3)
    grid.fit(X)
    assert grid.best_params_["gaussianmixtureem__n_components"] >= 2


def test_feature_names_in():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(make_blobs3(n=50), columns=["a", "b", "c"])
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    assert list(gm.feature_names_in_) == ["a", "b", "c"]
    assert gm.n_features_in_ == 3


def test_many_features_take_per_component_moments_same_numbers():
    # Above PACKED_OUTER_MAX_FEATURES the full second moments are computed
    # one component at a time; the numbers must not change.
    from emmix.mixture._gaussian import PACKED_OUTER_MAX_FEATURES

    rng = np.random.RandomState(0)
    d = PACKED_OUTER_MAX_FEATURES + 8
    X = rng.normal(size=(300, d)) + 4.0 * rng.randint(2, size=(300, 1))
    start = {
        "weights_init": [0.5, 0.5],
        "means_init": X[:2],
        "precisions_init": np.stack([np.eye(d)] * 2),
    }
    ours, theirs = fit_both(X, "full", n_components=2, max_iter=10, tol=0.0, **start)
    for name in ATTRIBUTES:
        assert rel_err(getattr(ours, name), getattr(theirs, name)) < 1e-6, name
    assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-8)
