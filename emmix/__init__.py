"""emmix: EM estimators that behave exactly like scikit-learn estimators.

The estimators and submodules are imported on first use (PEP 562), so
``import emmix`` and the ``emmix --version`` command stay fast: scikit-learn
and SciPy load only when an estimator is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    "CategoricalMixture",
    "CoinMixture",
    "GaussianMixtureEM",
    "MissingBivariateImputer",
    "MultivariateNormalImputer",
    "PoissonMixture",
    "StudentTMixture",
    "__version__",
]

#: Public name -> the submodule that defines it.
_ESTIMATORS = {
    "CategoricalMixture": "emmix.mixture",
    "CoinMixture": "emmix.mixture",
    "GaussianMixtureEM": "emmix.mixture",
    "PoissonMixture": "emmix.mixture",
    "StudentTMixture": "emmix.mixture",
    "MissingBivariateImputer": "emmix.impute",
    "MultivariateNormalImputer": "emmix.impute",
}
#: Submodules reachable as ``emmix.NAME`` after a plain ``import emmix``, as
#: they were when this module imported the estimators eagerly.
_SUBMODULES = frozenset(
    {"cli", "datasets", "impute", "mixture", "model_selection", "plotting"}
)

if TYPE_CHECKING:  # for type checkers and IDEs; nothing is imported at run time
    from .impute import MissingBivariateImputer, MultivariateNormalImputer
    from .mixture import (
        CategoricalMixture,
        CoinMixture,
        GaussianMixtureEM,
        PoissonMixture,
        StudentTMixture,
    )


def __getattr__(name: str):
    if name in _ESTIMATORS:
        value = getattr(importlib.import_module(_ESTIMATORS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
