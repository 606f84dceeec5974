"""scikit-learn's estimator checks over every public emmix estimator, and
emmix's conformance check of the EM rules over every mixture family.

Estimators are found automatically: every class exported by ``emmix`` (and its
subpackages) that derives from ``BaseEstimator``. Families that need a non-default
parameter for the checks' random data say so in ``CHECK_PARAMS``. Each rule of
:func:`emmix.utils.estimator_checks.check_em_family` runs as its own test for
each family (``test_em_family_conformance``).
"""

import importlib
import inspect
import pkgutil

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import emmix
from emmix.mixture._covariance_structures import STRUCTURES
from emmix.utils.estimator_checks import (
    CHECKS,
    check_fitted_parameters_valid,
    check_integer_weights_are_repeats,
    check_log_likelihood_never_decreases,
    check_partial_fit_is_em_step,
    check_pickle_round_trip,
    check_predict_proba,
)

#: mclust structures run through every conformance check (the others through
#: CHEAP_CHECKS only, to keep the suite's time reasonable).
FULLY_CHECKED_STRUCTURES = ("EII", "VEI", "EVE", "EEV", "VEV")
CHEAP_CHECKS = (
    check_fitted_parameters_valid,
    check_integer_weights_are_repeats,
    check_log_likelihood_never_decreases,
    check_partial_fit_is_em_step,
    check_pickle_round_trip,
    check_predict_proba,
)

#: Constructor arguments the checks need (the reason is given for each).
CHECK_PARAMS = {
    # The checks draw heads counts up to ~ 100 (scaled random data); the number
    # of tosses must leave room for them.
    "CoinMixture": {"n_trials": 100},
    # The checks predict on rows drawn apart from the training rows (splits,
    # rows of weight 0), whose categories fit did not see: they are treated
    # as missing answers instead of raising.
    "CategoricalMixture": {"handle_unknown": "ignore"},
}

#: check name -> reason, per estimator; must stay empty unless a reason exists.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def all_estimators():
    found = {}
    modules = [emmix]
    for info in pkgutil.walk_packages(emmix.__path__, prefix="emmix."):
        if ".tests" in info.name:
            continue
        modules.append(importlib.import_module(info.name))
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not inspect.isabstract(obj)
                and not name.startswith("_")
            ):
                found[name] = obj
    return [found[name] for name in sorted(found)]


ESTIMATORS = [cls(**CHECK_PARAMS.get(cls.__name__, {})) for cls in all_estimators()]


def test_estimators_found():
    names = {type(est).__name__ for est in ESTIMATORS}
    assert "GaussianMixtureEM" in names


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# ------------------------------------------------------ the EM rules
def _conformance_cases():
    """Every shipped mixture family on data it can fit (a few hundred rows)."""
    from emmix import (
        CategoricalMixture,
        CoinMixture,
        GaussianMixtureEM,
        MixedTypeMixture,
        PoissonMixture,
        StudentTMixture,
    )
    from emmix.datasets import make_latent_class, make_t_mixture

    rng = np.random.RandomState(0)
    blobs = np.vstack([rng.normal(c, 1.0, (80, 2)) for c in ([0, 0], [6, 0], [0, 6])])
    counts = rng.poisson([[2.0, 5.0], [9.0, 1.0]] * 100).astype(float)
    heads = rng.binomial(10, [[0.2, 0.5], [0.8, 0.6]] * 100).astype(float)
    tosses = rng.randint(5, 15, size=(200, 1)).astype(float)
    answers, _ = make_latent_class(
        300, n_classes=3, n_features=6, n_categories=[2, 3, 2, 4, 2, 3], random_state=0
    )
    per_row = np.column_stack([rng.binomial(tosses[:, 0].astype(int), 0.3), tosses])
    cases = [
        (GaussianMixtureEM(3, covariance_type=ctype), blobs)
        for ctype in ("full", "tied", "diag", "spherical")
    ]
    cases += [
        (PoissonMixture(2), counts),
        (CoinMixture(2, n_trials=10), heads),
        (CoinMixture(2, n_trials="from_X"), per_row),
        (CategoricalMixture(3), answers),
    ]
    # One latent class over a Gaussian, a Poisson and a binomial group.
    mixed = np.column_stack([blobs[:200], counts[:, :1], heads[:, :1]])
    mixed_columns = {
        "gaussian": ([0, 1], {"covariance_type": "diag"}),
        "poisson": [2],
        "coin": ([3], {"n_trials": 10}),
    }
    cases += [(MixedTypeMixture(2, columns=mixed_columns), mixed)]
    t_rows, _ = make_t_mixture(300, [[0, 0], [6, 0], [0, 6]], dofs=4.0, random_state=0)
    cases += [
        (StudentTMixture(3, covariance_type=ctype, dof=dof), t_rows)
        for ctype, dof in [
            ("full", "per_component"),
            ("tied", "shared"),
            ("diag", 5.0),
            ("spherical", "per_component"),
        ]
    ]
    params = [
        pytest.param(est, X, check, id=f"{est!r}-{check.__name__}")
        for est, X in cases
        for check in CHECKS
    ]
    # mclust's fourteen structures: every check on a few (the closed-form EII
    # and EEV, the iterative VEI, EVE and VEV), the cheap checks on all (every
    # check on every structure takes ~40 s; a cheap one well under 0.1 s).
    for name in STRUCTURES:
        est = GaussianMixtureEM(3, covariance_type=name)
        checks = CHECKS if name in FULLY_CHECKED_STRUCTURES else CHEAP_CHECKS
        params += [
            pytest.param(est, blobs, check, id=f"{est!r}-{check.__name__}")
            for check in checks
        ]
    return params


@pytest.mark.parametrize("estimator, X, check", _conformance_cases())
def test_em_family_conformance(estimator, X, check):
    check(estimator, X)
