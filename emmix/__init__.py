"""emmix: EM estimators that behave exactly like scikit-learn estimators."""

from .impute import MissingBivariateImputer, MultivariateNormalImputer
from .mixture import CoinMixture, GaussianMixtureEM, PoissonMixture, StudentTMixture

__version__ = "0.1.0"

__all__ = [
    "CoinMixture",
    "GaussianMixtureEM",
    "MissingBivariateImputer",
    "MultivariateNormalImputer",
    "PoissonMixture",
    "StudentTMixture",
    "__version__",
]
