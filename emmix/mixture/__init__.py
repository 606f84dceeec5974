"""Finite mixture models fitted by EM."""

from ._binomial import CoinMixture
from ._categorical import CategoricalMixture
from ._covariance_structures import STRUCTURES as COVARIANCE_STRUCTURES
from ._gaussian import GaussianMixtureEM
from ._mixed import MixedTypeMixture
from ._poisson import PoissonMixture
from ._student import StudentTMixture

__all__ = [
    "COVARIANCE_STRUCTURES",
    "CategoricalMixture",
    "CoinMixture",
    "GaussianMixtureEM",
    "MixedTypeMixture",
    "PoissonMixture",
    "StudentTMixture",
]
