"""Finite mixture models fitted by EM."""

from ._binomial import CoinMixture
from ._covariance_structures import STRUCTURES as COVARIANCE_STRUCTURES
from ._gaussian import GaussianMixtureEM
from ._poisson import PoissonMixture

__all__ = [
    "COVARIANCE_STRUCTURES",
    "CoinMixture",
    "GaussianMixtureEM",
    "PoissonMixture",
]
