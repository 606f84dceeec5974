"""emmix: EM estimators that behave exactly like scikit-learn estimators."""

from .mixture import CoinMixture, GaussianMixtureEM, PoissonMixture

__version__ = "0.1.0"

__all__ = [
    "CoinMixture",
    "GaussianMixtureEM",
    "PoissonMixture",
    "__version__",
]
