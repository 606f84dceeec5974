"""Saving and sharing fitted models; fitting in other threads and processes.

* Every public estimator round-trips through ``pickle`` and through
  ``skops.io`` with identical outputs. skops loads only the types the caller
  trusts; the types it asks about must be numpy, builtins, scikit-learn or
  emmix ones (nothing that runs arbitrary code).
* ``GridSearchCV(n_jobs=2)`` (worker processes, and threads) gives exactly
  the results of ``n_jobs=1``: the estimators pickle into the workers, hold
  no shared state, and sum their statistics in a fixed order.
"""

import pickle
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from joblib import parallel_backend
from numpy.testing import assert_array_equal
from sklearn.model_selection import GridSearchCV

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix.impute import MissingBivariateImputer, MultivariateNormalImputer

sio = pytest.importorskip("skops.io")
pd = pytest.importorskip("pandas")

#: Where the types skops asks the user to trust may come from.
SAFE_PREFIXES = ("numpy.", "builtins.", "sklearn.", "emmix.")


def counts(n=60, d=2, random_state=0):
    rng = np.random.RandomState(random_state)
    rates = np.array([[2.0, 8.0], [12.0, 3.0]])[:, :d]
    return rng.poisson(rates[rng.randint(2, size=n)]).astype(np.float64)


def with_missing(X):
    X = X.copy()
    X[::5, 0] = np.nan
    X[2::7, 1] = np.nan
    return X


def fitted_cases():
    """(id, fitted estimator, data to call it on), covering every public class."""
    X = counts()
    tosses = np.full_like(X, 20.0)
    frame = pd.DataFrame(with_missing(X), columns=["calls", "visits"])
    cases = [
        ("gaussian_full", GaussianMixtureEM(2, random_state=0), X),
        (
            "gaussian_diag_fixed_weights",
            GaussianMixtureEM(
                2,
                covariance_type="diag",
                weights_init=[0.5, 0.5],
                fixed_params={"weights"},
                random_state=np.random.RandomState(3),
            ),
            X,
        ),
        ("gaussian_spherical", GaussianMixtureEM(2, covariance_type="spherical"), X),
        ("gaussian_tied", GaussianMixtureEM(2, covariance_type="tied"), X),
        ("poisson", PoissonMixture(2, random_state=0), X),
        ("coin", CoinMixture(2, n_trials=[20, 20], random_state=0), X),
        (
            "coin_from_X",
            CoinMixture(2, n_trials="from_X", fixed_params=frozenset({"weights"})),
            np.c_[X, tosses],
        ),
        ("imputer", MultivariateNormalImputer(), with_missing(X)),
        (
            "imputer_pandas_indicator",
            MultivariateNormalImputer(
                add_indicator=True, sample_posterior=True, random_state=0
            ),
            frame,
        ),
        ("bivariate", MissingBivariateImputer(random_state=0), with_missing(X)),
    ]
    for _, estimator, data in cases:
        estimator.fit(data)
    return cases


CASES = fitted_cases()


def _from_X(estimator):
    return isinstance(estimator.get_params().get("n_trials"), str)


def outputs(estimator, X):
    """Everything a fitted estimator computes from X (deterministically)."""
    out = {"score_samples": estimator.score_samples(X), "score": estimator.score(X)}
    for method in ("predict", "predict_proba", "transform", "bic", "aic"):
        if hasattr(estimator, method):
            out[method] = getattr(estimator, method)(X)
    seeded = isinstance(estimator.random_state, int)
    if seeded and hasattr(estimator, "sample") and not _from_X(estimator):
        out["sample"] = estimator.sample(7)
    if hasattr(estimator, "get_feature_names_out"):
        out["names"] = estimator.get_feature_names_out()
    return out


def assert_same(estimator, loaded, X):
    assert type(loaded) is type(estimator)
    assert loaded.get_params().keys() == estimator.get_params().keys()
    for key, value in vars(estimator).items():
        if key.endswith("_") and isinstance(value, np.ndarray):
            assert_array_equal(getattr(loaded, key), value, err_msg=key)
    expected, got = outputs(estimator, X), outputs(loaded, X)
    assert expected.keys() == got.keys()
    for key in expected:
        value, other = expected[key], got[key]
        if isinstance(value, tuple):  # sample() -> (X, y)
            for a, b in zip(value, other, strict=True):
                assert_array_equal(a, b, err_msg=key)
        else:
            assert_array_equal(np.asarray(other), np.asarray(value), err_msg=key)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_pickle_round_trip(case):
    _, estimator, X = case
    assert_same(estimator, pickle.loads(pickle.dumps(estimator)), X)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_skops_round_trip_trusts_only_safe_types(case, tmp_path):
    _, estimator, X = case
    path = tmp_path / "model.skops"
    sio.dump(estimator, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert f"{type(estimator).__module__}.{type(estimator).__name__}" in untrusted
    unsafe = [name for name in untrusted if not name.startswith(SAFE_PREFIXES)]
    assert not unsafe, unsafe
    # Nothing is loaded unless the caller trusts it explicitly ...
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)
    # ... and with the listed types trusted, the model is the same model.
    assert_same(estimator, sio.load(path, trusted=untrusted), X)


def test_unfitted_estimators_round_trip(tmp_path):
    for _, estimator, _ in CASES:
        fresh = type(estimator)(**estimator.get_params())
        path = tmp_path / "fresh.skops"
        sio.dump(fresh, path)
        loaded = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        params, expected = loaded.get_params(), fresh.get_params()
        assert params.keys() == expected.keys()
        for key, value in expected.items():
            if isinstance(value, np.random.RandomState):
                value, params[key] = value.get_state()[1], params[key].get_state()[1]
            assert_array_equal(np.asarray(params[key]), np.asarray(value), key)


# ------------------------------------------------- threads and processes
GRID_CASES = [
    ("gaussian", GaussianMixtureEM(random_state=0), {"n_components": [1, 2, 3]}),
    ("poisson", PoissonMixture(random_state=0), {"n_components": [1, 2, 3]}),
    ("coin", CoinMixture(n_trials=20, random_state=0), {"n_components": [1, 2, 3]}),
    ("imputer", MultivariateNormalImputer(), {"reg_covar": [0.0, 1e-3]}),
]


def grid_search(estimator, grid, X, n_jobs, backend):
    with warnings.catch_warnings(), parallel_backend(backend):
        warnings.simplefilter("ignore")
        return GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs).fit(X)


@pytest.mark.parametrize("backend", ["loky", "threading"])
@pytest.mark.parametrize("case", GRID_CASES, ids=[c[0] for c in GRID_CASES])
def test_grid_search_in_parallel_equals_sequential(case, backend):
    name, estimator, grid = case
    X = with_missing(counts(90)) if name == "imputer" else counts(90)
    one = grid_search(estimator, grid, X, 1, backend)
    two = grid_search(estimator, grid, X, 2, backend)
    for key in one.cv_results_:
        if "time" in key:
            continue
        assert_array_equal(
            np.asarray(two.cv_results_[key]), np.asarray(one.cv_results_[key])
        )
    assert two.best_params_ == one.best_params_
    assert_same(one.best_estimator_, two.best_estimator_, X)


@pytest.mark.parametrize("case", CASES[:1] + CASES[4:8], ids=lambda c: c[0])
def test_one_fitted_model_used_from_several_threads(case):
    _, estimator, X = case
    expected = outputs(estimator, X)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: outputs(estimator, X), range(8)))
    for got in results:
        for key in ("score_samples", "predict_proba", "transform"):
            if key in expected:
                assert_array_equal(got[key], expected[key])
