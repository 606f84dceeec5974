"""The scale of ``sample_weight`` never matters.

Multiplying every weight by the same positive number leaves the weighted
likelihood's maximiser unchanged (the log-likelihood is multiplied by it), so
every fitted parameter must stay the same up to rounding, for every
estimator, from 1e-100 to 1e100 and beyond (1e306: sums would overflow;
1e-306: ``10 * eps`` in the M-steps would dominate the weights).
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emmix import CategoricalMixture, CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix.impute import MissingBivariateImputer, MultivariateNormalImputer


def data():
    rng = np.random.RandomState(0)
    X = np.r_[rng.poisson(2, (40, 2)), rng.poisson(9, (40, 2))].astype(float)
    X[::7, 1] = np.nan
    weights = rng.randint(1, 4, len(X)).astype(float)
    return X, weights


ESTIMATORS = {
    "gaussian_full": lambda: GaussianMixtureEM(2, random_state=0, tol=1e-8),
    "gaussian_diag_random": lambda: GaussianMixtureEM(
        2, covariance_type="diag", init_params="random", random_state=0, tol=1e-8
    ),
    "gaussian_hard": lambda: GaussianMixtureEM(
        2, covariance_type="spherical", assignment="hard", random_state=0
    ),
    "poisson_squarem": lambda: PoissonMixture(
        2, accelerate="squarem", random_state=0, tol=1e-8
    ),
    "coins_kmeans++": lambda: CoinMixture(
        2, n_trials=20, init_params="k-means++", random_state=0, tol=1e-8
    ),
    # The counts read as categories (one per distinct count of each column).
    "categorical": lambda: CategoricalMixture(2, random_state=0, tol=1e-8),
    "imputer": lambda: MultivariateNormalImputer(tol=1e-10),
    "bivariate_imputer": lambda: MissingBivariateImputer(tol=1e-10),
}


def fitted_parameters(estimator):
    return {
        key: value
        for key, value in vars(estimator).items()
        if key.endswith("_")
        and isinstance(value, np.ndarray)
        and value.dtype.kind == "f"
    }


def reference(name):
    X, weights = data()
    return fitted_parameters(ESTIMATORS[name]().fit(X, sample_weight=weights))


REFERENCE = {}


def assert_same_fit(name, factor, rtol=1e-10):
    if name not in REFERENCE:
        REFERENCE[name] = reference(name)
    X, weights = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no convergence trouble
        estimator = ESTIMATORS[name]().fit(X, sample_weight=weights * factor)
    got = fitted_parameters(estimator)
    for key, expected in REFERENCE[name].items():
        # atol: entries that are 0 up to rounding (an off-diagonal covariance).
        np.testing.assert_allclose(
            got[key], expected, rtol=rtol, atol=1e-12, err_msg=f"{key}, x{factor}"
        )


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@settings(max_examples=15, deadline=None)
@given(exponent=st.floats(min_value=-100, max_value=100))
def test_weight_scale_leaves_every_parameter_unchanged(name, exponent):
    assert_same_fit(name, 10.0**exponent)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("factor", [1e306, 1e-306, 3.0, 2.0**-1000])
def test_extreme_weight_scales(name, factor):
    assert_same_fit(name, factor)


@pytest.mark.parametrize("name", ["gaussian_full", "poisson_squarem", "imputer"])
def test_weight_scale_in_float32(name):
    # Weights far outside float32's range are normalised before the cast.
    X, weights = data()
    X = X.astype(np.float32)
    a = ESTIMATORS[name]().fit(X, sample_weight=weights)
    b = ESTIMATORS[name]().fit(X, sample_weight=weights * 1e-100)
    # (Before, 1e-100 became 0 in float32: "sample_weight sums to zero".)
    # float32 rounding of the weights moves a fit with tol below float32's
    # resolution by a few 1e-5.
    for key, value in fitted_parameters(a).items():
        np.testing.assert_allclose(getattr(b, key), value, rtol=1e-3, err_msg=key)


def test_integer_weights_stay_exact_and_unit_weights_untouched():
    from emmix._validation import check_sample_weight

    X = np.zeros((4, 1))
    np.testing.assert_array_equal(check_sample_weight(np.ones(4), X), np.ones(4))
    # Mean 3: divided by 2 exactly.
    np.testing.assert_array_equal(
        check_sample_weight([1, 2, 3, 6], X), np.array([1, 2, 3, 6]) / 2
    )
    # The mean of the normalised weights lies in [1, 2) for any scale.
    for factor in (1e-300, 1e-14, 7.0, 1e300):
        w = check_sample_weight(np.array([1.0, 2.0, 3.0, 6.0]) * factor, X)
        assert 1.0 <= w.mean() < 2.0
        np.testing.assert_allclose(w / w[0], [1, 2, 3, 6], rtol=1e-15)


@pytest.mark.parametrize("factor", [1e-14, 1e307])
def test_weight_scale_on_dask(factor):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    X, weights = data()
    start = {"weights_init": [0.5, 0.5], "rates_init": [[1.0, 1.0], [10.0, 10.0]]}
    with dask.config.set(scheduler="synchronous"):
        for make in (
            lambda: PoissonMixture(2, tol=1e-8, **start),
            lambda: MultivariateNormalImputer(tol=1e-10),
        ):
            expected = fitted_parameters(make().fit(X, sample_weight=weights))
            got = make().fit(
                da.from_array(X, chunks=20),
                sample_weight=da.from_array(weights * factor, chunks=20),
            )
            for key, value in expected.items():
                np.testing.assert_allclose(
                    getattr(got, key), value, rtol=1e-10, err_msg=key
                )
