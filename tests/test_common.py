"""scikit-learn's estimator checks over every public emmix estimator.

Estimators are found automatically: every class exported by ``emmix`` (and its
subpackages) that derives from ``BaseEstimator``. Families that need a non-default
parameter for the checks' random data say so in ``CHECK_PARAMS``.
"""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import emmix

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
