"""Finite mixture models fitted by EM."""

from ._binomial import CoinMixture
from ._categorical import CategoricalMixture
from ._gaussian import GaussianMixtureEM
from ._poisson import PoissonMixture

__all__ = ["CategoricalMixture", "CoinMixture", "GaussianMixtureEM", "PoissonMixture"]
