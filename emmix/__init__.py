"""emmix: EM estimators that behave exactly like scikit-learn estimators."""

from .impute import MissingBivariateImputer, MultivariateNormalImputer
from .mixture import CategoricalMixture, CoinMixture, GaussianMixtureEM, PoissonMixture

__version__ = "0.1.0"

__all__ = [
    "CategoricalMixture",
    "CoinMixture",
    "GaussianMixtureEM",
    "MissingBivariateImputer",
    "MultivariateNormalImputer",
    "PoissonMixture",
    "__version__",
]
