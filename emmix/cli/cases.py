"""The four classic cases shown by ``emmix demo`` and by the gallery.

Each function returns the data of one case and its fitted estimator, so the
command and the gallery scripts in ``examples/`` show the same numbers from one
piece of code. The functions import scikit-learn and the estimators when
called.

Examples
--------
>>> from emmix.cli.cases import two_coins
>>> case = two_coins()
>>> case.model.probs_[:, 0].round(2).tolist()
[0.8, 0.52]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from emmix import CoinMixture
    from emmix.impute import MissingBivariateImputer
    from emmix.model_selection import ComponentSelection

__all__ = [
    "CountsCase",
    "IrisCase",
    "MissingCase",
    "TwoCoinsCase",
    "gaussian_iris",
    "missing_bivariate",
    "poisson_counts",
    "two_coins",
]


class IrisCase(NamedTuple):
    """The iris flowers and a Gaussian mixture with K chosen by BIC."""

    X: np.ndarray
    """The 4 measurements of the 150 flowers, shape (150, 4)."""
    species: np.ndarray
    """The species of each flower (0, 1, 2)."""
    feature_names: list[str]
    """The names of the 4 measurements."""
    selection: ComponentSelection
    """The :class:`~emmix.model_selection.ComponentSelection` over K = 1..6;
    ``selection.best_estimator_`` is the fitted mixture."""


class CountsCase(NamedTuple):
    """Generated Poisson counts and a Poisson mixture with K chosen by BIC."""

    X: np.ndarray
    """500 counts, shape (500, 1)."""
    y: np.ndarray
    """The group that generated each count."""
    true_rates: tuple[float, ...]
    """The rates the counts were drawn with."""
    true_weights: tuple[float, ...]
    """The share of each group."""
    selection: ComponentSelection
    """The selection over K = 1..5; ``selection.best_estimator_`` is the fit."""


class TwoCoinsCase(NamedTuple):
    """The two-coin problem of Do and Batzoglou (2008) and its fitted mixture."""

    heads: np.ndarray
    """Heads in each of the 5 rounds of 10 tosses, shape (5, 1)."""
    model: CoinMixture
    """The fitted :class:`~emmix.CoinMixture`."""


class MissingCase(NamedTuple):
    """A bivariate normal sample with ``y`` missing in half the rows."""

    X: np.ndarray
    """The 40 pairs ``(x, y)``, NaN where ``y`` is missing."""
    X_complete: np.ndarray
    """The same pairs before ``y`` was hidden."""
    imputer: MissingBivariateImputer
    """The fitted :class:`~emmix.impute.MissingBivariateImputer`."""


def gaussian_iris() -> IrisCase:
    """Gaussian mixtures with full covariances on iris, K = 1..6 compared by BIC.

    Returns
    -------
    case : IrisCase
    """
    from sklearn.datasets import load_iris

    from emmix import GaussianMixtureEM
    from emmix.model_selection import select_n_components

    iris = load_iris()
    selection = select_n_components(
        GaussianMixtureEM(n_init=3, random_state=0),
        iris.data,
        range(1, 7),
        criterion="bic",
    )
    return IrisCase(iris.data, iris.target, list(iris.feature_names), selection)


def poisson_counts() -> CountsCase:
    """500 counts from rates 2, 8 and 20 (weights .5, .3, .2), K = 1..5 by BIC.

    Returns
    -------
    case : CountsCase
    """
    from emmix import PoissonMixture
    from emmix.datasets import make_poisson_mixture
    from emmix.model_selection import select_n_components

    rates, weights = (2.0, 8.0, 20.0), (0.5, 0.3, 0.2)
    X, y = make_poisson_mixture(500, rates=rates, weights=weights, random_state=0)
    selection = select_n_components(
        PoissonMixture(n_init=3, random_state=0), X, range(1, 6), criterion="bic"
    )
    return CountsCase(X, y, rates, weights, selection)


def two_coins() -> TwoCoinsCase:
    """The two-coin problem: 5 rounds of 10 tosses with 5, 9, 8, 4 and 7 heads.

    As in Do and Batzoglou (2008), "What is the expectation maximization
    algorithm?", both coins are picked with probability 1/2 (the weights are
    held fixed) and EM starts at P(heads) = 0.6 for coin A and 0.5 for coin B.

    Returns
    -------
    case : TwoCoinsCase
    """
    from emmix import CoinMixture

    heads = np.array([[5], [9], [8], [4], [7]])
    model = CoinMixture(
        n_components=2,
        n_trials=10,
        weights_init=[0.5, 0.5],
        probs_init=[[0.6], [0.5]],
        fixed_params={"weights"},
        tol=1e-8,
        max_iter=1000,
    ).fit(heads)
    return TwoCoinsCase(heads, model)


def missing_bivariate() -> MissingCase:
    """40 normal pairs ``(x, y)``, ``y`` missing in the last 20, fitted by EM.

    Returns
    -------
    case : MissingCase
    """
    from emmix.datasets import make_missing_normal
    from emmix.impute import MissingBivariateImputer

    X, X_complete = make_missing_normal(random_state=0)
    return MissingCase(X, X_complete, MissingBivariateImputer().fit(X))
