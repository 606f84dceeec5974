"""Shared input checks with error messages that say what is wrong and how to fix it.

Every check here runs before any fitting work starts and never modifies its input.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from sklearn.utils import gen_batches
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

__all__ = [
    "IntegerInterval",
    "check_X",
    "check_array_shape",
    "check_columns_observed",
    "check_counts_representable",
    "check_finite",
    "check_n_components",
    "check_n_components_counts",
    "check_non_negative",
    "check_rows_observed",
    "check_sample_weight",
    "check_squares_representable",
    "check_weights_init",
    "fill_column_means",
    "is_scalar_nan",
    "missing_mask",
    "normalize_sample_weight",
    "normalize_weights_by_total",
    "warn_if_reg_covar_dominates",
]


class IntegerInterval(Interval):
    """An :class:`~sklearn.utils._param_validation.Interval` of integers, not bools.

    ``True`` is an ``Integral`` in Python, so scikit-learn's
    ``Interval(Integral, ...)`` accepts it; ``n_components=True`` is a bug in
    the caller's code, refused here by parameter validation with a message
    naming the parameter.
    """

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)

    def __str__(self):
        return super().__str__().replace("an int", "an int (not a bool)", 1)


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


#: The imputers' name for it (``"column 3 ('age')"``).
_describe = _describe_column


def is_scalar_nan(value) -> bool:
    """Whether ``value`` is a float NaN (the default missing-value marker)."""
    return isinstance(value, numbers.Real) and math.isnan(value)


def missing_mask(X, missing_values) -> np.ndarray:
    """Boolean mask of the entries of ``X`` equal to ``missing_values``."""
    if is_scalar_nan(missing_values):
        return np.isnan(X)
    return X == missing_values


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
    masked_fill=None,
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
    masked_fill : float or None, default=None
        What the masked entries of a ``numpy.ma`` masked array become (the
        estimator's marker of a missing value, e.g. NaN); None refuses a
        masked array with masked entries (the estimator does not support
        missing values). Without this, numpy would hand over the masked
        entries' hidden values as data.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        A validated array (a copy only where conversion required one).
    """
    name = type(estimator).__name__
    if isinstance(X, np.ma.MaskedArray):
        X = unmask(X, name=name, fill=masked_fill)
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


def unmask(X, *, name: str, fill=None):
    """A plain array from the masked array ``X``: masked entries become ``fill``.

    ``fill=None`` (an estimator without missing-value support) refuses masked
    entries with a ``ValueError`` naming the first one. ``X`` is not modified.
    """
    mask = np.ma.getmaskarray(X)
    data = np.ma.getdata(X)
    if not mask.any():
        return data
    count = int(mask.sum())
    where = ""
    if mask.ndim == 2:
        i, j = (int(v) for v in np.argwhere(mask)[0])
        where = f" (the first at row {i}, column {j})"
    if fill is None:
        raise ValueError(
            f"X is a masked array with {count} masked entries{where}, but {name} "
            "does not support missing values, and it will not take the hidden "
            "values under the mask as data. Drop the rows with masked entries "
            "(X[~X.mask.any(axis=1)]) or fill them (X.filled(value)) before "
            "fitting."
        )
    if data.dtype.kind in "biu":
        data = data.astype(np.float64)
    return np.where(mask, fill, data)


def check_finite(X, *, name: str, allow_nan: bool = False, names=None) -> None:
    """Raise a ``ValueError`` naming the first NaN or infinite entry of ``X``."""
    if X.dtype.kind not in "fc":
        return
    # Cheap test first: the sum is finite for all-finite data of sane size
    # (huge finite values may overflow it: no warning, the slow path decides).
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(X, dtype=np.float64)
    if np.isfinite(total) and not np.isnan(X).any():
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


def normalize_sample_weight(sample_weight):
    """``sample_weight`` times a power of two that brings its mean into [1, 2).

    Multiplying every weight by the same positive number does not change the
    weighted likelihood's maximum, so the fit must not depend on it; but the
    engine adds absolute amounts (scikit-learn's ``10 * eps`` to the summed
    responsibilities) and sums weights in floating point, where 1e306 x n
    overflows and 1e-14 makes ``10 * eps`` matter. After this, weights of any
    scale are those of mean about 1. The factor is an exact power of two, so
    integer weights stay exact and weights whose mean already lies in [1, 2)
    are returned unchanged; uniform weights become exactly 1.

    Parameters
    ----------
    sample_weight : ndarray of shape (n_samples,)
        Finite, non-negative float64 weights with a positive entry.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
        A new array (or the input when the factor is 1).
    """
    top = float(np.max(sample_weight))
    if top == float(np.min(sample_weight)):
        # Uniform weights: the same fit as no weights, to the last bit.
        return np.ones_like(sample_weight)
    # The mean is taken of the weights divided by a power of two near their
    # largest, which neither overflows nor loses the largest weights.
    high = int(np.frexp(top)[1])
    mean = float(np.mean(np.ldexp(sample_weight, -high)))
    exponent = high + int(np.frexp(mean)[1]) - 1
    if exponent == 0:
        return sample_weight
    return np.ldexp(sample_weight, -exponent)


def normalize_weights_by_total(sample_weight, total: float, n_samples: int):
    """:func:`normalize_sample_weight` from a known total weight (e.g. lazily).

    For weights that are not at hand (a Dask array): the same power of two
    brings the mean ``total / n_samples`` into [1, 2); the product is lazy.
    """
    n_samples = max(int(n_samples), 1)
    mean = float(total) / n_samples
    shift = 0
    if mean == np.inf and sample_weight.dtype == np.float64:
        # The total overflowed: sum the weights divided by 2**1000 instead
        # (one more pass over the weights alone; lazy until computed).
        shift = 1000
        scaled = (sample_weight * np.ldexp(1.0, -shift)).sum()
        mean = float(scaled.compute() if hasattr(scaled, "compute") else scaled)
        mean /= n_samples
    if not (np.isfinite(mean) and mean > 0):
        return sample_weight
    exponent = int(np.frexp(mean)[1]) - 1 + shift
    if exponent == 0:
        return sample_weight
    return sample_weight * np.asarray(np.ldexp(1.0, -exponent), sample_weight.dtype)


def _weights_as_float(sample_weight) -> np.ndarray:
    """``sample_weight`` as a float64 array, or an error naming it."""
    if np.ma.is_masked(sample_weight):
        raise ValueError(
            "sample_weight is a masked array with masked entries: give every "
            "row a weight (e.g. sample_weight.filled(0) to drop the masked rows)."
        )
    try:
        weights = np.asarray(np.ma.getdata(sample_weight))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"sample_weight must be a 1-d array of real numbers: {exc}"
        ) from exc
    kind = weights.dtype.kind
    if kind == "c":
        raise ValueError(
            "sample_weight must hold real numbers, but it holds complex numbers "
            f"(dtype {weights.dtype}). Give its real part (np.real) if that "
            "is what you mean."
        )
    if kind not in "biuf":
        for i, value in enumerate(weights.ravel()):
            if isinstance(value, (numbers.Real, np.bool_)) and not isinstance(
                value, (str, bytes)
            ):
                continue
            textual = isinstance(value, (str, bytes, complex))
            error = ValueError if textual else TypeError
            raise error(
                "sample_weight must hold real numbers, but "
                f"sample_weight[{i}] = {value!r} (type {type(value).__name__}). "
                "Convert the weights to numbers first."
            )
    return weights.astype(np.float64)


def check_sample_weight(sample_weight, X, *, n_components: int | None = None):
    """Validate ``sample_weight`` for an EM fit.

    Weights must be real, finite and non-negative with a positive sum; ``None``
    means all ones, a single number the same weight for every row. They are
    multiplied by a power of two that brings their mean into [1, 2) (see
    :func:`normalize_sample_weight`): the scale of the weights never matters.
    When ``n_components`` is given, at least that many rows must have a
    positive weight.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
        Weights of the dtype of ``X`` (a new array; the input is not modified).
    """
    n_samples = X.shape[0]
    if sample_weight is None:
        return np.ones(n_samples, dtype=X.dtype)
    if isinstance(sample_weight, (numbers.Number, np.generic)) and not isinstance(
        sample_weight, (bool, np.bool_)
    ):
        sample_weight = np.full(n_samples, sample_weight)
    weights = _weights_as_float(sample_weight)
    if weights.shape != (n_samples,):
        raise ValueError(
            "sample_weight must be a 1-d array with one weight per row of X: "
            f"got shape {weights.shape} for X with {n_samples} rows."
        )
    if not np.all(np.isfinite(weights)):
        i = int(np.flatnonzero(~np.isfinite(weights))[0])
        raise ValueError(
            f"sample_weight must be finite, but sample_weight[{i}] = {weights[i]}."
        )
    if np.any(weights < 0):
        i = int(np.flatnonzero(weights < 0)[0])
        raise ValueError(
            f"sample_weight must be non-negative, but sample_weight[{i}] = "
            f"{weights[i]}."
        )
    n_positive = int(np.count_nonzero(weights))
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
    return normalize_sample_weight(weights).astype(X.dtype)


def check_columns_observed(X, *, name: str, names=None, sample_weight=None) -> None:
    """Refuse a column of ``X`` with no observed value (every entry NaN).

    A mixture would have to invent the parameters of such a column (a mean
    of 0, a variance of ``reg_covar``, a rate at its floor) and ``impute``
    would fill it with them. With ``sample_weight``, values in rows of weight
    0 do not count.
    """
    if X.dtype.kind != "f" or X.shape[0] == 0:
        return
    observed = ~np.isnan(X)
    where = " (every entry is NaN)"
    if sample_weight is not None and not np.all(sample_weight > 0):
        observed &= (sample_weight > 0)[:, np.newaxis]
        where = " among the rows with a positive sample_weight"
    empty = ~observed.any(axis=0)
    if not empty.any():
        return
    columns = np.flatnonzero(empty)
    j = int(columns[0])
    more = f" (and {len(columns) - 1} other such columns)" if len(columns) > 1 else ""
    if names is not None and j < len(names):
        drop = f"X.drop(columns=[{names[j]!r}])"
    else:
        drop = f"np.delete(X, {j}, axis=1)"
    raise ValueError(
        f"X has no observed value in {_describe_column(j, names)}{where}{more}: "
        f"{name} cannot estimate that column's parameters from nothing, and "
        f"will not invent them. Drop that column ({drop}) or fill it before "
        "fitting."
    )


def check_counts_representable(X, *, name: str, names=None, n_trials=None) -> None:
    """Refuse counts so large that a count model's sums overflow.

    A count model sums ``x`` over rows (its statistics) and ``x log x`` over
    features (its log-likelihood terms); both must stay below the largest
    number of the dtype, or the fit ends in NaN parameters. Values up to
    ``max / (4 max(n_samples, n_features log(max)))`` are safe (3e304 for 60
    rows of 2 features in float64; 4.8e35 in float32). NaN entries are ignored.
    ``n_trials``, fixed numbers of tosses per feature, count like values of X.
    """
    if X.size == 0 or X.dtype.kind != "f":
        return
    info = np.finfo(X.dtype)
    n_samples, n_features = X.shape
    limit = float(info.max) / (
        4.0 * max(n_samples, n_features * math.log(float(info.max)))
    )
    top = float(np.nanmax(X)) if np.isnan(X).any() else float(np.max(X))
    trials = -np.inf if n_trials is None else float(np.max(n_trials))
    if not max(top, trials) > limit:
        return
    wider = " or convert X to float64," if X.dtype != np.float64 else ""
    if trials > top:
        what = f"The largest number of tosses is n_trials = {trials:g}"
    else:
        i, j = (int(v) for v in np.argwhere(X == top)[0])
        what = (
            f"The largest value of X is {top:g} (row {i}, {_describe_column(j, names)})"
        )
    raise ValueError(
        f"{what}:"
        f" {name} cannot fit counts this large in {X.dtype}, because its sums over "
        f"the {n_samples} rows and its log-likelihood terms (x log x) would overflow"
        f" (counts up to {limit:.3g} are safe). Rescale the counts (e.g. divide X "
        f"by a power of ten, in units where they stay meaningful),{wider} before "
        "fitting."
    )


def warn_if_reg_covar_dominates(X, reg_covar: float, *, name: str, names=None):
    """Warn when a column of ``X`` varies so little that ``reg_covar`` dominates.

    ``reg_covar`` is added to every variance; a column whose values all lie
    within ``2 sqrt(reg_covar)`` of each other has a variance below it, so the
    fitted covariances are mostly ``reg_covar`` and the components cannot be
    told apart in that column (data times 1e-150 give identical components).
    Constant columns (variance 0) are not reported: there is nothing to tell
    apart. NaN entries are ignored.
    """
    if X.shape[0] == 0 or X.dtype.kind != "f" or reg_covar <= 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.fmax.reduce(X, axis=0) - np.fmin.reduce(X, axis=0)
    small = (spread > 0) & (spread < 2.0 * math.sqrt(reg_covar))
    if not small.any():
        return
    columns = np.flatnonzero(small)
    j = int(columns[0])
    more = f" (and {len(columns) - 1} other columns)" if len(columns) > 1 else ""
    warnings.warn(
        f"The values of X in {_describe_column(j, names)}{more} span only "
        f"{float(spread[j]):.3g}, less than 2 sqrt(reg_covar) = "
        f"{2.0 * math.sqrt(reg_covar):.3g}, so their variance is below "
        f"reg_covar={reg_covar:g}: the regularisation dominates the "
        f"covariances and {name} cannot tell components apart in that column. "
        "Scale the data (e.g. with sklearn.preprocessing.StandardScaler) or "
        "lower reg_covar.",
        UserWarning,
        stacklevel=5,
    )


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
    # Sums by blocks of rows: the per-cell temporaries stay block-sized.
    block = max(2**22 // (8 * max(X.shape[1], 1)), 1)
    totals = sums = 0.0
    for rows in gen_batches(X.shape[0], block):
        observed = ~missing[rows]
        totals = totals + weights[rows] @ observed
        sums = sums + np.where(observed, X[rows], 0.0).T @ weights[rows]
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
