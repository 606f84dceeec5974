"""Imputation of missing values by EM."""

from ._normal import MissingBivariateImputer, MultivariateNormalImputer

__all__ = ["MissingBivariateImputer", "MultivariateNormalImputer"]
