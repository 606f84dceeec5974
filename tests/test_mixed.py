"""MixedTypeMixture: groups of columns of different families, one latent class.

Every number is checked against something independent: scipy.stats
densities, a direct numerical maximisation of the likelihood, the known
parameters of generated data, and GaussianMixtureEM itself for the
composition of a single group.
"""

import warnings

import numpy as np
import pytest
from _families import ExponentialMixture
from scipy import stats
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from sklearn.base import clone

from emmix import CoinMixture, GaussianMixtureEM, MixedTypeMixture, PoissonMixture
from emmix.utils.estimator_checks import check_em_family

MIXED = {"gaussian": [0, 1], "poisson": [2], "coin": [3]}
#: GaussianMixtureEM's engine defaults (scikit-learn's), which the other
#: families (and MixedTypeMixture) replace by Aitken's rule with SQUAREM.
SKLEARN_RULE = {"stopping": "change", "tol": 1e-3, "max_iter": 100, "accelerate": None}


def mixed_data(n=600, seed=0):
    """Two classes: 2 Gaussian columns, a Poisson count, a yes/no answer."""
    rng = np.random.RandomState(seed)
    z = (rng.rand(n) < 0.35).astype(int)
    means = np.array([[0.0, 0.0], [3.0, -2.0]])
    sds = np.array([[1.0, 0.5], [0.7, 1.5]])
    rates = np.array([2.0, 9.0])
    probs = np.array([0.2, 0.85])
    X = np.column_stack(
        [
            rng.normal(means[z], sds[z]),
            rng.poisson(rates[z]),
            rng.binomial(1, probs[z]),
        ]
    ).astype(float)
    truth = {"weights": [0.65, 0.35], "means": means, "sds": sds}
    truth.update(rates=rates, probs=probs)
    return X, z, truth


def _order(model):
    return np.argsort(model.named_estimators_["gaussian"].means_[:, 0])


# ------------------------------------------------------------ recovery
def test_recovers_generated_parameters():
    X, z, truth = mixed_data(n=20_000, seed=1)
    model = MixedTypeMixture(
        2,
        columns={
            "gaussian": ([0, 1], {"covariance_type": "diag"}),
            "poisson": [2],
            "coin": [3],
        },
        random_state=0,
        tol=1e-8,
    ).fit(X)
    order = _order(model)
    groups = model.named_estimators_
    np.testing.assert_allclose(model.weights_[order], truth["weights"], atol=0.015)
    np.testing.assert_allclose(
        groups["gaussian"].means_[order], truth["means"], atol=0.05
    )
    np.testing.assert_allclose(
        np.sqrt(groups["gaussian"].covariances_[order]), truth["sds"], atol=0.05
    )
    np.testing.assert_allclose(
        groups["poisson"].rates_[order, 0], truth["rates"], rtol=0.03
    )
    np.testing.assert_allclose(
        groups["coin"].probs_[order, 0], truth["probs"], atol=0.02
    )
    # The classes are well separated: nearly every row is classified right.
    labels = order.argsort()[model.predict(X)]
    assert np.mean(labels == z) > 0.98


# ------------------------------------------------- independent densities
def test_log_density_is_sum_of_scipy_densities():
    X, _, _ = mixed_data(n=200)
    model = MixedTypeMixture(
        2, columns={"gaussian": [0, 1], "poisson": [2, 3]}, random_state=0
    ).fit(X)
    g, p = model.named_estimators_["gaussian"], model.named_estimators_["poisson"]
    log_p = np.column_stack(
        [
            np.log(model.weights_[k])
            + stats.multivariate_normal(g.means_[k], g.covariances_[k]).logpdf(X[:, :2])
            + stats.poisson.logpmf(X[:, 2:], p.rates_[k]).sum(axis=1)
            for k in range(2)
        ]
    )
    np.testing.assert_allclose(
        model.score_samples(X), logsumexp(log_p, axis=1), rtol=1e-10
    )
    np.testing.assert_allclose(
        model.predict_proba(X),
        np.exp(log_p - logsumexp(log_p, axis=1)[:, None]),
        atol=1e-10,
    )


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_single_gaussian_group_is_gaussian_mixture(covariance_type):
    X, _, _ = mixed_data(n=300)
    X = X[:, :2]
    kwargs = {"covariance_type": covariance_type}
    mixed = MixedTypeMixture(
        3,
        columns={"gaussian": ([0, 1], kwargs)},
        random_state=0,
        **{**SKLEARN_RULE, "tol": 1e-6, "max_iter": 500},
    ).fit(X)
    plain = GaussianMixtureEM(3, random_state=0, tol=1e-6, max_iter=500, **kwargs).fit(
        X
    )
    gaussian = mixed.named_estimators_["gaussian"]
    assert mixed.n_iter_ == plain.n_iter_
    np.testing.assert_allclose(mixed.weights_, plain.weights_, rtol=1e-10)
    np.testing.assert_allclose(gaussian.means_, plain.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gaussian.covariances_, plain.covariances_, rtol=1e-10)
    np.testing.assert_allclose(mixed.lower_bounds_, plain.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(
        mixed.score_samples(X), plain.score_samples(X), rtol=1e-10
    )
    assert mixed.bic(X) == pytest.approx(plain.bic(X), rel=1e-10)


def test_default_columns_are_one_gaussian_group():
    X, _, _ = mixed_data(n=200)
    mixed = MixedTypeMixture(2, random_state=0, **SKLEARN_RULE).fit(X)
    plain = GaussianMixtureEM(2, random_state=0).fit(X)
    np.testing.assert_allclose(mixed.score(X), plain.score(X), rtol=1e-10)


def test_maximum_likelihood_matches_direct_optimisation():
    """EM's optimum equals a direct maximisation of the likelihood (scipy)."""
    X, _, _ = mixed_data(n=120, seed=3)
    X = X[:, [0, 2, 3]]  # one Gaussian column, a count, a yes/no answer
    model = MixedTypeMixture(
        2,
        columns={"gaussian": [0], "poisson": [1], "coin": [2]},
        tol=1e-12,
        max_iter=5000,
        n_init=5,
        random_state=0,
    ).fit(X)

    def negative_log_likelihood(theta):
        w = expit(theta[0])
        mu, sd = theta[1:3], np.exp(theta[3:5])
        rate, prob = np.exp(theta[5:7]), expit(theta[7:9])
        log_p = (
            np.log([w, 1 - w])
            + stats.norm.logpdf(X[:, [0]], mu, sd)
            + stats.poisson.logpmf(X[:, [1]], rate)
            + stats.binom.logpmf(X[:, [2]], 1, prob)
        )
        return -logsumexp(log_p, axis=1).sum()

    g = model.named_estimators_
    start = np.concatenate(
        [
            [np.log(model.weights_[0] / model.weights_[1]) + 0.3],
            g["gaussian"].means_[:, 0] + 0.2,
            0.5 * np.log(g["gaussian"].covariances_[:, 0, 0]) - 0.1,
            np.log(g["poisson"].rates_[:, 0]) + 0.1,
            np.log(g["coin"].probs_[:, 0] / (1 - g["coin"].probs_[:, 0])) - 0.2,
        ]
    )
    best = minimize(
        negative_log_likelihood,
        start,
        method="BFGS",
        options={"gtol": 1e-9, "maxiter": 10_000},
    )
    em_loglik = model.score(X) * len(X)
    assert em_loglik == pytest.approx(-best.fun, abs=1e-6)
    assert em_loglik >= -best.fun - 1e-6
    np.testing.assert_allclose(
        g["poisson"].rates_[:, 0], np.exp(best.x[5:7]), rtol=1e-4
    )
    np.testing.assert_allclose(
        g["coin"].probs_[:, 0], expit(best.x[7:9]), rtol=1e-4, atol=1e-6
    )


# ------------------------------------------------------- the EM rules
@pytest.mark.parametrize(
    "columns",
    [
        MIXED,
        {
            "gaussian": ([0, 1], {"covariance_type": "diag"}),
            "poisson": [2],
            "coin": [3],
        },
    ],
)
def test_em_family_rules(columns):
    X, _, _ = mixed_data(n=300)
    check_em_family(MixedTypeMixture(2, columns=columns), X)


def _with_waiting_times(n=300, seed=0):
    X, z, _ = mixed_data(n=n, seed=seed)
    rng = np.random.RandomState(seed + 10)
    waits = rng.exponential(np.where(z == 1, 5.0, 0.5))
    return np.column_stack([X, waits]), z


def test_user_family_is_a_group():
    X, _ = _with_waiting_times()
    columns = [
        ("gaussian", [0, 1]),
        (ExponentialMixture, [4]),
        ("coin", [3]),
        (PoissonMixture(rate_floor=1e-8), [2]),
    ]
    model = MixedTypeMixture(2, columns=columns, random_state=0).fit(X)
    assert list(model.named_estimators_) == [
        "gaussian",
        "exponentialmixture",
        "coin",
        "poissonmixture",
    ]
    rates = model.named_estimators_["exponentialmixture"].rates_[_order(model), 0]
    np.testing.assert_allclose(rates, [2.0, 0.2], rtol=0.25)
    assert model.named_estimators_["poissonmixture"].rate_floor == 1e-8
    check_em_family(MixedTypeMixture(2, columns=columns), X)


def test_user_family_negative_value_names_whole_column():
    X, _ = _with_waiting_times()
    X[7, 4] = -1.0
    columns = [
        ("gaussian", [0, 1]),
        (ExponentialMixture, [4]),
        ("coin", [3]),
        ("poisson", [2]),
    ]
    with pytest.raises(ValueError, match=r"group 'exponentialmixture'.*column 4"):
        MixedTypeMixture(2, columns=columns).fit(X)


# ------------------------------------------------------- engine features
def test_fixed_params_by_group_name():
    X, _, _ = mixed_data(n=300)
    start = MixedTypeMixture(2, columns=MIXED, random_state=0).fit(X)
    rates = start.named_estimators_["poisson"].rates_ * 1.5
    columns = {**MIXED, "poisson": ([2], {"rates_init": rates})}
    model = MixedTypeMixture(
        2, columns=columns, fixed_params={"poisson__rates"}, random_state=0
    ).fit(X)
    np.testing.assert_array_equal(model.named_estimators_["poisson"].rates_, rates)
    assert start._n_parameters() - model._n_parameters() == 2
    with pytest.raises(ValueError, match="poisson__rates"):
        MixedTypeMixture(2, columns=MIXED, fixed_params={"rates"}).fit(X)


def test_fixed_gaussian_means_reach_the_group():
    X, _, _ = mixed_data(n=300)
    means = np.array([[0.0, 0.0], [3.0, -2.0]])
    columns = {**MIXED, "gaussian": ([0, 1], {"means_init": means})}
    model = MixedTypeMixture(
        2, columns=columns, fixed_params={"gaussian__means"}, random_state=0
    ).fit(X)
    gaussian = model.named_estimators_["gaussian"]
    np.testing.assert_array_equal(gaussian.means_, means)
    # Covariances are estimated around the held means (weighted by resp).
    resp = model.predict_proba(X)
    for k in range(2):
        d = X[:, :2] - means[k]
        expected = (resp[:, k, None] * d).T @ d / resp[:, k].sum()
        # one EM step after the last E-step: close, not equal
        np.testing.assert_allclose(gaussian.covariances_[k], expected, atol=1e-2)


@pytest.mark.parametrize("options", [{"assignment": "hard"}, {"accelerate": "squarem"}])
def test_hard_em_and_squarem(options):
    X, z, _ = mixed_data(n=600)
    model = MixedTypeMixture(2, columns=MIXED, random_state=0, **options).fit(X)
    labels = _order(model).argsort()[model.predict(X)]
    assert np.mean(labels == z) > 0.95
    assert np.all(np.diff(model.lower_bounds_) >= -1e-9)


def test_sample_weight_equals_repeats_and_partial_fit():
    X, _, _ = mixed_data(n=300)
    w = np.random.RandomState(0).randint(0, 3, size=len(X))
    common = dict(columns=MIXED, random_state=0, tol=0.0, max_iter=20)
    starts = MixedTypeMixture(
        2, max_iter=0, **{k: v for k, v in common.items() if k != "max_iter"}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = starts.fit(np.repeat(X, w, axis=0))
    init = {"weights_init": start.weights_}
    columns = {
        "gaussian": (
            [0, 1],
            {
                "means_init": start.gaussian__means_,
                "precisions_init": start.named_estimators_["gaussian"].precisions_,
            },
        ),
        "poisson": ([2], {"rates_init": start.poisson__rates_}),
        "coin": ([3], {"probs_init": start.coin__probs_}),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = MixedTypeMixture(2, **{**common, "columns": columns}, **init).fit(
            X, sample_weight=w
        )
        b = MixedTypeMixture(2, **{**common, "columns": columns}, **init).fit(
            np.repeat(X, w, axis=0)
        )
    for key, value in a._em_load().items():
        np.testing.assert_allclose(value, b._em_load()[key], rtol=1e-8, atol=1e-12)
    stream = MixedTypeMixture(2, columns=MIXED, random_state=0)
    for batch in np.array_split(X, 5):
        stream.partial_fit(batch)
    assert stream.n_iter_ == 5 and np.isfinite(stream.score(X))
    with pytest.raises(ValueError, match="partial_fit"):
        stream.set_params(columns={"gaussian": [0, 1, 2], "coin": [3]}).partial_fit(X)


def test_dask_fit_and_predict():
    da = pytest.importorskip("dask.array")
    X, _, _ = mixed_data(n=400)
    model = MixedTypeMixture(2, columns=MIXED, random_state=0).fit(
        da.from_array(X, chunks=(100, 4))
    )
    labels = model.predict(da.from_array(X, chunks=(100, 4))).compute()
    np.testing.assert_array_equal(labels, model.predict(X))


def test_select_n_components_finds_two():
    from emmix.model_selection import select_n_components

    X, _, _ = mixed_data(n=600)
    selection = select_n_components(
        MixedTypeMixture(columns=MIXED, random_state=0), X, n_components=[1, 2, 3, 4]
    )
    assert selection.best_n_components_ == 2


def test_plot_draws_each_group():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emmix.plotting import plot_mixture

    X, _, _ = mixed_data(n=300)
    model = MixedTypeMixture(2, columns=MIXED, random_state=0).fit(X)
    fig, axes = plt.subplots(1, 3)
    for ax, features in zip(axes, [(0, 1), (2,), (3,)], strict=True):
        plot_mixture(model, X, ax, features=features)
    assert axes[0].get_xlabel() == "feature 0" and axes[0].get_ylabel() == "feature 1"
    assert "count" in axes[1].get_xlabel() and "feature 2" in axes[1].get_xlabel()
    assert "heads" in axes[2].get_xlabel()
    plt.close(fig)


# ---------------------------------------------------- missing values
def test_missing_values_whole_group_missing_in_rows():
    X, z, _ = mixed_data(n=2000, seed=2)
    rng = np.random.RandomState(0)
    holes = X.copy()
    holes[rng.rand(*X.shape) < 0.2] = np.nan
    holes[np.isnan(holes).all(axis=1), 0] = X[np.isnan(holes).all(axis=1), 0]
    assert np.isnan(holes[:, 2]).any()  # the Poisson group is one column
    model = MixedTypeMixture(2, columns=MIXED, random_state=0).fit(holes)
    labels = _order(model).argsort()[model.predict(holes)]
    assert np.mean(labels == z) > 0.9
    # score_samples: each row's observed part only (scipy, independently).
    g, p, c = (model.named_estimators_[n] for n in ("gaussian", "poisson", "coin"))
    rows = slice(0, 50)
    out = []
    for x in holes[rows]:
        per_k = []
        for k in range(2):
            lp = np.log(model.weights_[k])
            obs = ~np.isnan(x[:2])
            if obs.any():
                cov = g.covariances_[k][np.ix_(obs, obs)]
                lp += stats.multivariate_normal(g.means_[k][obs], cov).logpdf(
                    x[:2][obs]
                )
            if not np.isnan(x[2]):
                lp += stats.poisson.logpmf(x[2], p.rates_[k, 0])
            if not np.isnan(x[3]):
                lp += stats.binom.logpmf(x[3], 1, c.probs_[k, 0])
            per_k.append(lp)
        out.append(logsumexp(per_k))
    np.testing.assert_allclose(model.score_samples(holes[rows]), out, rtol=1e-10)
    filled = model.impute(holes)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~np.isnan(holes)], holes[~np.isnan(holes)])
    # A row without Gaussian values gets the posterior-weighted means.
    i = int(np.flatnonzero(np.isnan(holes[:, :2]).all(axis=1))[0])
    resp = model.predict_proba(holes[[i]])[0]
    np.testing.assert_allclose(filled[i, :2], resp @ g.means_, rtol=1e-10)
    # A missing count's fill is the posterior-weighted rate.
    i = int(np.flatnonzero(np.isnan(holes[:, 2]))[0])
    resp = model.predict_proba(holes[[i]])[0]
    assert filled[i, 2] == pytest.approx(resp @ p.rates_[:, 0], rel=1e-10)


def test_missing_values_refused_when_a_group_cannot_integrate_them():
    X, _ = _with_waiting_times()
    X[3, 0] = np.nan
    columns = [
        ("gaussian", [0, 1]),
        (ExponentialMixture, [4]),
        ("coin", [3]),
        ("poisson", [2]),
    ]
    with pytest.raises(ValueError, match="NaN"):
        MixedTypeMixture(2, columns=columns).fit(X)


# ------------------------------------------------------- columns and errors
def test_column_names_of_a_dataframe():
    pd = pytest.importorskip("pandas")
    X, _, _ = mixed_data(n=300)
    frame = pd.DataFrame(X, columns=["height", "weight", "visits", "smoker"])
    by_name = MixedTypeMixture(
        2,
        columns={
            "gaussian": ["height", "weight"],
            "poisson": "visits",
            "coin": ["smoker"],
        },
        random_state=0,
    ).fit(frame)
    by_place = MixedTypeMixture(2, columns=MIXED, random_state=0).fit(X)
    np.testing.assert_allclose(by_name.score(frame), by_place.score(X), rtol=1e-12)
    np.testing.assert_array_equal(by_name.columns_["poisson"], [2])
    bad = frame.copy()
    bad.loc[5, "visits"] = -2
    with pytest.raises(ValueError, match=r"group 'poisson'.*column 2 \('visits'\)"):
        clone(by_name).fit(bad)
    with pytest.raises(ValueError, match=r"X\[4, 3\].*heads"):
        odd = frame.copy()
        odd.loc[4, "smoker"] = 2
        clone(by_name).fit(odd)


def test_unordered_and_negative_columns():
    X, _, _ = mixed_data(n=300)
    perm = [3, 0, 2, 1]
    a = MixedTypeMixture(2, columns=MIXED, random_state=0).fit(X)
    b = MixedTypeMixture(
        2, columns={"gaussian": [1, -1], "poisson": [2], "coin": [0]}, random_state=0
    ).fit(X[:, perm])
    assert a.score(X) == pytest.approx(b.score(X[:, perm]), rel=1e-10)


@pytest.mark.parametrize(
    "columns, error, match",
    [
        (
            {"gaussian": [0, 1], "poisson": [1, 2], "coin": [3]},
            ValueError,
            r"column 1 of X is in groups 'gaussian' and 'poisson'",
        ),
        (
            {"gaussian": [0, 1], "coin": [3]},
            ValueError,
            r"column 2 of X is in no group",
        ),
        ({"gaussian": [0, 1, 2], "coins": [3]}, ValueError, r"unknown family 'coins'"),
        ({"gaussian": [0, 1, 2], "coin": [7]}, ValueError, r"includes column 7"),
        ({"gaussian": [0, 1, 2], "coin": ["a"]}, ValueError, r"no column names"),
        (
            {"gaussian": ([0, 1, 2], {"tol": 1.0}), "coin": [3]},
            ValueError,
            r"\['tol'\].*set them on MixedTypeMixture",
        ),
        (
            {"gaussian": ([0, 1, 2], {"colour": 1}), "coin": [3]},
            ValueError,
            r"invalid options for group 'gaussian'",
        ),
        (
            {"gaussian": ([0, 1, 2], {"covariance_type": "round"}), "coin": [3]},
            ValueError,
            r"group 'gaussian'.*covariance_type",
        ),
        ([("gaussian", [0, 1, 2]), (np.mean, [3])], TypeError, r"family"),
        ("gaussian", ValueError, "columns"),
        ([], ValueError, r"columns is empty"),
    ],
)
def test_bad_columns(columns, error, match):
    X, _, _ = mixed_data(n=100)
    with pytest.raises(error, match=match):
        MixedTypeMixture(2, columns=columns).fit(X)


def test_two_groups_of_one_family():
    X, _, _ = mixed_data(n=300)
    columns = [
        ("gaussian", [0], {"covariance_type": "spherical"}),
        ("gaussian", [1]),
        ("poisson", [2, 3]),
    ]
    model = MixedTypeMixture(2, columns=columns, random_state=0).fit(X)
    assert list(model.named_estimators_) == ["gaussian-1", "gaussian-2", "poisson"]
    assert model.named_estimators_["gaussian-1"].covariances_.shape == (2,)
    assert "gaussian-2__means" in model._em_groups()
    assert "gaussian-1: mean" in model._describe_component(0)


def test_group_estimators_are_fitted_mixtures_of_their_columns():
    X, _, _ = mixed_data(n=300)
    model = MixedTypeMixture(2, columns=MIXED, random_state=0).fit(X)
    poisson = model.named_estimators_["poisson"]
    assert isinstance(poisson, PoissonMixture) and poisson.n_components == 2
    np.testing.assert_array_equal(poisson.weights_, model.weights_)
    expected = logsumexp(
        np.log(model.weights_) + stats.poisson.logpmf(X[:, [2]], poisson.rates_[:, 0]),
        axis=1,
    )
    np.testing.assert_allclose(poisson.score_samples(X[:, [2]]), expected, rtol=1e-10)
    assert isinstance(model.estimators_[2], CoinMixture)
    sample, _ = model.sample(500)
    assert sample.shape == (500, 4) and set(np.unique(sample[:, 3])) <= {0.0, 1.0}


def test_categorical_group_uses_its_codes():
    from emmix import CategoricalMixture

    X, z, _ = mixed_data(n=400)
    rng = np.random.RandomState(1)
    answers = np.where(
        z == 1, rng.choice(3, size=400, p=[0.6, 0.3, 0.1]), rng.choice(3, size=400)
    )
    labels = np.array([10.0, 20.0, 40.0])[answers]  # numeric categories
    Xc = np.column_stack([X[:, :2], labels, X[:, 2]])
    columns = {"gaussian": [0, 1], "categorical": [2], "poisson": [3]}
    model = MixedTypeMixture(2, columns=columns, random_state=0).fit(Xc)
    g, c, p = (
        model.named_estimators_[n] for n in ("gaussian", "categorical", "poisson")
    )
    assert isinstance(c, CategoricalMixture)
    np.testing.assert_array_equal(c.categories_[0], [10.0, 20.0, 40.0])
    log_p = np.column_stack(
        [
            np.log(model.weights_[k])
            + stats.multivariate_normal(g.means_[k], g.covariances_[k]).logpdf(
                Xc[:, :2]
            )
            + np.log(c.probs_[k, answers])
            + stats.poisson.logpmf(Xc[:, 3], p.rates_[k, 0])
            for k in range(2)
        ]
    )
    np.testing.assert_allclose(
        model.score_samples(Xc), logsumexp(log_p, axis=1), rtol=1e-10
    )
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match=r"cannot fit this Dask array.*categories_"):
        clone(model).fit(da.from_array(Xc, chunks=(100, 4)))


def test_family_with_its_own_start_is_refused():
    from emmix import StudentTMixture

    X, _, _ = mixed_data(n=100)
    with pytest.raises(TypeError, match=r"StudentTMixture, whose start .*'dofs'"):
        MixedTypeMixture(
            2, columns=[(StudentTMixture, [0, 1]), ("poisson", [2, 3])]
        ).fit(X)


def test_kmeans_start_on_a_sample_of_rows(monkeypatch):
    # Above the threshold the k-means start clusters a uniform sample of rows
    # (drawn from random_state) and labels every row by its nearest centre;
    # reproduced with scikit-learn's KMeans on the mixture's start features.
    from sklearn.cluster import KMeans
    from sklearn.utils import check_random_state

    import emmix.mixture._categorical as categorical

    monkeypatch.setattr(categorical, "KMEANS_START_ROWS", 200)
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, size=600)
    X = np.column_stack(
        [rng.normal(3.0 * y, 1.0), (rng.uniform(size=600) < 0.2 + 0.6 * y)]
    ).astype(float)
    columns = {"gaussian": ([0], {"covariance_type": "diag"}), "categorical": [1]}
    kwargs = dict(columns=columns, max_iter=0, random_state=3)
    mix = MixedTypeMixture(2, **kwargs).fit(X)
    again = MixedTypeMixture(2, **kwargs).fit(X)
    np.testing.assert_array_equal(mix.weights_, again.weights_)
    state = check_random_state(3)
    rows = np.sort(state.choice(600, size=200, replace=False))
    features = mix._init_features(mix._validate_input(X, reset=False))
    labels = KMeans(2, n_init=1, random_state=state).fit(features[rows])
    labels = labels.predict(features)
    np.testing.assert_allclose(
        mix.weights_, np.bincount(labels, minlength=2) / 600, rtol=1e-12
    )
    gaussian = mix.named_estimators_["gaussian"]
    means = [X[labels == k, 0].mean() for k in range(2)]
    np.testing.assert_allclose(gaussian.means_[:, 0], means, rtol=1e-10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estep_with_kept_columns_equals_scipy_and_by_hand_sums():
    """The E-step with each group's columns kept contiguous in the fit-long
    memo (unordered columns, NaN, sample weights): the log-densities are
    scipy's (categorical answers by direct look-up), every pass with the memo
    equals one without it, and each group's statistics are the weighted sums
    of its own rows by hand."""
    rng = np.random.RandomState(3)
    n = 500
    z = rng.randint(2, size=n)
    X = np.column_stack(
        [
            rng.normal([0.0, 3.0], 1.0, size=(n, 2))[np.arange(n), z],
            rng.poisson(np.array([2.0, 9.0])[z]),
            rng.randint(0, 3, size=n),
            rng.normal([1.0, -2.0], 0.5, size=(n, 2))[np.arange(n), z],
            rng.randint(0, 2, size=n),
            rng.poisson(np.array([5.0, 1.0])[z]),
        ]
    ).astype(float)
    X[rng.uniform(size=X.shape) < 0.1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    w = rng.uniform(0.0, 3.0, size=n)
    columns = [
        ("categorical", [4, 2]),
        ("gaussian", [3, 0], {"covariance_type": "diag"}),
        ("poisson", [5, 1]),
    ]
    model = MixedTypeMixture(2, columns=columns, max_iter=3, random_state=0)
    model.fit(X, sample_weight=w)
    params = model._em_prepare(model._em_load())
    cat, gauss, pois = (model.named_estimators_[g] for g in model.columns_)
    expected = np.tile(np.log(model.weights_), (n, 1))
    for k in range(2):
        for c, j in enumerate([4, 2]):
            seen = ~np.isnan(X[:, j])
            expected[seen, k] += np.log(
                cat.category_probs_[c][k][X[seen, j].astype(int)]
            )
        for c, j in enumerate([3, 0]):
            seen = ~np.isnan(X[:, j])
            expected[seen, k] += stats.norm.logpdf(
                X[seen, j],
                gauss.means_[k, c],
                np.sqrt(gauss.covariances_[k, c]),
            )
        for c, j in enumerate([5, 1]):
            seen = ~np.isnan(X[:, j])
            expected[seen, k] += stats.poisson.logpmf(X[seen, j], pois.rates_[k, c])
    memo: dict = {}
    plain, loglik = model._em_estep(X, w, params)
    for _ in range(2):  # the pass that fills the memo, and one that reads it
        np.testing.assert_allclose(
            model._weighted_log_prob(X, params, {"memo": memo}), expected, rtol=1e-12
        )
        kept, kept_loglik = model._em_estep(X, w, params, memo=memo)
        assert set(kept) == set(plain)
        for key in plain:
            np.testing.assert_allclose(kept[key], plain[key], rtol=1e-12)
        np.testing.assert_allclose(kept_loglik, loglik, rtol=1e-12)
    assert ("columns", "poisson") in memo
    resp = np.exp(expected - logsumexp(expected, axis=1)[:, None]) * w[:, None]
    stats_ = model._em_estep(X, w, params, memo=memo)[0]
    for name, cols in model.columns_.items():
        seen = ~np.isnan(X[:, cols]).all(axis=1)
        np.testing.assert_allclose(
            stats_[name + "__nk"], resp[seen].sum(axis=0), rtol=1e-10
        )
    observed = ~np.isnan(X[:, [5, 1]])
    np.testing.assert_allclose(
        stats_["poisson__sum_x"],
        resp.T @ np.where(observed, X[:, [5, 1]], 0.0),
        rtol=1e-10,
    )
