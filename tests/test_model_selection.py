"""Choosing the number of components: GridSearchCV, select_n_components, scorers."""

import builtins
import math
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix.datasets import make_coin_rounds, make_poisson_mixture
from emmix.model_selection import (
    ComponentSelection,
    aic_scorer,
    bic_scorer,
    select_n_components,
)


@pytest.fixture(autouse=True)
def _one_thread():
    # These fits are tiny: BLAS/OpenMP threads only add start-up and spin
    # overhead (a 100x slow-down on a loaded 2-core machine).
    with threadpool_limits(limits=1):
        yield


def blobs(seed=0, n=400):
    """Three well-separated round Gaussian clusters in 2-d."""
    X, _ = make_blobs(
        n_samples=n, centers=[[0, 0], [10, 0], [0, 10]], random_state=seed
    )
    return X


def poisson_counts(seed=0):
    X, _ = make_poisson_mixture(300, rates=[1, 10, 30], random_state=seed)
    return X


def coin_rounds(seed=0):
    X, _ = make_coin_rounds(300, n_trials=30, probs=[0.1, 0.5, 0.9], random_state=seed)
    return X


CASES = {
    "gaussian": (GaussianMixtureEM(random_state=0), blobs),
    "poisson": (PoissonMixture(random_state=0), poisson_counts),
    "coin": (CoinMixture(n_trials=30, random_state=0), coin_rounds),
}


# ----------------------------------------------------------- GridSearchCV
def test_grid_search_default_score_picks_three_gaussians():
    X = blobs()
    search = GridSearchCV(
        GaussianMixtureEM(random_state=0), {"n_components": range(1, 6)}
    ).fit(X)
    assert search.best_params_ == {"n_components": 3}


def test_grid_search_default_score_is_held_out_mean_log_likelihood():
    X = blobs(seed=1, n=150)
    cv = KFold(3)
    search = GridSearchCV(
        GaussianMixtureEM(random_state=0), {"n_components": [2]}, cv=cv
    ).fit(X)
    expected = np.mean(
        [
            GaussianMixtureEM(2, random_state=0).fit(X[train]).score(X[test])
            for train, test in cv.split(X)
        ]
    )
    assert search.best_score_ == pytest.approx(expected, rel=1e-12)
    assert expected < 0  # a mean log-density, not a criterion


def test_grid_search_in_pipeline_picks_three():
    X = blobs(seed=2)
    pipe = make_pipeline(StandardScaler(), GaussianMixtureEM(random_state=0))
    search = GridSearchCV(pipe, {"gaussianmixtureem__n_components": range(1, 6)})
    search.fit(X)
    assert search.best_params_ == {"gaussianmixtureem__n_components": 3}
    # The refitted pipeline scores like its last step on scaled data.
    best = search.best_estimator_
    assert best.score(X) == pytest.approx(best[-1].score(best[0].transform(X)))


@pytest.mark.parametrize("family", ["gaussian", "poisson", "coin"])
def test_grid_search_with_bic_scorer_picks_three(family):
    estimator, make = CASES[family]
    X = make()
    search = GridSearchCV(
        estimator, {"n_components": range(1, 6)}, scoring=bic_scorer
    ).fit(X)
    assert search.best_params_ == {"n_components": 3}


@pytest.mark.parametrize("family", ["poisson", "coin"])
def test_grid_search_default_score_never_underfits_counts(family):
    # For 1-d counts, extra components can copy an existing one at almost no
    # cost in held-out likelihood, so K > 3 may tie with K = 3; but fewer than
    # 3 components must lose clearly.
    estimator, make = CASES[family]
    X = make()
    search = GridSearchCV(estimator, {"n_components": range(1, 6)}).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_["n_components"] >= 3
    assert scores[2] > scores[1] + 0.5
    assert scores[2] == pytest.approx(scores.max(), abs=0.01)


# ---------------------------------------------------- select_n_components
@pytest.mark.parametrize("family", ["gaussian", "poisson", "coin"])
def test_select_by_bic_picks_three(family):
    estimator, make = CASES[family]
    X = make()
    selection = select_n_components(estimator, X, range(1, 6), criterion="bic")
    assert isinstance(selection, ComponentSelection)
    assert selection.best_n_components_ == 3
    best = selection.best_estimator_
    assert best.n_components == 3
    assert type(best) is type(estimator)
    # Settings other than n_components are kept.
    assert best.get_params()["random_state"] == 0
    table = selection.table_
    assert list(table.index) == [1, 2, 3, 4, 5]
    assert table.loc[3, "bic"] == pytest.approx(best.bic(X))
    assert table.loc[3, "log_likelihood"] == pytest.approx(best.score(X) * len(X))
    assert table.loc[3, "n_parameters"] == best._n_parameters()
    assert bool(table.loc[3, "converged"]) is best.converged_
    assert table.loc[3, "n_iter"] == best.n_iter_
    assert np.all(table["fit_time"] >= 0)
    assert selection.best_index_ == int(np.argmin(selection.scores_))


def test_each_candidate_is_a_fit_of_a_clone():
    X = blobs(seed=3, n=200)
    estimator = GaussianMixtureEM(n_init=2, covariance_type="diag", random_state=5)
    selection = select_n_components(estimator, X, [2, 4])
    assert not hasattr(estimator, "weights_")  # the given estimator is not fitted
    for k, fitted in zip([2, 4], selection.estimators_, strict=True):
        assert fitted.get_params() == {**estimator.get_params(), "n_components": k}
        reference = clone(estimator).set_params(n_components=k).fit(X)
        np.testing.assert_allclose(fitted.means_, reference.means_)


def test_aic_is_bic_with_another_penalty():
    X = poisson_counts(seed=1)
    estimator = PoissonMixture(random_state=0)
    by_aic = select_n_components(estimator, X, range(1, 5), criterion="aic")
    by_bic = select_n_components(estimator, X, range(1, 5), criterion="bic")
    p = by_bic.table_["n_parameters"].to_numpy()
    np.testing.assert_allclose(
        by_aic.scores_, by_bic.scores_ - p * (math.log(len(X)) - 2.0)
    )
    assert by_aic.best_index_ == int(np.argmin(by_aic.scores_))
    assert not by_aic.greater_is_better


def test_cv_criterion_is_mean_held_out_log_likelihood_and_maximised():
    X = blobs(seed=4, n=200)
    estimator = GaussianMixtureEM(random_state=7)
    selection = select_n_components(estimator, X, [1, 3, 5], criterion="cv", cv=3)
    assert selection.greater_is_better
    assert selection.best_n_components_ == 3
    assert selection.best_index_ == int(np.argmax(selection.scores_))
    # An int cv is a shuffled KFold seeded by the estimator's random_state.
    folds = KFold(3, shuffle=True, random_state=7).split(X)
    scores = [
        GaussianMixtureEM(3, random_state=7).fit(X[train]).score(X[test])
        for train, test in folds
    ]
    assert selection.table_.loc[3, "cv"] == pytest.approx(np.mean(scores))
    assert selection.table_.loc[3, "cv_std"] == pytest.approx(np.std(scores))


def test_sample_weight_counts_as_repeated_rows_in_the_criterion():
    X = poisson_counts(seed=2)[:60]
    weights = np.random.RandomState(0).randint(1, 4, size=len(X))
    selection = select_n_components(
        PoissonMixture(random_state=0), X, [1, 2, 3], sample_weight=weights
    )
    repeated = np.repeat(X, weights, axis=0)
    for k, fitted in zip([1, 2, 3], selection.estimators_, strict=True):
        assert selection.table_.loc[k, "bic"] == pytest.approx(fitted.bic(repeated))
        assert selection.table_.loc[k, "log_likelihood"] == pytest.approx(
            fitted.score(repeated) * len(repeated)
        )


def test_pipeline_selection_scores_the_last_step_on_transformed_data():
    X = blobs(seed=5, n=300)
    pipe = make_pipeline(StandardScaler(), GaussianMixtureEM(random_state=0))
    selection = select_n_components(pipe, X, range(1, 5))
    assert selection.best_n_components_ == 3
    best = selection.best_estimator_
    Xt = best[0].transform(X)
    assert selection.table_.loc[3, "bic"] == pytest.approx(best[-1].bic(Xt))
    assert bic_scorer(best, X) == pytest.approx(-best[-1].bic(Xt))
    assert aic_scorer(best, X) == pytest.approx(-best[-1].aic(Xt))


def test_scorers_are_negated_criteria():
    X = blobs(seed=6, n=150)
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    assert bic_scorer(gm, X) == -gm.bic(X)
    assert aic_scorer(gm, X) == -gm.aic(X)
    assert bic_scorer(gm, X, None) < aic_scorer(gm, X)  # log(150) > 2


def test_failed_candidates_are_skipped_with_error_score_nan():
    # Three distinct points: two or more components collapse onto single
    # points, and with reg_covar=0 their covariance is singular.
    X = np.repeat([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], 10, axis=0)
    estimator = GaussianMixtureEM(reg_covar=0.0, random_state=0)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        select_n_components(estimator, X, [1, 2, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k-means warns about duplicate points
        with pytest.warns(UserWarning, match="n_components=3 failed"):
            selection = select_n_components(estimator, X, [1, 3], error_score=np.nan)
    assert selection.best_n_components_ == 1
    assert np.isnan(selection.scores_[1])
    assert selection.estimators_[1] is None


def _hide_module(monkeypatch, name):
    """Make ``import name`` fail (scikit-learn keeps reading sys.modules)."""
    real_import = builtins.__import__

    def fake_import(module, *args, **kwargs):
        if module == name or module.startswith(name + "."):
            raise ImportError(f"No module named {name!r}")
        return real_import(module, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_table_is_a_dict_of_arrays_without_pandas(monkeypatch):
    _hide_module(monkeypatch, "pandas")
    X = poisson_counts()[:80]
    selection = select_n_components(PoissonMixture(random_state=0), X, [1, 2])
    table = selection.table_
    assert isinstance(table, dict)
    assert set(table) == {
        "n_components",
        "bic",
        "log_likelihood",
        "n_parameters",
        "converged",
        "n_iter",
        "fit_time",
        "from_split",
        "dip",
    }
    np.testing.assert_array_equal(table["n_components"], [1, 2])
    np.testing.assert_allclose(table["bic"], selection.scores_)


def test_int_n_components_means_one_to_n():
    X = poisson_counts()[:50]
    selection = select_n_components(PoissonMixture(random_state=0), X, 3)
    np.testing.assert_array_equal(selection.n_components_, [1, 2, 3])
    assert "criterion='bic'" in repr(selection)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"criterion": "loglik"}, ValueError, "criterion must be one of"),
        ({"n_components": [0, 1]}, ValueError, "positive integers"),
        ({"n_components": [2, 2]}, ValueError, "duplicates"),
        ({"n_components": []}, ValueError, "at least one candidate"),
        ({"n_components": [1, 50]}, ValueError, "only 20 rows"),
        ({"n_components": 2.5}, TypeError, "iterable of ints"),
        ({"sample_weight": np.ones(3)}, ValueError, r"shape \(20,\)"),
        ({"error_score": "skip"}, ValueError, "error_score"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    X = blobs(n=20)
    with pytest.raises(error, match=match):
        select_n_components(GaussianMixtureEM(), X, **{"n_components": [1], **kwargs})


def test_estimator_without_n_components_is_rejected():
    with pytest.raises(TypeError, match="no 'n_components' parameter"):
        select_n_components(StandardScaler(), blobs(n=20), [1])
