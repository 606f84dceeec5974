"""emmix: EM estimators that behave exactly like scikit-learn estimators."""

from .mixture import GaussianMixtureEM

__version__ = "0.1.0"

__all__ = ["GaussianMixtureEM", "__version__"]
