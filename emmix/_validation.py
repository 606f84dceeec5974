"""Shared input checks with error messages that say what is wrong and how to fix it.

Every check here runs before any fitting work starts and never modifies its input.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = [
    "check_X",
    "check_array_shape",
    "check_finite",
    "check_n_components",
    "check_n_components_counts",
    "check_non_negative",
    "check_rows_observed",
    "check_sample_weight",
    "check_squares_representable",
    "check_weights_init",
    "fill_column_means",
]


def _column_names(X) -> list[str] | None:
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def estimator_feature_names(estimator) -> list[str] | None:
    """The fitted ``feature_names_in_`` of ``estimator`` as strings, or None."""
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


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


def _shape_of(X):
    """Shape of ``X`` without converting it where possible (error path only)."""
    shape = getattr(X, "shape", None)
    if shape is not None:
        return tuple(shape)
    try:
        return np.shape(X)
    except (TypeError, ValueError):
        return None


def _shape_message(name, X, text, ensure_min_samples):
    """A message naming ``X`` and its shape for scikit-learn's shape errors.

    Returns None when ``text`` is not a shape error. The first line of
    scikit-learn's own message is kept in brackets (its estimator checks and
    users' habits look for it).
    """
    first_line = text.split("\n")[0].strip()
    if "inhomogeneous" in text:
        return (
            "X must be a 2-d array of shape (n_samples, n_features), but its "
            "rows have different lengths (a ragged list). Give every row the "
            f"same number of values. ({first_line})"
        )
    shape = _shape_of(X)
    if shape is None:
        return None
    if "Expected 2D array" in text or "dim <= 2" in text or len(shape) != 2:
        kind = "a scalar" if len(shape) == 0 else f"a {len(shape)}-d array"
        hint = ""
        if len(shape) == 1:
            hint = (
                " Reshape your data: X.reshape(-1, 1) if it holds a single "
                "feature, or X.reshape(1, -1) if it is a single sample."
            )
        elif len(shape) > 2:
            hint = " Flatten the trailing dimensions into features first."
        return (
            "X must be a 2-d array of shape (n_samples, n_features), but got "
            f"{kind} of shape {shape}.{hint} ({first_line})"
        )
    if "sample(s)" in text:
        n = shape[0]
        what = "X is empty" if n == 0 else f"X has {n} sample" + "s" * (n != 1)
        return (
            f"{what} (shape {shape}), but {name} needs at least "
            f"{ensure_min_samples} samples. ({first_line})"
        )
    if "feature(s)" in text:
        return (
            f"X has no features (shape {shape}): {name} needs at least one "
            f"column. ({first_line})"
        )
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

    Every error names ``X`` and what is wrong with it: its shape (not 2-d,
    empty, too few rows), the row and column of the first non-numeric cell
    (strings, dates, complex numbers; a pandas column is named) or of the
    first NaN or infinite value. Sparse matrices are not accepted: a
    ``TypeError`` says to call ``.toarray()``.

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
        error = TypeError if isinstance(exc, TypeError) else ValueError
        if (
            "could not convert" in text
            or "argument must be" in text
            or "complex" in text.lower()
            or "could not be promoted" in text
        ):
            where = _first_non_numeric(X)
            detail = ""
            if where is not None:
                row, column, cell = where
                detail = (
                    f" The first one is {cell!r} (type {type(cell).__name__}) at "
                    f"row {row}, {column}."
                )
            raise error(
                f"{name} needs real numbers, but X has non-numeric values.{detail} "
                "Convert or drop that column (e.g. one-hot encode categories) "
                f"before fitting. ({text})"
            ) from exc
        message = _shape_message(name, X, text, ensure_min_samples)
        if message is not None:
            raise error(message) from exc
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


def _has_n_distinct_rows(X, n: int) -> tuple[bool, int]:
    """Whether ``X`` has at least ``n`` distinct rows, and how many were found.

    Rows are read in blocks and only the distinct rows found so far (fewer
    than ``n``) are kept, so the usual case (the first rows already differ)
    costs one small sort, and a full scan happens only for heavily
    duplicated data.
    """
    block = max(4 * n, 1024)
    found = X[:0]
    for start in range(0, X.shape[0], block):
        found = np.unique(np.concatenate([found, X[start : start + block]]), axis=0)
        if found.shape[0] >= n:
            return True, found.shape[0]
    return False, found.shape[0]


def check_n_components_counts(
    n_samples: int, n_positive: int, n_components: int
) -> None:
    """The row counts of :func:`check_n_components`, from counts alone.

    Used where the rows are not at hand (a Dask array); distinct rows are
    then counted on the rows sampled for the start.
    """
    if n_samples < n_components:
        raise ValueError(
            "Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {n_samples}. Lower n_components or "
            "provide more samples."
        )
    if n_positive < n_components:
        raise ValueError(
            f"Only {n_positive} rows have a positive sample_weight, fewer than "
            f"n_components={n_components}. Lower n_components or give more rows "
            "a positive weight."
        )


def check_n_components(
    X, n_components: int, sample_weight=None, *, few_distinct: str = "raise"
) -> None:
    """Check that ``X`` can hold ``n_components`` different components.

    ``n_components`` may not exceed the number of rows (with a positive
    weight), nor the number of *distinct* rows: with fewer distinct points
    than components, some components can only be copies of others (the
    likelihood has no unique maximum), so the fit is refused before any work
    starts. Counting distinct rows stops as soon as ``n_components`` were
    found, which is almost always within the first block of rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    sample_weight : ndarray of shape (n_samples,), default=None
        Rows with weight 0 do not count.
    few_distinct : {'raise', 'warn'}, default='raise'
        Fewer distinct rows than components: a ``ValueError``, or (as
        scikit-learn's GaussianMixture fits such data) a
        ``ConvergenceWarning`` with the same text.
    """
    n_samples = X.shape[0]
    if n_samples < n_components:
        raise ValueError(
            "Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {n_samples}. Lower n_components or "
            "provide more samples."
        )
    rows = X
    if sample_weight is not None and not np.all(sample_weight > 0):
        rows = X[sample_weight > 0]
        if rows.shape[0] < n_components:
            raise ValueError(
                f"Only {rows.shape[0]} rows have a positive sample_weight, fewer "
                f"than n_components={n_components}. Lower n_components or give "
                "more rows a positive weight."
            )
    if n_components <= 1:
        return
    enough, n_distinct = _has_n_distinct_rows(rows, n_components)
    if not enough:
        message = (
            f"n_components={n_components} is larger than the number of distinct "
            f"rows of X ({n_distinct} among {rows.shape[0]} rows with a positive "
            "weight): some components could only be copies of others. Lower "
            f"n_components to at most {n_distinct}."
        )
        if few_distinct != "warn":
            raise ValueError(message)
        from sklearn.exceptions import ConvergenceWarning

        warnings.warn(message, ConvergenceWarning, stacklevel=2)


def check_squares_representable(
    X, *, name: str, names=None, underflow: bool = False
) -> None:
    """Reject a column whose range, squared, leaves the floating-point range.

    A normal model needs each column's variance; when the spread of a column
    (its largest minus its smallest value) exceeds the square root of the
    largest number of the dtype (1.3e154 in float64, 1.8e19 in float32) its
    squares overflow, and no rescaling inside the fit could store the
    variance. With ``underflow=True``, a non-zero spread below the square
    root of the smallest normal number (1.5e-154 in float64) is refused too:
    its variance would be subnormal or 0. NaN entries are ignored.
    """
    if X.shape[0] == 0 or X.dtype.kind != "f":
        return
    info = np.finfo(X.dtype)
    if not underflow:
        # Whole-array reductions are several times cheaper than per-column
        # ones; a span is at most twice the largest magnitude. (NaN makes the
        # comparison false and falls through to the NaN-ignoring path.)
        top = max(float(np.max(X)), -float(np.min(X)))
        if top <= np.sqrt(info.max) / 2:
            return
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.fmax.reduce(X, axis=0) - np.fmin.reduce(X, axis=0)
    bad = spread > np.sqrt(info.max)
    problem, fix = "overflow", "Divide X (or that column) by a large constant"
    if underflow and not bad.any():
        bad = (spread > 0) & (spread < np.sqrt(info.tiny))
        problem, fix = "underflow to 0", "Multiply X (or that column) by a constant"
    if not bad.any():
        return
    j = int(np.flatnonzero(bad)[0])
    raise ValueError(
        f"The values of X in {_describe_column(j, names)} span {float(spread[j]):g} "
        f"(largest minus smallest): their squares {problem} in {X.dtype}, so "
        f"{name} cannot compute a variance. {fix} (e.g. with "
        "sklearn.preprocessing.StandardScaler) before fitting."
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
        if sample_weight.dtype.kind == "f" and not np.all(np.isfinite(sample_weight)):
            i = int(np.flatnonzero(~np.isfinite(sample_weight))[0])
            raise ValueError(
                "sample_weight must be finite, but "
                f"sample_weight[{i}] = {sample_weight[i]}."
            )
    try:
        sw = _check_sample_weight(sample_weight, X, dtype=X.dtype, copy=True)
    except ValueError as exc:
        if "non-zero" not in str(exc):
            raise
        raise ValueError(
            "sample_weight sums to zero: at least one row needs a positive weight."
        ) from exc
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


def check_array_shape(
    value, shape: tuple, name: str, dtype, *, sklearn_name: str | None = None
) -> np.ndarray:
    """Convert a user-supplied parameter array and check its shape.

    The result is a new array (the caller's object is never kept or modified).
    ``sklearn_name``, if given, is the name scikit-learn's message uses for the
    parameter ('weights', 'full precision', ...): a wrong shape then raises
    scikit-learn's exact text, followed by ours naming ``name``.
    """
    try:
        array = np.array(value, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The parameter {name!r} must be a numeric array of shape {shape}: {exc}"
        ) from exc
    if array.shape != tuple(shape):
        if sklearn_name is None:
            raise ValueError(
                f"The parameter {name!r} should have the shape of {tuple(shape)}, "
                f"but got {array.shape}."
            )
        raise ValueError(
            f"The parameter {sklearn_name!r} should have the shape of "
            f"{tuple(shape)}, but got {array.shape}: give {name} of shape "
            f"{tuple(shape)}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The parameter {name!r} contains NaN or infinite values.")
    return array


def check_weights_init(weights, n_components: int, dtype) -> np.ndarray:
    """Validate user-given mixing weights: shape, range [0, 1] and sum 1."""
    # The messages start with scikit-learn's own text (which names the
    # parameter 'weights' and, in its range message, prints the minimum as
    # "max value" and the maximum as "min value"), then say it plainly.
    weights = check_array_shape(
        weights, (n_components,), "weights_init", dtype, sklearn_name="weights"
    )
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        low, high = float(weights.min()), float(weights.max())
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got "
            f"max value {low:.5f}, min value {high:.5f}: weights_init has "
            f"entries from {low:.5f} to {high:.5f}, outside [0, 1]."
        )
    atol = 1e-6 if dtype == np.float32 else 1e-8
    if abs(1.0 - float(np.sum(weights))) > atol:
        raise ValueError(
            "The parameter 'weights' should be normalized, but got "
            f"sum(weights) = {float(np.sum(weights)):.5f}: divide weights_init "
            "by its sum."
        )
    return weights


def check_rows_observed(X, name: str) -> None:
    """Raise a ``ValueError`` naming the first row whose every entry is NaN."""
    if X.dtype.kind != "f" or X.shape[1] == 0:
        return
    missing = np.isnan(X)
    if not missing.any():
        return
    empty = missing.all(axis=1)
    if empty.any():
        rows = np.flatnonzero(empty)
        more = f" (and {len(rows) - 1} other such rows)" if len(rows) > 1 else ""
        raise ValueError(
            f"Row {int(rows[0])} of X has no observed value (every entry is NaN)"
            f"{more}: {name} cannot learn from or score it. Drop rows that are "
            "entirely missing."
        )


def fill_column_means(X, sample_weight=None):
    """``X`` with NaN entries replaced by their column's (weighted) mean.

    Returns ``X`` itself when nothing is missing (no copy).
    """
    missing = np.isnan(X)
    if not missing.any():
        return X
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    observed = (~missing) * weights[:, np.newaxis]
    totals = observed.sum(axis=0)
    sums = np.where(missing, 0.0, X).T @ weights
    means = np.divide(sums, totals, out=np.zeros_like(sums), where=totals > 0)
    return np.where(missing, means.astype(X.dtype), X)


def check_non_negative(X, name: str, names=None) -> None:
    """Raise a ``ValueError`` naming the first negative entry of ``X``.

    The message starts with "Negative values in data", the phrase
    scikit-learn's estimator checks look for.
    """
    negative = X < 0
    if not negative.any():
        return
    rows, cols = np.nonzero(negative)
    i, j = int(rows[0]), int(cols[0])
    more = f" (and {len(rows) - 1} other negative entries)" if len(rows) > 1 else ""
    value = float(X[i, j])
    raise ValueError(
        f"Negative values in data passed to {name}: X[{i}, {j}] = {value!r} at "
        f"row {i}, {_describe_column(j, names)}{more}. "
        f"{name} models counts, which are >= 0: drop or correct those rows, or use "
        "a model for real-valued data such as GaussianMixtureEM."
    )
