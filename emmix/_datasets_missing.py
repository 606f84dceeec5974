"""Generator of multivariate normal data with missing values."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_missing_normal"]


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
    >>> from emmix._datasets_missing import make_missing_normal
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
