"""Finite mixture models fitted by EM."""

from ._gaussian import GaussianMixtureEM

__all__ = ["GaussianMixtureEM"]
