"""Shared input checks with error messages that say what is wrong and how to fix it.

Every check here runs before any fitting work starts and never modifies its input.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = [
    "check_X",
    "check_array_shape",
    "check_finite",
    "check_sample_weight",
    "check_weights_init",
]


def _column_names(X) -> list[str] | None:
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def _describe_column(j: int, names: list[str] | None) -> str:
    if names is not None and j < len(names):
        return f"column {j} ({names[j]!r})"
    return f"column {j}"


def _first_non_numeric(X):
    """Locate the first cell of ``X`` that cannot be read as a number.

    Only called on the error path, so it may be slow.
    """
    names = _column_names(X)
    values = X.to_numpy(dtype=object) if hasattr(X, "to_numpy") else X
    try:
        values = np.asarray(values, dtype=object)
    except Exception:
        return None
    if values.ndim != 2:
        return None
    for j in range(values.shape[1]):
        for i in range(values.shape[0]):
            cell = values[i, j]
            try:
                float(cell)
            except (TypeError, ValueError):
                return i, _describe_column(j, names), cell
    return None


def check_X(
    estimator,
    X,
    *,
    reset: bool,
    allow_nan: bool = False,
    ensure_min_samples: int = 1,
    dtype=(np.float64, np.float32),
):
    """Validate ``X`` through scikit-learn's ``validate_data`` with clearer errors.

    Non-numeric cells and non-finite values are reported with their row and
    column, and the message says what to do about them.

    Parameters
    ----------
    estimator : estimator instance
        The estimator whose ``n_features_in_`` / ``feature_names_in_`` are set
        (``reset=True``) or checked (``reset=False``).
    X : array-like of shape (n_samples, n_features)
        Input data.
    reset : bool
        True in ``fit``, False in ``predict`` and friends.
    allow_nan : bool, default=False
        Whether NaN entries are accepted (infinite values never are).
    ensure_min_samples : int, default=1
        Fewest rows accepted.
    dtype : dtype or tuple of dtypes
        Accepted floating dtypes; the first is used for conversion.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        A validated array (a copy only where conversion required one).
    """
    name = type(estimator).__name__
    try:
        X_checked = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=list(dtype) if isinstance(dtype, tuple) else dtype,
            ensure_all_finite=False,
            ensure_min_samples=ensure_min_samples,
        )
    except (TypeError, ValueError) as exc:
        text = str(exc)
        if (
            "could not convert" in text
            or "argument must be" in text
            or "complex" in text.lower()
        ):
            where = _first_non_numeric(X)
            detail = ""
            if where is not None:
                row, column, cell = where
                detail = (
                    f" The first one is {cell!r} (type {type(cell).__name__}) at "
                    f"row {row}, {column}."
                )
            raise type(exc)(
                f"{name} needs numeric input, but X has non-numeric values.{detail} "
                "Convert or drop that column (e.g. one-hot encode categories) "
                f"before fitting. ({text})"
            ) from exc
        raise
    check_finite(X_checked, name=name, allow_nan=allow_nan, names=_column_names(X))
    return X_checked


def check_finite(X, *, name: str, allow_nan: bool = False, names=None) -> None:
    """Raise a ``ValueError`` naming the first NaN or infinite entry of ``X``."""
    if X.dtype.kind not in "fc":
        return
    # Cheap test first: the sum is finite for all-finite data of sane size.
    if np.isfinite(np.sum(X, dtype=np.float64)) and not np.isnan(X).any():
        return
    bad = ~np.isfinite(X)
    if allow_nan:
        bad &= ~np.isnan(X)
    if not bad.any():
        return
    rows, cols = np.nonzero(bad)
    i, j = int(rows[0]), int(cols[0])
    value = X[i, j]
    kind = "NaN" if np.isnan(value) else ("infinity" if value > 0 else "-infinity")
    more = f" (and {len(rows) - 1} other non-finite entries)" if len(rows) > 1 else ""
    if kind == "NaN":
        fix = (
            f"{name} does not accept missing values encoded as NaN: drop those "
            "rows or impute them first, e.g. with "
            "emmix.impute.MultivariateNormalImputer."
        )
    else:
        fix = "Replace or drop infinite values (inf is not allowed) before fitting."
    raise ValueError(
        f"Input X contains {kind} at row {i}, {_describe_column(j, names)}{more}. "
        + fix
    )


def check_sample_weight(sample_weight, X, *, n_components: int | None = None):
    """Validate ``sample_weight`` for an EM fit.

    Weights must be finite and non-negative with a positive sum; ``None`` means
    all ones. When ``n_components`` is given, at least that many rows must have
    a positive weight.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
        Weights of the dtype of ``X`` (a new array; the input is not modified).
    """
    if sample_weight is None:
        return np.ones(X.shape[0], dtype=X.dtype)
    if not isinstance(sample_weight, numbers.Number):
        sample_weight = np.asarray(sample_weight)
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(
                "sample_weight must be a 1-d array with one weight per row of X: "
                f"got shape {sample_weight.shape} for X with {X.shape[0]} rows."
            )
    sw = _check_sample_weight(sample_weight, X, dtype=X.dtype, copy=True)
    if not np.all(np.isfinite(sw)):
        i = int(np.flatnonzero(~np.isfinite(sw))[0])
        raise ValueError(
            f"sample_weight must be finite, but sample_weight[{i}] = {sw[i]}."
        )
    if np.any(sw < 0):
        i = int(np.flatnonzero(sw < 0)[0])
        raise ValueError(
            f"sample_weight must be non-negative, but sample_weight[{i}] = {sw[i]}."
        )
    n_positive = int(np.count_nonzero(sw))
    if n_positive == 0:
        raise ValueError(
            "sample_weight sums to zero: at least one row needs a positive weight."
        )
    if n_components is not None and n_positive < n_components:
        raise ValueError(
            f"Only {n_positive} rows have a positive sample_weight, fewer than "
            f"n_components={n_components}. Lower n_components or give more rows "
            "a positive weight."
        )
    return sw


def check_array_shape(value, shape: tuple, name: str, dtype) -> np.ndarray:
    """Convert a user-supplied parameter array and check its shape.

    The result is a new array (the caller's object is never kept or modified).
    """
    try:
        array = np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The parameter {name!r} must be a numeric array of shape {shape}: {exc}"
        ) from exc
    if array.shape != tuple(shape):
        raise ValueError(
            f"The parameter {name!r} should have the shape of {tuple(shape)}, "
            f"but got {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The parameter {name!r} contains NaN or infinite values.")
    return array


def check_weights_init(weights, n_components: int, dtype) -> np.ndarray:
    """Validate user-given mixing weights: shape, range [0, 1] and sum 1."""
    weights = check_array_shape(weights, (n_components,), "weights_init", dtype)
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights_init' should be in the range [0, 1], but got "
            f"max value {weights.max():.5f}, min value {weights.min():.5f}."
        )
    atol = 1e-6 if dtype == np.float32 else 1e-8
    if abs(1.0 - float(np.sum(weights))) > atol:
        raise ValueError(
            "The parameter 'weights_init' should be normalized, but got "
            f"sum(weights) = {float(np.sum(weights)):.5f}. Divide it by its sum."
        )
    return weights
