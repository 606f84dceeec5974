"""Generators of labelled data for each mixture family.

Each mixture generator draws the component of every row from the mixing
weights, then the row from that component, and returns ``(X, y)`` like
scikit-learn's ``make_blobs``; ``make_missing_normal`` returns the data with
and without its missing values. The same ``random_state`` always gives the
same data.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "make_coin_rounds",
    "make_latent_class",
    "make_missing_normal",
    "make_poisson_mixture",
    "make_t_mixture",
]


def _as_component_matrix(values, name: str) -> np.ndarray:
    """``values`` as an array of shape (n_components, n_features).

    A 1-d array gives one feature per component.
    """
    array = np.array(values, dtype=np.float64, copy=True)
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{name} must be an array-like of shape (n_components,) or "
            f"(n_components, n_features); got shape {np.shape(values)}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def _mixing_weights(weights, n_components: int) -> np.ndarray:
    """Validated mixing weights (equal ones when ``weights`` is None)."""
    if weights is None:
        return np.full(n_components, 1.0 / n_components)
    weights = np.array(weights, dtype=np.float64, copy=True)
    if weights.shape != (n_components,):
        raise ValueError(
            f"weights must have shape ({n_components},), one per component; "
            f"got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(
            "weights must be finite and non-negative with a positive sum; "
            f"got {weights.tolist()}."
        )
    return weights / weights.sum()


def _check_n_samples(n_samples, name: str) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
        raise TypeError(f"{name} must be an int; got {n_samples!r}.")
    if n_samples < 1:
        raise ValueError(f"{name} must be at least 1; got {n_samples}.")
    return int(n_samples)


def make_poisson_mixture(
    n_samples: int = 100,
    rates=(2.0, 6.0),
    weights=None,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw counts from a mixture of independent Poisson distributions.

    Parameters
    ----------
    n_samples : int, default=100
        Number of rows.
    rates : array-like of shape (n_components,) or (n_components, n_features), \
default=(2.0, 6.0)
        Poisson rate (mean count) of each feature in each component; a 1-d
        array gives a single feature.
    weights : array-like of shape (n_components,), default=None
        Mixing weights (normalised to sum to 1); equal weights if None.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Counts, as float64.
    y : ndarray of shape (n_samples,)
        Component of each row.

    Examples
    --------
    >>> from emmix.datasets import make_poisson_mixture
    >>> X, y = make_poisson_mixture(n_samples=4, rates=[1.0, 50.0], random_state=0)
    >>> X.shape, y.shape
    ((4, 1), (4,))
    """
    n_samples = _check_n_samples(n_samples, "n_samples")
    rates = _as_component_matrix(rates, "rates")
    if np.any(rates < 0):
        raise ValueError(f"rates must be non-negative; got {rates.tolist()}.")
    weights = _mixing_weights(weights, rates.shape[0])
    rng = check_random_state(random_state)
    y = rng.choice(rates.shape[0], size=n_samples, p=weights).astype(np.int64)
    X = rng.poisson(rates[y]).astype(np.float64)
    return X, y


def make_t_mixture(
    n_samples: int = 300,
    means=((0.0, 0.0), (5.0, 5.0)),
    scales=None,
    dofs=4.0,
    weights=None,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw rows from a mixture of multivariate t distributions.

    A row of component ``k`` is ``mu_k + z / sqrt(w)`` with
    ``z ~ N(0, Sigma_k)`` and ``w ~ Gamma(nu_k / 2, rate nu_k / 2)``: a
    multivariate t with location ``mu_k``, scale matrix ``Sigma_k`` and
    ``nu_k`` degrees of freedom.

    Parameters
    ----------
    n_samples : int, default=300
        Number of rows.
    means : array-like of shape (n_components, n_features), \
default=((0, 0), (5, 5))
        Location of each component; a 1-d array gives a single feature.
    scales : array-like of shape (n_components, n_features, n_features), \
default=None
        Scale matrix of each component (symmetric, positive definite); the
        identity if None.
    dofs : float or array-like of shape (n_components,), default=4.0
        Positive degrees of freedom, for every component or for each.
    weights : array-like of shape (n_components,), default=None
        Mixing weights (normalised to sum to 1); equal weights if None.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The rows.
    y : ndarray of shape (n_samples,)
        Component of each row.

    Examples
    --------
    >>> from emmix.datasets import make_t_mixture
    >>> X, y = make_t_mixture(n_samples=4, random_state=0)
    >>> X.shape, y.shape
    ((4, 2), (4,))
    """
    n_samples = _check_n_samples(n_samples, "n_samples")
    means = _as_component_matrix(means, "means")
    k, d = means.shape
    if scales is None:
        scales = np.broadcast_to(np.eye(d), (k, d, d))
    scales = np.asarray(scales, dtype=np.float64)
    if scales.shape != (k, d, d):
        raise ValueError(
            f"scales must have shape {(k, d, d)}, one matrix per component; got "
            f"shape {scales.shape}."
        )
    for j, scale in enumerate(scales):
        if not (np.allclose(scale, scale.T) and np.linalg.eigvalsh(scale).min() > 0):
            raise ValueError(
                f"scales[{j}] (component {j}) must be symmetric positive definite."
            )
    dofs = np.asarray(dofs, dtype=np.float64)
    if dofs.shape not in ((), (k,)):
        raise ValueError(
            f"dofs must be a float or have shape ({k},), one per component; got "
            f"shape {dofs.shape}."
        )
    dofs = np.broadcast_to(dofs, (k,)).copy()
    if not np.all(np.isfinite(dofs)) or np.any(dofs <= 0):
        raise ValueError(f"dofs must be finite and positive; got {dofs.tolist()}.")
    weights = _mixing_weights(weights, k)
    rng = check_random_state(random_state)
    y = rng.choice(k, size=n_samples, p=weights).astype(np.int64)
    z = rng.standard_normal(size=(n_samples, d))
    factors = np.linalg.cholesky(scales)
    z = np.einsum("nij,nj->ni", factors[y], z)
    w = rng.gamma(0.5 * dofs[y], 2.0 / dofs[y])
    X = means[y] + z / np.sqrt(w)[:, np.newaxis]
    return X, y


def make_coin_rounds(
    n_rounds: int = 100,
    n_trials=10,
    probs=(0.2, 0.8),
    weights=None,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw rounds of coin tosses, each round made with one of several coins.

    Each round picks a coin ``k`` with probability ``weights[k]`` and tosses it
    ``n_trials`` times; ``X`` holds the number of heads. With several features
    each round tosses several independent coins of the picked kind (a binomial
    count per feature).

    Parameters
    ----------
    n_rounds : int, default=100
        Number of rounds (rows).
    n_trials : int or array-like of shape (n_features,), default=10
        Tosses per round, for every feature or for each feature.
    probs : array-like of shape (n_components,) or (n_components, n_features), \
default=(0.2, 0.8)
        Probability of heads of each coin (and feature); a 1-d array gives a
        single feature.
    weights : array-like of shape (n_components,), default=None
        Probability of picking each coin (normalised to sum to 1); equal if
        None.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : ndarray of shape (n_rounds, n_features)
        Heads per round, as float64.
    y : ndarray of shape (n_rounds,)
        Coin used in each round.

    Examples
    --------
    >>> from emmix.datasets import make_coin_rounds
    >>> X, y = make_coin_rounds(n_rounds=5, n_trials=10, random_state=0)
    >>> X.shape, bool(X.max() <= 10)
    ((5, 1), True)
    """
    n_rounds = _check_n_samples(n_rounds, "n_rounds")
    probs = _as_component_matrix(probs, "probs")
    if np.any(probs < 0) or np.any(probs > 1):
        raise ValueError(f"probs must lie in [0, 1]; got {probs.tolist()}.")
    trials = np.asarray(n_trials)
    if trials.ndim > 1 or (trials.ndim == 1 and trials.shape[0] != probs.shape[1]):
        raise ValueError(
            f"n_trials must be an int or have shape ({probs.shape[1]},), one per "
            f"feature; got shape {trials.shape}."
        )
    if (
        not np.issubdtype(trials.dtype, np.number)
        or np.any(trials < 0)
        or np.any(trials != np.round(trials))
    ):
        raise ValueError(f"n_trials must be non-negative integers; got {n_trials!r}.")
    weights = _mixing_weights(weights, probs.shape[0])
    rng = check_random_state(random_state)
    y = rng.choice(probs.shape[0], size=n_rounds, p=weights).astype(np.int64)
    trials = np.broadcast_to(trials.astype(np.int64), (n_rounds, probs.shape[1]))
    X = rng.binomial(trials, probs[y]).astype(np.float64)
    return X, y


def _item_probs(probs) -> list[np.ndarray]:
    """Validated per-item category probabilities, one (K, C_j) array each."""
    if isinstance(probs, list | tuple) and all(np.ndim(p) == 2 for p in probs):
        items = [np.array(p, dtype=np.float64, copy=True) for p in probs]
    else:
        ones = _as_component_matrix(probs, "probs")
        if np.any(ones < 0) or np.any(ones > 1):
            raise ValueError(f"probs must lie in [0, 1]; got {ones.tolist()}.")
        items = [
            np.stack([1 - ones[:, j], ones[:, j]], axis=1) for j in range(ones.shape[1])
        ]
    if not items:
        raise ValueError("probs must describe at least one item.")
    n_classes = items[0].shape[0]
    for j, p in enumerate(items):
        if p.ndim != 2 or p.shape[0] != n_classes or p.shape[1] == 0:
            raise ValueError(
                f"probs[{j}] must have shape (n_classes, n_categories) = "
                f"({n_classes}, C); got shape {p.shape}."
            )
        if not np.all(np.isfinite(p)) or np.any(p < 0):
            raise ValueError(f"probs[{j}] must be finite and non-negative.")
        if not np.allclose(p.sum(axis=1), 1.0):
            raise ValueError(
                f"Each row of probs[{j}] must sum to 1 (a class's probabilities "
                f"of the categories of item {j}); got sums {p.sum(axis=1).tolist()}."
            )
    return items


def make_latent_class(
    n_samples: int = 500,
    probs=None,
    weights=None,
    *,
    n_classes: int = 3,
    n_features: int = 10,
    n_categories=2,
    return_probs: bool = False,
    random_state=None,
):
    """Draw answers to categorical items from a latent class model.

    Each row picks a class ``k`` with probability ``weights[k]``; its answer to
    item ``j`` is category ``c`` with probability ``probs[j][k, c]``,
    independently of the other items (the model of
    :class:`~emmix.CategoricalMixture`).

    Parameters
    ----------
    n_samples : int, default=500
        Number of rows.
    probs : list of array-like of shape (n_classes, C_j), or array-like of \
shape (n_classes, n_features), default=None
        Category probabilities of each item, one array per item whose rows sum
        to 1; a 2-d array gives binary items by their probability of category
        1. If None they are drawn for ``n_classes`` classes, ``n_features``
        items and ``n_categories`` categories from a symmetric Dirichlet
        distribution with concentration 0.5 (which favours clear answers, so
        the classes differ).
    weights : array-like of shape (n_classes,), default=None
        Class probabilities (normalised to sum to 1); equal if None.
    n_classes : int, default=3
        Number of classes when ``probs`` is None.
    n_features : int, default=10
        Number of items when ``probs`` is None.
    n_categories : int or array-like of shape (n_features,), default=2
        Categories of every item, or of each item, when ``probs`` is None.
    return_probs : bool, default=False
        Also return the category probabilities used (useful when drawn).
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Category codes ``0 .. C_j - 1`` as float64.
    y : ndarray of shape (n_samples,)
        Class of each row.
    probs : list of ndarray of shape (n_classes, C_j)
        Only with ``return_probs=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from emmix.datasets import make_latent_class
    >>> X, y = make_latent_class(n_samples=6, n_features=4, random_state=0)
    >>> X.shape, np.unique(X).tolist()
    ((6, 4), [0.0, 1.0])
    """
    n_samples = _check_n_samples(n_samples, "n_samples")
    rng = check_random_state(random_state)
    if probs is None:
        n_classes = _check_n_samples(n_classes, "n_classes")
        n_features = _check_n_samples(n_features, "n_features")
        sizes = np.broadcast_to(np.asarray(n_categories), (n_features,))
        if not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 1):
            raise ValueError(
                "n_categories must be a positive int, or one per feature; got "
                f"{n_categories!r}."
            )
        items = [rng.dirichlet(np.full(int(c), 0.5), size=n_classes) for c in sizes]
    else:
        items = _item_probs(probs)
    k = items[0].shape[0]
    weights = _mixing_weights(weights, k)
    y = rng.choice(k, size=n_samples, p=weights).astype(np.int64)
    X = np.empty((n_samples, len(items)))
    for j, p in enumerate(items):
        cumulative = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)[y]
        draws = rng.uniform(size=(n_samples, 1))
        X[:, j] = np.minimum((draws >= cumulative).sum(axis=1), p.shape[1] - 1)
    if return_probs:
        return X, y, items
    return X, y


def make_missing_normal(
    n_samples: int = 40,
    *,
    mean=(1.85, 1.0),
    std=(1.0, 0.75),
    correlation: float = 0.82,
    covariance=None,
    missing_rate: float = 0.5,
    pattern: str = "monotone",
    missing_values: float = np.nan,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw multivariate normal rows and hide some entries.

    The defaults are the textbook case: 40 pairs ``(x, y)`` with means 1.85
    and 1, standard deviations 1 and 0.75 and correlation 0.82, with ``y``
    missing in the last 20 rows.

    Parameters
    ----------
    n_samples : int, default=40
        Number of rows.
    mean : array-like of shape (n_features,), default=(1.85, 1.0)
        Mean of the distribution; its length sets the number of features.
    std : array-like of shape (n_features,), default=(1.0, 0.75)
        Standard deviations (ignored when ``covariance`` is given).
    correlation : float, default=0.82
        Correlation of every pair of columns (ignored when ``covariance`` is
        given). Must leave the correlation matrix positive definite:
        ``-1 / (n_features - 1) < correlation < 1``.
    covariance : array-like of shape (n_features, n_features), default=None
        Full covariance matrix, overriding ``std`` and ``correlation``.
    missing_rate : float, default=0.5
        With ``pattern="monotone"``, the fraction of rows (the last ones) whose
        last column is missing; with ``pattern="mcar"``, the probability that
        each entry is missing, independently of everything else.
    pattern : {"monotone", "mcar"}, default="monotone"
        Where the missing entries are.
    missing_values : float, default=np.nan
        The marker written into the missing entries.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The data with missing entries set to ``missing_values``.
    X_complete : ndarray of shape (n_samples, n_features)
        The same data before hiding.

    Examples
    --------
    >>> from emmix.datasets import make_missing_normal
    >>> X, X_complete = make_missing_normal(random_state=0)
    >>> X.shape, int(np.isnan(X).sum())
    ((40, 2), 20)
    """
    rng = check_random_state(random_state)
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 1 or mean.size < 1:
        raise ValueError(f"mean must be a non-empty 1-d array, got shape {mean.shape}.")
    d = mean.size
    if covariance is None:
        std = np.asarray(std, dtype=np.float64)
        if std.shape != (d,) or np.any(std <= 0):
            raise ValueError(
                f"std must hold {d} positive standard deviations (one per entry "
                f"of mean), got {std!r}."
            )
        corr = np.full((d, d), float(correlation))
        np.fill_diagonal(corr, 1.0)
        covariance = corr * np.outer(std, std)
    covariance = np.asarray(covariance, dtype=np.float64)
    if covariance.shape != (d, d):
        raise ValueError(
            f"covariance must have shape {(d, d)}, got {covariance.shape}."
        )
    if not (
        np.allclose(covariance, covariance.T)
        and np.linalg.eigvalsh(covariance).min() > 0
    ):
        raise ValueError(
            "The covariance (or the correlation for these std) is not symmetric "
            "positive definite; with equal pairwise correlation r it must satisfy "
            "-1/(n_features - 1) < r < 1."
        )
    if not isinstance(missing_rate, Real) or not 0 <= missing_rate <= 1:
        raise ValueError(f"missing_rate must be in [0, 1], got {missing_rate!r}.")
    X_complete = rng.multivariate_normal(mean, covariance, size=n_samples)
    if pattern == "monotone":
        hide = np.zeros((n_samples, d), dtype=bool)
        n_missing = round(missing_rate * n_samples)
        hide[n_samples - n_missing :, d - 1] = True
    elif pattern == "mcar":
        hide = rng.uniform(size=(n_samples, d)) < missing_rate
    else:
        raise ValueError(f"pattern must be 'monotone' or 'mcar', got {pattern!r}.")
    X = X_complete.copy()
    X[hide] = missing_values
    return X, X_complete
