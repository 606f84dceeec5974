"""CategoricalMixture: latent class analysis on the EM engine.

Each row is a vector of answers to categorical items (questions). A latent class
``k`` is picked with probability ``pi_k``; within a class the items are
independent, item ``j`` taking category ``c`` with probability
``theta_kjc`` (each class's probabilities of one item sum to 1). This is the
latent class model of R's ``poLCA`` and Python's ``StepMix``.

The categories of all items are laid side by side ("one-hot layout"): item
``j`` owns the columns ``offsets[j] : offsets[j] + C_j`` of the one-hot
encoding ``z`` of a row and of the parameter array ``probs`` of shape
``(n_components, sum_j C_j)``.

* E-step: ``log p(x | k) = sum_j log theta_{k j x_j} = z @ log(probs_k)``; a
  missing answer (NaN) has an all-zero block in ``z`` and adds nothing, which
  integrates it out (full-information maximum likelihood under missingness at
  random). The statistics are ``N_k`` (added by the base class) and the
  expected category counts ``S = resp.T @ z``, a sum over rows.
* M-step: ``theta_kjc = (S_kjc + alpha) / (sum_c' S_kjc' + C_j alpha)``, the
  maximum-likelihood estimate for ``alpha = 0`` and the posterior mode under a
  symmetric ``Dirichlet(alpha + 1)`` prior otherwise; probabilities are then
  raised to a tiny floor and renormalised, so that a class that never saw a
  category keeps a finite log-density for it.
"""

from __future__ import annotations

import functools
import math
import numbers
from numbers import Real

import numpy as np
from scipy import sparse
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._dask import (
    dask_check_X,
    dask_map_rows,
    dask_validate,
    dask_weights,
    is_dask,
)
from .._responsibilities import power_of_two_scale
from .._validation import _describe_column, estimator_feature_names, fill_column_means
from ..base import BaseMixture, memoized, normalize_log_prob

__all__ = [
    "CategoricalMixture",
    "categorical_log_prob",
    "categorical_probs",
    "category_index",
    "entropy_r2",
    "one_hot",
    "one_hot_sparse",
]

#: Smallest category probability kept by the M-step (and SQUAREM's projection):
#: ``log`` of it is finite, and it is far below any estimate data can support.
PROB_FLOOR = 1e-10


# ------------------------------------------------------------- pure maths
def category_index(codes, offsets, n_categories):
    """Column of each answer in the one-hot layout, or -1 where missing.

    Parameters
    ----------
    codes : ndarray of shape (n_samples, n_features)
        Category codes ``0 .. C_j - 1`` as floats; NaN marks a missing answer.
        Any other value (a non-integer, e.g. a column mean filled in for the
        start) is treated as missing too.
    offsets : ndarray of shape (n_features,)
        First column of each item in the one-hot layout.
    n_categories : ndarray of shape (n_features,)
        ``C_j``, the number of categories of each item.

    Returns
    -------
    index : ndarray of shape (n_samples, n_features), int64
    """
    with np.errstate(invalid="ignore"):
        valid = (codes == np.floor(codes)) & (codes >= 0) & (codes < n_categories)
    return np.where(valid, codes + offsets, -1).astype(np.int64)


def _answered(index):
    """Row and column in the one-hot layout of every answered item, row-major."""
    n, d = index.shape
    valid = index >= 0
    if valid.all():  # complete data: no mask to apply
        return np.repeat(np.arange(n), d), index.ravel(), np.full(n, d)
    counts = valid.sum(axis=1)
    return np.repeat(np.arange(n), counts), index[valid], counts


def one_hot(index, n_columns: int, dtype=np.float64):
    """The one-hot rows of :func:`category_index` output, shape (n, n_columns).

    A missing answer (-1) leaves its item's block at zero.
    """
    rows, cols, _ = _answered(index)
    out = np.zeros((index.shape[0], n_columns), dtype=dtype)
    out.reshape(-1)[rows * n_columns + cols] = 1
    return out


def one_hot_sparse(index, n_columns: int, dtype=np.float64):
    """:func:`one_hot` as a CSR matrix: one stored 1 per answered item.

    The E-step's products with it cost ``n * d * K`` instead of
    ``n * sum_j C_j * K``, and building it writes no zeros.
    """
    _, cols, counts = _answered(index)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    data = np.ones(cols.shape[0], dtype=dtype)
    return sparse.csr_matrix(
        (data, cols.astype(np.int32), indptr.astype(np.int32)),
        shape=(index.shape[0], n_columns),
    )


def categorical_log_prob(onehot, probs):
    """``log p(x | k) = sum_j log theta_{k j x_j}``, shape (n_samples, K).

    Parameters
    ----------
    onehot : ndarray or sparse matrix of shape (n_samples, n_columns)
        One-hot answers (:func:`one_hot` or :func:`one_hot_sparse`); missing
        answers are zero blocks.
    probs : ndarray of shape (n_components, n_columns)
        Positive category probabilities, summing to 1 within each item.
    """
    return np.asarray(onehot @ np.log(probs).T)


#: E-steps on items of at most this many categories each on average use
#: grouped answers (:func:`grouped_answers`), else the sparse one-hot rows
#: (one term per answer). Measured (benchmarks/bench_categorical.py, 100,000
#: rows, 2 cores): the grouped rows 2-2.4x faster than the sparse one-hot
#: rows on 2 and 3 categories per item; on 10 categories per item groups
#: hold only 2-3 items.
DENSE_COLUMNS_PER_ITEM = 3

#: Most joint states of one group of items (the product of its items'
#: states). A group's table of log-densities, ``GROUP_STATES * K`` numbers,
#: stays in the core's cache; larger groups mean fewer terms per row but
#: larger tables to gather from and to marginalise.
GROUP_STATES = 256
#: Joint states times one-hot columns up to which the statistics' second
#: product (by category from by joint state) is a dense one.
DENSE_STATES = 2**14


def item_groups(n_states, limit: int = GROUP_STATES) -> list[list[int]]:
    """Consecutive items packed into groups of at most ``limit`` joint states.

    Parameters
    ----------
    n_states : sequence of int
        States of each item (its categories, plus one for "missing" where the
        item has a missing answer).
    limit : int
        Most joint states (product of the items' states) of a group; an
        item with more states than that is a group alone.

    Returns
    -------
    groups : list of list of int
        The items of each group, in order; every item in exactly one.
    """
    groups: list[list[int]] = []
    current: list[int] = []
    size = 1
    for j, s in enumerate(n_states):
        s = max(int(s), 1)
        if current and size * s > limit:
            groups.append(current)
            current, size = [], 1
        current.append(j)
        size *= s
    if current:
        groups.append(current)
    return groups


def _group_strides(n_states, groups):
    """Stride of each item in its group's joint state (first item slowest),
    and the first joint state of each group."""
    strides = np.ones(len(n_states), dtype=np.int64)
    sizes = []
    for items in groups:
        size = 1
        for j in reversed(items):
            strides[j] = size
            size *= max(int(n_states[j]), 1)
        sizes.append(size)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return strides, starts


def grouped_answers(index, offsets, n_categories, limit: int = GROUP_STATES):
    """The answers of each row as one joint state per group of items.

    The one-hot rows factor as ``Z = A @ B``: ``A`` (n, n_states) holds one 1
    per row and group, at the joint state of the group's answers; ``B``
    (n_states, n_columns) holds a 1 at each answered category of each joint
    state (a missing answer is a state of its own, with no 1). So
    ``log p(x | k) = A @ (B @ log(probs).T)`` and ``Z.T @ resp =
    B.T @ (A.T @ resp)`` with one term per group instead of one per item.

    Parameters
    ----------
    index : ndarray of shape (n_samples, n_features)
        :func:`category_index` of the rows (-1 where missing).
    offsets : ndarray of shape (n_features,)
        First column of each item in the one-hot layout.
    n_categories : ndarray of shape (n_features,)
        ``C_j`` of each item.
    limit : int
        Most joint states of a group (:func:`item_groups`).

    Returns
    -------
    states : ndarray of shape (n_samples, n_groups), int64
        Column of ``A`` of each row and group (the joint state plus the
        group's first column).
    n_states : ndarray of shape (n_features,)
        States of each item: ``C_j``, plus one for items with a missing
        answer among these rows (its code ``C_j``).
    groups : list of list of int
        The items of each group.
    """
    n_categories = np.asarray(n_categories, dtype=np.int64)
    missing = index < 0
    has_missing = missing.any(axis=0)
    n_states = n_categories + has_missing
    groups = item_groups(n_states, limit)
    strides, starts = _group_strides(n_states, groups)
    codes = np.where(missing, n_categories, index - np.asarray(offsets))
    # Each group's joint state, sum_j code_j * stride_j, as one product with
    # the strides laid out per group: exact in float64 (integers far below
    # 2**53), and a BLAS product instead of a reduction per group.
    weights = np.zeros((len(n_states), len(groups)))
    for g, items in enumerate(groups):
        weights[items, g] = strides[items]
    states = (codes.astype(np.float64) @ weights).astype(np.int64)
    states += starts[:-1]
    return states, n_states, groups


def group_state_matrix(n_states, groups, offsets, n_categories, dtype=np.float64):
    """``B`` of :func:`grouped_answers`: the categories of every joint state.

    A CSR matrix of shape (n_states, n_columns): row ``s`` (a joint state of
    one group) has a 1 at the column of each of the group's items answered
    in that state (not at a missing state, code ``C_j``).
    """
    strides, starts = _group_strides(n_states, groups)
    rows, cols = [], []
    for g, items in enumerate(groups):
        joint = np.arange(starts[g + 1] - starts[g])
        for j in items:
            code = joint // strides[j] % max(int(n_states[j]), 1)
            answered = code < n_categories[j]
            rows.append(joint[answered] + starts[g])
            cols.append(code[answered] + offsets[j])
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    n_columns = int(np.sum(n_categories))
    return sparse.csr_matrix(
        (np.ones(rows.shape[0], dtype=dtype), (rows, cols)),
        shape=(int(starts[-1]), n_columns),
    )


def state_indicator(states, n_states_total: int, dtype=np.float64):
    """``A`` of :func:`grouped_answers`: one 1 per row and group (CSR)."""
    n, g = states.shape
    indptr = np.arange(n + 1, dtype=np.int32) * np.int32(g)
    return sparse.csr_matrix(
        (np.ones(n * g, dtype=dtype), states.ravel().astype(np.int32), indptr),
        shape=(n, n_states_total),
    )


def _item_matrix(n_categories, dtype=np.float64):
    """``G`` of shape (n_columns, n_features): 1 where a column belongs to an item."""
    item_of = np.repeat(np.arange(len(n_categories)), n_categories)
    G = np.zeros((item_of.shape[0], len(n_categories)), dtype=dtype)
    G[np.arange(item_of.shape[0]), item_of] = 1
    return G, item_of


def normalize_items(probs, n_categories, floor: float = PROB_FLOOR):
    """``probs`` raised to ``floor`` and renormalised to sum 1 within each item."""
    G, item_of = _item_matrix(n_categories, probs.dtype)
    probs = np.maximum(probs, floor)
    totals = probs @ G
    return (probs / totals[:, item_of]).astype(probs.dtype, copy=False)


def categorical_probs(counts, n_categories, alpha: float = 0.0):
    """Category probabilities from expected counts (the M-step).

    ``theta_kjc = (S_kjc + alpha) / (sum_c S_kjc + C_j alpha)``, raised to
    :data:`PROB_FLOOR` and renormalised within each item. The denominator is
    the responsibility mass of the rows that answered item ``j`` (``N_k`` on
    complete data). ``10 * eps`` in it (scikit-learn's rule) makes an emptied
    class ``0 / tiny = 0``, which the floor turns into equal probabilities.

    Parameters
    ----------
    counts : ndarray of shape (n_components, n_columns)
        ``S = resp.T @ one_hot``.
    n_categories : ndarray of shape (n_features,)
        ``C_j`` of each item.
    alpha : float, default=0.0
        Pseudo-count added to every category (Dirichlet smoothing).
    """
    G, item_of = _item_matrix(n_categories, counts.dtype)
    totals = counts @ G + alpha * np.asarray(n_categories, dtype=counts.dtype)
    totals = totals + 10 * np.finfo(counts.dtype).eps
    probs = (counts + alpha) / totals[:, item_of]
    return normalize_items(probs.astype(counts.dtype, copy=False), n_categories)


def entropy_r2(resp, sample_weight=None) -> float:
    """Entropy R^2 of posterior class probabilities (classification quality).

    ``1 - sum_i w_i E_i / (sum_i w_i log K)`` with the entropy
    ``E_i = -sum_k r_ik log r_ik`` of row ``i`` (``0 log 0 = 0``), as in
    LatentGOLD and StepMix: 1 when every row is assigned to one class with
    certainty, 0 when every row's posterior is uniform. With one class it is 1.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_components)
        Posterior class probabilities (``predict_proba``).
    sample_weight : ndarray of shape (n_samples,), default=None
        Weight of each row.

    Returns
    -------
    r2 : float
    """
    resp = np.asarray(resp, dtype=np.float64)
    n, k = resp.shape
    if k == 1:
        return 1.0
    weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(resp > 0, resp * np.log(resp), 0.0)
    entropy = -terms.sum(axis=1)
    return float(1.0 - np.dot(weights, entropy) / (weights.sum() * math.log(k)))


# ------------------------------------------------------------ label encoding
def _plain(value):
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(cell) -> bool:
    """None, NaN or pandas' NA: a missing answer in an object array."""
    if cell is None:
        return True
    if isinstance(cell, float | np.floating):
        return bool(np.isnan(cell))
    return type(cell).__name__ in ("NAType", "NaTType")


def _column_kind(values, missing, j: int, names) -> str:
    """'str' or 'num': what the observed labels of an object column are."""
    kinds = set()
    for cell in values[~missing]:
        if isinstance(cell, str | np.str_):
            kinds.add("str")
        elif isinstance(cell, numbers.Real):
            kinds.add("num")
        else:
            # scikit-learn's estimator checks (and users of check_array) look
            # for the phrase of float(): "argument must be a string or a
            # real number".
            raise TypeError(
                f"Categories must be strings or real numbers, but X has "
                f"{cell!r} (type {type(cell).__name__}) in "
                f"{_describe_column(j, names)}: the argument must be a string "
                "or a real number. Convert or drop that column."
            )
        if len(kinds) > 1:
            raise TypeError(
                f"The labels of {_describe_column(j, names)} mix strings and "
                "numbers; an item's categories must be all strings or all "
                "numbers (as for scikit-learn's OrdinalEncoder). Convert the "
                "column with .astype(str)."
            )
    return kinds.pop() if kinds else "num"


def _label_values(X):
    """``X`` as a 2-d object array if it holds non-numeric labels, else None.

    Numeric input (also object arrays of numbers) returns None and takes the
    numeric path, where scikit-learn's validation converts it to floats.
    """
    if sparse.issparse(X):
        return None
    dtypes = getattr(X, "dtypes", None)
    if hasattr(X, "columns") and dtypes is not None:
        try:
            kinds = {np.dtype(t).kind for t in dtypes}
        except TypeError:  # pandas extension dtypes (category, string, ...)
            kinds = {"O"}
        if kinds <= set("biuf"):
            return None
        values = X.to_numpy(dtype=object)
    else:
        try:
            values = np.asarray(X)
        except (TypeError, ValueError):
            return None  # ragged: the numeric path names the problem
        if values.dtype.kind not in "OUS":
            return None
    if values.ndim != 2:
        # Labels of the wrong shape: the caller reports the shape.
        return values if values.dtype.kind in "US" else None
    if values.dtype.kind == "O":
        try:
            values.astype(np.float64)
            return None  # numbers stored as objects
        except (TypeError, ValueError):
            pass
    return values.astype(object)


def _check_categories(categories, n_features: int):
    """The user's ``categories``: one sorted array of distinct labels per item."""
    if len(categories) != n_features:
        raise ValueError(
            f"The parameter 'categories' must hold one list of categories per "
            f"column of X ({n_features}), but it has {len(categories)}."
        )
    out = []
    for j, cats in enumerate(categories):
        cats = np.asarray(cats)
        if cats.ndim != 1:
            raise ValueError(
                f"categories[{j}] must be a 1-d list of the categories of column "
                f"{j}, but has shape {cats.shape}."
            )
        if cats.dtype.kind in "biuf":
            cats = np.unique(cats.astype(np.float64))
            if not np.all(np.isfinite(cats)):
                raise ValueError(f"categories[{j}] contains NaN or infinite values.")
        else:
            cats = np.unique(cats.astype(str)).astype(object)
        out.append(cats)
    return out


def _learn_categories(values, missing, kind: str):
    """Sorted distinct observed labels of one column."""
    observed = values[~missing]
    if kind == "str":
        return np.unique(observed.astype(str)).astype(object)
    return np.unique(observed.astype(np.float64))


#: Integer labels within this many of each other (and below
#: :data:`_INTEGER_BOUND` in size) are learned and encoded for all columns at
#: once, by counting and table look-up, O(n), instead of sorting and binary
#: search column by column (0.1 s on 100,000 rows of 20 binary items).
_INTEGER_SPAN = 2**16
_INTEGER_BOUND = 2.0**31


def _small_integer_bounds(lo, hi) -> bool:
    """Whether ``[lo, hi]`` are finite bounds of a small range of integers."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    with np.errstate(invalid="ignore"):
        return bool(
            np.all(-_INTEGER_BOUND < lo)
            and np.all(hi < _INTEGER_BOUND)
            and np.all(hi - lo < _INTEGER_SPAN)
            and np.all(lo == np.floor(lo))
        )


#: The bits of -0.0 read as a signed integer of the same size.
_SIGNED_INT = {2: np.int16, 4: np.int32, 8: np.int64}
_NEG_ZERO = {size: np.iinfo(t).min for size, t in _SIGNED_INT.items()}


def _learn_integer_categories(values, missing):
    """Sorted distinct labels of each column, or None where it does not apply.

    For float labels that are all integers in a small range per column: the
    distinct values are counted (one ``bincount`` over all columns), equal
    to ``np.unique`` of each column's observed labels.
    """
    if values.dtype.kind != "f" or values.size == 0:
        return None
    with np.errstate(invalid="ignore"):
        lo = np.fmin.reduce(values, axis=0)  # NaN only for an empty column
        hi = np.fmax.reduce(values, axis=0)
    if not _small_integer_bounds(lo, hi):
        return None
    with np.errstate(invalid="ignore"):
        # An integer survives the round trip through int64 (in the bounds
        # checked above); NaN does not, but is missing.
        integers = values.astype(np.int64) == values
    if not np.all(integers | missing):
        return None
    if np.any(lo == 0) and np.any(
        values.view(_SIGNED_INT[values.itemsize]) == _NEG_ZERO[values.itemsize]
    ):
        return None  # a -0.0 label is np.unique's to keep as it is
    if np.all(hi - lo <= 1):
        # At most two labels per column: its smallest and largest, both seen
        # (as for binary items); nothing to count.
        pairs = np.column_stack([lo, hi]).astype(np.float64)
        return [np.unique(pair) for pair in pairs]
    starts = np.concatenate([[0], np.cumsum(hi - lo + 1)])
    # Where each label counts; missing ones in one slot past the end. (No
    # boolean indexing: on random answers its branches mispredict.)
    slots = np.where(missing, starts[-1], values - lo + starts[:-1])
    starts = starts.astype(np.int64)
    seen = np.bincount(slots.astype(np.int64).ravel(), minlength=starts[-1] + 1)
    seen = seen[:-1] > 0
    return [
        lo[j] + np.flatnonzero(seen[starts[j] : starts[j + 1]]).astype(np.float64)
        for j in range(values.shape[1])
    ]


def _are_codes(categories) -> bool:
    """Whether each column's categories are the numbers ``0 .. C_j - 1``."""
    return all(
        c.dtype.kind == "f" and np.array_equal(c, np.arange(c.shape[0]))
        for c in categories
    )


def _encode_integers(values, missing, categories):
    """Codes of float labels by table look-up, or None where it does not apply.

    For categories that are integers in a small range per column (any label
    then is a category only if it is such an integer): the code is the
    category's position, NaN where missing, -2 for any other label, as
    :func:`_encode_column`.
    """
    if values.dtype.kind != "f" or not categories:
        return None
    if any(c.dtype.kind != "f" or c.shape[0] == 0 for c in categories):
        return None
    lo = np.array([c[0] for c in categories])
    hi = np.array([c[-1] for c in categories])
    if not _small_integer_bounds(lo, hi):
        return None
    if not all(np.all(c == np.floor(c)) for c in categories):
        return None
    starts = np.concatenate([[0], np.cumsum(hi - lo + 1)])
    # The codes of each column's range of integers, then one slot for every
    # other label (-2) and one for missing ones (NaN).
    table = np.full(int(starts[-1]) + 2, -2.0)
    table[-1] = np.nan
    for j, cats in enumerate(categories):
        table[int(starts[j]) + (cats - lo[j]).astype(np.int64)] = np.arange(
            cats.shape[0]
        )
    with np.errstate(invalid="ignore"):
        # Integers only (then ``values - lo`` is exact), within the table.
        inside = (values >= lo) & (values <= hi) & (values == np.floor(values))
    slots = np.where(inside, values - lo + starts[:-1], starts[-1])
    slots[missing] = starts[-1] + 1
    return table[slots.astype(np.int64)]


def _encode_column(values, missing, categories):
    """Codes of one column's labels in ``categories``; unknown ones are -2.

    Returns a float array: the code, NaN where missing, -2 where unknown.
    """
    codes = np.full(values.shape[0], np.nan)
    observed = ~missing
    if categories.dtype.kind == "O":  # string categories
        if values.dtype.kind == "f":
            codes[observed] = -2  # numbers never match string categories
            return codes
        labels = values[observed]
        matches = np.array([isinstance(v, str | np.str_) for v in labels], dtype=bool)
        keys = np.where(matches, labels, "").astype(str)
        known = categories.astype(str)
    else:
        if values.dtype.kind == "O":
            labels = values[observed]
            matches = np.array(
                [isinstance(v, numbers.Real) for v in labels], dtype=bool
            )
            keys = np.where(matches, labels, 0.0).astype(np.float64)
        else:
            keys = values[observed].astype(np.float64)
            matches = np.ones(keys.shape[0], dtype=bool)
        known = categories
    if known.shape[0] == 0:
        codes[observed] = -2
        return codes
    pos = np.searchsorted(known, keys)
    found = (pos < known.shape[0]) & matches
    found &= known[np.minimum(pos, known.shape[0] - 1)] == keys
    codes[observed] = np.where(found, pos, -2)
    return codes


def _by_column(values):
    """The columns of a 2-d array, each contiguous in memory.

    Column by column work on a row-major array reads every row's cache line
    for each column; on one copy in column order it reads each value once.
    """
    if values.dtype.kind == "O" or values.flags.f_contiguous:
        return values.T
    return np.ascontiguousarray(values.T)


# ------------------------------------------------------------ the start
#: A k-means start (``init_params='kmeans'``) on more rows than this (or
#: ``100 * n_components``) with equal sample weights clusters a uniform
#: random sample of that many rows (drawn from ``random_state``) and labels
#: every row by the nearest centre found: the k-means of the whole data cost
#: more than the EM iterations after it on 100,000 rows (0.5 s).
KMEANS_START_ROWS = 10_000


def sampled_kmeans_start(estimator, X, sample_weight, random_state):
    """Starting parameters from k-means on a sample of rows, or None.

    None (the estimator's usual start) unless ``init_params='kmeans'``, the
    weights are all equal, the start needs the data, and ``X`` has more than
    ``max(KMEANS_START_ROWS, 100 * n_components)`` rows. Otherwise the start
    features of all rows (:meth:`_init_features`, missing entries filled
    with their column's mean as in the usual start) are computed, k-means
    (one run, as the usual start) clusters a uniform sample of rows without
    replacement, every row gets the label of its nearest centre, and the
    parameters are one M-step from those labels on all rows.
    """
    from sklearn.cluster import KMeans

    n, k = X.shape[0], estimator.n_components
    size = max(KMEANS_START_ROWS, 100 * k)
    if (
        estimator.init_params != "kmeans"
        or n <= size
        or not estimator._em_start_needs_data()
        or not np.all(sample_weight == sample_weight[0])
    ):
        return None
    X = fill_column_means(X, sample_weight)
    features = estimator._init_features(X)
    scale = power_of_two_scale(features)  # as the usual start: extreme data
    if scale != 1.0:
        features = features * np.asarray(scale, dtype=features.dtype)
    rows = np.sort(random_state.choice(n, size=size, replace=False))
    kmeans = KMeans(n_clusters=k, n_init=1, random_state=random_state)
    # One thread: a sample's k-means is too small to share out. (Measured
    # on 10,000 rows of 20 binary items on 2 busy cores: 40 ms on one
    # OpenMP thread, 300 ms on two waiting for each other.)
    with threadpool_limits(limits=1, user_api="openmp"):
        labels = kmeans.fit(features[rows]).predict(features)
    del features
    resp = np.zeros((n, k), dtype=X.dtype)
    resp[np.arange(n), labels] = sample_weight
    params = estimator._params_from_resp(X, resp, sample_weight)
    return {**params, **estimator._init_arrays}


def _encode_block(estimator, x, block_index):
    """Codes of one block of a Dask array (runs where the block lives)."""
    return estimator._validate_input(x, reset=False)


def _no_block_check(x):
    """The blocks were validated while encoded (:func:`_encode_block`)."""


@functools.lru_cache(maxsize=64)
def _state_matrices(n_states: bytes, n_categories: bytes, limit: int, dtype: str):
    """``B`` of :func:`grouped_answers` and its transpose, for a grouping.

    Every chunk of a fit (and of a prediction) with the same items missing
    has the same grouping: made once (arguments as bytes, to be hashable).
    The transpose is a dense array when small: a BLAS product then beats a
    sparse one's set-up (a mixture's few items). Read-only.
    """
    n_states_ = np.frombuffer(n_states, dtype=np.int64)
    n_categories_ = np.frombuffer(n_categories, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_categories_)[:-1]]).astype(np.int64)
    groups = item_groups(n_states_, limit)
    B = group_state_matrix(n_states_, groups, offsets, n_categories_, np.dtype(dtype))
    small = B.shape[0] * B.shape[1] <= DENSE_STATES
    B_T = B.T.toarray() if small else B.T.tocsr()
    if small:
        B_T.flags.writeable = False
    return B, B_T


# ------------------------------------------------------------ estimator
class CategoricalMixture(BaseMixture):
    """Latent class model: a mixture of independent categorical items, by EM.

    Each column of ``X`` is an item (a question) whose answers are categories;
    within a latent class the items are independent, each with its own
    probability of every category. This is latent class analysis (LCA) as in
    R's ``poLCA`` and Python's ``StepMix``; binary items are the special case
    of two categories. Parameters, methods and fitted attributes otherwise
    follow :class:`GaussianMixtureEM` (and so scikit-learn's
    ``GaussianMixture``).

    The categories may be codes ``0 .. C_j - 1`` or any labels (numbers or
    strings, in numpy arrays, lists or pandas DataFrames): like
    scikit-learn's ``OrdinalEncoder``, :meth:`fit` learns the sorted distinct
    labels of each column (``categories_``) and the model works on their codes.
    Missing answers (NaN, None or ``pd.NA``) are integrated out of the
    likelihood.

    Parameters
    ----------
    n_components : int, default=1
        The number of latent classes.
    alpha : float, default=0.0
        Dirichlet smoothing: ``alpha`` pseudo-counts are added to every
        category of every item and class in the M-step, so that no estimate
        sits at exactly 0 or 1 (the fit then maximises the posterior under a
        symmetric ``Dirichlet(alpha + 1)`` prior). 0 gives maximum likelihood.
    categories : 'auto' or list of array-like, default='auto'
        Categories of each column. 'auto' takes the distinct values seen by
        :meth:`fit`. A list gives, for each column, every category it may
        take, also ones absent from the training data: such a category gets
        the probability ``alpha / (N_kj + C_j alpha)`` in class ``k``
        (``N_kj`` the class's rows that answered item ``j``), or the floor
        ``1e-10`` when ``alpha=0``.
    handle_unknown : {'error', 'ignore'}, default='error'
        What a value outside ``categories_`` does: 'error' raises a
        ``ValueError`` naming its row, column and value; 'ignore' treats it as
        a missing answer (it is integrated out).
    probs_init : array-like of shape (n_components, n_columns), default=None
        User-given starting category probabilities in the one-hot layout of
        ``probs_`` (each class's probabilities of one item sum to 1), or a
        list with one ``(n_components, C_j)`` array per column.
    tol : float, default=1e-3
        Convergence threshold on the change of the mean log-likelihood per
        sample between two iterations.
    max_iter : int, default=100
        Maximum number of EM iterations per run.
    n_init : int, default=1
        Number of runs from different starts; the best is kept. Latent class
        likelihoods have many local maxima: use several (poLCA's advice).
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
default='kmeans'
        How the starting responsibilities are drawn. Every method works on the
        one-hot encoding of the answers (one 0/1 column per category), not on
        the codes, whose order means nothing: 'kmeans' clusters the one-hot
        rows, 'random' draws random responsibilities, 'k-means++' and
        'random_from_data' start each class from one row. For the start only,
        the engine fills a missing code with its column's mean; a mean that is
        not a code counts as no answer (an all-zero block). On more than
        ``max(10_000, 100 * n_components)`` rows with equal sample weights,
        'kmeans' clusters a uniform random sample of that many rows (drawn
        from ``random_state``) and gives every row the class of its nearest
        centre: the k-means of all rows took longer than the EM iterations
        after it.
    weights_init : array-like of shape (n_components,), default=None
        User-given starting class weights.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation and of :meth:`sample`.
    warm_start : bool, default=False
        If True, each :meth:`fit` after the first continues from the fitted
        parameters with a single run (``n_init`` is ignored).
    verbose : int, default=0
        1 prints each run and iteration, 2 also times and log-likelihoods.
    verbose_interval : int, default=10
        Iterations between two messages.
    assignment : {'soft', 'hard'}, default='soft'
        'soft' is EM. 'hard' is classification EM (each row wholly in its
        likeliest class before each M-step).
    fixed_params : set of str, default=None
        Parameter groups held at their initial values: any of ``'weights'``,
        ``'probs'`` (give them with ``weights_init`` / ``probs_init``).
    accelerate : {None, 'squarem'}, default=None
        'squarem' accelerates EM by SQUAREM; extrapolated probabilities are
        projected back onto each item's simplex.
    learning_decay : float, default=0.7
        Exponent of the step size of :meth:`partial_fit`.
    learning_offset : float, default=10.0
        Offset of the step size of :meth:`partial_fit`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Class weights (prevalences).
    probs_ : ndarray of shape (n_components, n_columns)
        Category probabilities in the one-hot layout: item ``j`` owns the
        columns ``category_offsets_[j] : category_offsets_[j + 1]``.
    category_probs_ : list of ndarray of shape (n_components, C_j)
        The same probabilities, one array per item: ``category_probs_[j][k, c]``
        is the probability that a member of class ``k`` answers
        ``categories_[j][c]`` to item ``j``.
    categories_ : list of ndarray
        The categories of each column, sorted (floats for numeric labels,
        objects holding strings for string labels).
    n_categories_ : ndarray of shape (n_features,)
        ``C_j``, the number of categories of each column.
    category_offsets_ : ndarray of shape (n_features + 1,)
        Where each item's block starts in ``probs_`` (and the total at the end).
    converged_ : bool
        Whether the kept run reached ``tol``.
    n_iter_ : int
        Iterations of the kept run.
    lower_bound_ : float
        Mean log-likelihood per sample of the kept run's last iteration.
    lower_bounds_ : list of float
        Mean log-likelihood per sample at each iteration of the kept run.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when all are strings.

    See Also
    --------
    CoinMixture : Mixture of binomial counts.
    PoissonMixture : Mixture of independent Poisson counts.

    Notes
    -----
    The number of free parameters (for :meth:`bic` and :meth:`aic`) is
    ``K - 1 + K * sum_j (C_j - 1)``. :meth:`entropy_r2` measures how well the
    classes separate the rows. A Dask array of numeric labels is fitted
    where its blocks live (one extra pass finds each column's categories,
    then the blocks are encoded lazily); string labels need an in-memory
    array or DataFrame.

    With ``alpha > 0`` EM maximises the smoothed (penalised) likelihood
    ``log L + alpha * sum log theta``; ``lower_bounds_`` and :meth:`score`
    report the plain log-likelihood, which then need not increase at every
    iteration (it may dip slightly near the optimum). The pseudo-counts are
    counted against the sample weights as the engine holds them: rescaled by
    a power of two so that their mean lies in [1, 2) (the scale of the
    weights never matters). With ``alpha > 0`` integer weights of mean 2 or
    more therefore act like repeated rows with ``alpha`` scaled up by that
    power of two; with ``alpha=0`` they are exactly repeated rows.
    :meth:`partial_fit` needs ``alpha=0``.

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import CategoricalMixture
    >>> X = np.array([["yes", "a"], ["yes", "a"], ["yes", "a"], ["yes", "b"],
    ...               ["no", "c"], ["no", "c"], ["no", "c"], ["no", "b"]])
    >>> lca = CategoricalMixture(n_components=2, n_init=3, random_state=0).fit(X)
    >>> lca.categories_
    [array(['no', 'yes'], dtype=object), array(['a', 'b', 'c'], dtype=object)]
    >>> lca.weights_.round(2)
    array([0.5, 0.5])
    >>> lca.category_probs_[1].round(2)
    array([[0.  , 0.25, 0.75],
           [0.75, 0.25, 0.  ]])
    >>> lca.predict([["yes", "a"], ["no", "c"], ["no", "b"]])
    array([1, 0, 0])
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0.0, None, closed="left")],
        "categories": [StrOptions({"auto"}), list, tuple],
        "handle_unknown": [StrOptions({"error", "ignore"})],
        "probs_init": ["array-like", list, None],
    }

    _parameter_groups = ("probs",)
    _supports_missing = True
    _family_name = "categorical"

    def __init__(
        self,
        n_components: int = 1,
        *,
        alpha: float = 0.0,
        categories="auto",
        handle_unknown: str = "error",
        probs_init=None,
        **params,
    ):
        super().__init__(n_components, **params)
        self.alpha = alpha
        self.categories = categories
        self.handle_unknown = handle_unknown
        self.probs_init = probs_init

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        return tags

    # ------------------------------------------------------------ encoding
    def _set_categories(self, categories) -> None:
        old = getattr(self, "categories_", None)
        if self.warm_start and hasattr(self, "converged_") and old is not None:
            # A warm start continues from probs_, laid out by the old
            # categories: the new data must have the same ones.
            same = len(old) == len(categories) and all(
                a.shape == b.shape and np.array_equal(a, b)
                for a, b in zip(old, categories, strict=True)
            )
            if not same:
                raise ValueError(
                    "warm_start=True continues from the fitted probabilities, "
                    "but the categories of this X differ from categories_ "
                    "(fitted on other labels). Give the categories with the "
                    "parameter 'categories', or set warm_start=False."
                )
        self.categories_ = categories
        self.n_categories_ = np.array([len(c) for c in categories], dtype=np.int64)
        self.category_offsets_ = np.concatenate(
            [[0], np.cumsum(self.n_categories_)]
        ).astype(np.int64)

    def _learn_categories(self, values, missing, names, *, labels: bool):
        """The categories of each column: learned ('auto') or the given ones."""
        d = values.shape[1]
        if not isinstance(self.categories, str):
            return _check_categories(self.categories, d)
        if not labels:
            fast = _learn_integer_categories(values, missing)
            if fast is not None:
                return fast
        columns, missing = _by_column(values), _by_column(missing)
        cats = []
        for j in range(d):
            kind = _column_kind(columns[j], missing[j], j, names) if labels else "num"
            cats.append(_learn_categories(columns[j], missing[j], kind))
        return cats

    def _encode(
        self,
        values,
        missing,
        names,
        categories,
        *,
        check_kinds: bool,
        all_known: bool = False,
    ):
        """Codes (float, NaN where missing) of a 2-d array of labels.

        An unknown label raises a ``ValueError`` naming its place unless
        ``handle_unknown='ignore'`` (then it counts as missing). Returns None
        when the number of columns is wrong (the shape check names it).
        ``all_known``: every label of ``values`` (floats) is known to be one
        of ``categories`` (learned from them).
        """
        d = values.shape[1]
        if d != len(categories):
            return None
        codes = None
        if all_known and values.dtype.kind == "f" and _are_codes(categories):
            # Each label is its own code (+ 0.0 turns a -0.0 label into 0).
            codes = values.astype(np.float64) + 0.0
        elif not check_kinds:
            codes = _encode_integers(values, missing, categories)
        if codes is None:
            columns, missing_columns = _by_column(values), _by_column(missing)
            codes = np.empty((d, values.shape[0]), dtype=np.float64)
            for j in range(d):
                if check_kinds:
                    _column_kind(columns[j], missing_columns[j], j, names)
                codes[j] = _encode_column(columns[j], missing_columns[j], categories[j])
            codes = np.ascontiguousarray(codes.T)  # rows in memory order, as X
        unknown = codes == -2
        if unknown.any():
            if self.handle_unknown == "ignore":
                codes[unknown] = np.nan
            else:
                rows, cols = np.nonzero(unknown)
                i, j = int(rows[0]), int(cols[0])
                more = (
                    f" (and {len(rows) - 1} other unknown entries)"
                    if len(rows) > 1
                    else ""
                )
                known = categories[j].tolist()
                shown = known if len(known) <= 10 else [*known[:10], "..."]
                raise ValueError(
                    f"Unknown category {_plain(values[i, j])!r} at row {i}, "
                    f"{_describe_column(j, names)} of X{more}: "
                    f"{type(self).__name__} knows the categories {shown} there. "
                    "Give every category in the parameter 'categories', or set "
                    "handle_unknown='ignore' to treat unknown values as missing."
                )
        return codes

    def _validate_pair(self, X, *, reset: bool):
        """``(codes, raw)``: validated codes and the validated labels of ``X``.

        Label input (strings, or mixed object columns) is encoded first, then
        validated like numbers; numeric input is validated first (scikit-learn's
        checks, converted to floats), then encoded. At ``reset`` the
        categories are stored only once ``X`` passed every check.
        """
        names = None
        columns = getattr(X, "columns", None)
        if columns is not None:
            names = [str(c) for c in columns]
        elif not reset:
            names = estimator_feature_names(self)
        values = _label_values(X)
        if values is None:
            raw = super()._validate_input(X, reset=reset)
            missing = np.isnan(raw)
            if reset:
                cats = self._learn_categories(raw, missing, names, labels=False)
                self._set_categories(cats)
            # Categories learned from these rows hold every label in them.
            codes = self._encode(
                raw,
                missing,
                names,
                self.categories_,
                check_kinds=False,
                all_known=reset and isinstance(self.categories, str),
            )
            if codes is None:
                return raw, raw
            return codes.astype(raw.dtype, copy=False), raw
        if values.ndim != 2:
            super()._validate_input(np.zeros(values.shape), reset=reset)
        missing = np.vectorize(_is_missing, otypes=[bool])(values)
        if values.size == 0:
            missing = np.zeros(values.shape, dtype=bool)
        if reset:
            cats = self._learn_categories(values, missing, names, labels=True)
        else:
            cats = self.categories_
        codes = self._encode(values, missing, names, cats, check_kinds=not reset)
        if codes is None:
            codes = np.zeros(values.shape)
        if columns is not None:
            import pandas as pd

            codes = pd.DataFrame(codes, columns=list(columns), copy=False)
        codes = super()._validate_input(codes, reset=reset)
        if reset:
            self._set_categories(cats)
        raw = values.copy()
        raw[missing] = np.nan
        return codes, raw

    def _validate_input(self, X, *, reset: bool):
        return self._validate_pair(X, reset=reset)[0]

    def _validated_fit_data(self, X, sample_weight, *, reset: bool):
        if not is_dask(X):
            return super()._validated_fit_data(X, sample_weight, reset=reset)
        # A Dask array of numeric labels: the categories come from one pass
        # (the distinct values of each column), then the array is encoded
        # lazily block by block (each block validated as in memory), and the
        # engine fits the codes.
        import dask
        import dask.array as da

        X = dask_check_X(
            X,
            name=type(self).__name__,
            n_features=None if reset else self.n_features_in_,
            ensure_min_samples=2 if reset else 1,
        )
        d = int(X.shape[1])
        if reset:
            self.n_features_in_ = d
            self.__dict__.pop("feature_names_in_", None)
            if isinstance(self.categories, str):  # 'auto'
                found = dask.compute(*[da.unique(X[:, j]) for j in range(d)])
                cats = [np.unique(u[~np.isnan(u)].astype(np.float64)) for u in found]
            else:
                cats = _check_categories(self.categories, d)
            self._set_categories(cats)
        codes = dask_map_rows(
            _encode_block, X, shared=(self._without_fit_state(),), n_columns=d
        )
        sample_weight = dask_weights(sample_weight, codes)
        summary = dask_validate(_no_block_check, codes, sample_weight)
        return codes, sample_weight, summary["npos"]

    def _decode(self, codes):
        """Labels of integer-valued ``codes`` (NaN stays missing).

        Returns floats when every column has numeric categories, else an
        object array (strings, and NaN where missing).
        """
        numeric = all(c.dtype.kind == "f" for c in self.categories_)
        out = np.empty(codes.shape, dtype=np.float64 if numeric else object)
        for j, cats in enumerate(self.categories_):
            col = codes[:, j]
            known = ~np.isnan(col)
            out[:, j] = np.nan
            out[known, j] = cats[col[known].astype(np.int64)]
        return out

    # ------------------------------------------------------------ the family
    def _dense(self) -> bool:
        """Whether E-steps use grouped answers (narrow items), else sparse
        one-hot rows (:data:`DENSE_COLUMNS_PER_ITEM`)."""
        answerable = int(np.count_nonzero(self.n_categories_))
        width = int(self.category_offsets_[-1])
        return width <= DENSE_COLUMNS_PER_ITEM * max(answerable, 1)

    def _one_hot(self, X, cache):
        """The chunk's one-hot answers, a CSR matrix (one term per answer).

        Kept in the fit-long memo when there is one (the rows do not change
        between passes), else in the chunk's cache, so that the log-densities
        and the statistics of one E-step build them once.
        """

        def build():
            offsets = self.category_offsets_[:-1]
            index = category_index(X, offsets, self.n_categories_)
            return one_hot_sparse(index, int(self.category_offsets_[-1]), X.dtype)

        return memoized(cache, "one_hot", build, large=True)

    def _grouped(self, X, cache):
        """The chunk's answers grouped (:func:`grouped_answers`), a dict.

        ``"A"`` one 1 per row and group (CSR) and ``"A_T"`` its transpose
        (CSC); ``"states_T"`` the column of ``A`` of each row as a (1, n)
        array when there is one group, else None;
        ``"B"`` the categories of each joint state (CSR) and ``"B_T"`` its
        transpose (a dense array when small); ``"key"`` which items have a
        "missing" state (the grouping). Kept like :meth:`_one_hot`.
        """

        def build():
            offsets = self.category_offsets_[:-1]
            index = category_index(X, offsets, self.n_categories_)
            limit = GROUP_STATES
            states, n_states, _ = grouped_answers(
                index, offsets, self.n_categories_, limit
            )
            B, B_T = _state_matrices(
                n_states.tobytes(),
                np.asarray(self.n_categories_, dtype=np.int64).tobytes(),
                limit,
                np.dtype(X.dtype).str,
            )
            A = state_indicator(states, B.shape[0], X.dtype)
            out = {
                "A": A,
                "A_T": A.T,
                # One group (a mixture's few items): the log-densities are a
                # look-up by state (kept only then: memory).
                "states_T": np.ascontiguousarray(states.T)
                if states.shape[1] == 1
                else None,
                "B": B,
                "B_T": B_T,
                "key": n_states.tobytes(),
            }
            return out

        return memoized(cache, "grouped", build, large=True)

    def _em_prepare(self, params):
        # The joint states' log-densities depend on the grouping, which may
        # differ between chunks (items with missing answers): made once per
        # grouping and pass, shared by the chunks.
        return {**params, "_tables": {}}

    def _state_log_prob(self, B, key, params):
        """``B @ log(probs).T``: each joint state's log-density, (n_states, K)."""
        tables = params.get("_tables")
        if tables is not None and key in tables:
            return tables[key]
        table = np.asarray(B @ np.log(params["probs"]).T)
        if tables is not None:
            tables[key] = table
        return table

    def _init_features(self, X):
        # Codes have no order: the start clusters the one-hot rows (sparse,
        # which scikit-learn's k-means takes; no dense n x sum_j C_j copy).
        index = category_index(X, self.category_offsets_[:-1], self.n_categories_)
        return one_hot_sparse(index, int(self.category_offsets_[-1]), X.dtype)

    def _em_initialize(self, X, sample_weight, random_state):
        # k-means on a sample of rows when there are many (documented in the
        # class's init_params).
        params = sampled_kmeans_start(self, X, sample_weight, random_state)
        if params is None:
            return super()._em_initialize(X, sample_weight, random_state)
        return params

    def _em_row_bytes(self, X, params) -> int:
        k, d, size = self.n_components, X.shape[1], X.dtype.itemsize
        if self._dense():
            # A value and a column per group of items (at most one per item),
            # the codes, the log-densities and responsibilities. Larger
            # chunks than a dense layout's: each pass calls scipy's sparse
            # products per chunk (measured on 200,000 rows of 40 items, 2
            # cores: chunks of 25,000 rows 1.35x faster than of 8,334).
            return (size + 4) * self._n_groups() + size * (d + 4 * k)
        # The sparse one-hot rows (a value and a column per answer), the
        # log-densities and responsibilities, and the codes.
        return (size + 4) * d + size * (6 * k + 2 * d)

    def _n_groups(self) -> int:
        """Groups of items of the grouped answers (items with missing answers
        counted with their extra state)."""
        return len(item_groups(np.asarray(self.n_categories_) + 1, GROUP_STATES))

    def _initial_params(self, X) -> dict:
        if self.probs_init is None:
            return {}
        k, dt = self.n_components, X.dtype
        total = int(self.category_offsets_[-1])
        value = self.probs_init
        if isinstance(value, list | tuple) and len(value) == len(self.categories_):
            try:
                parts = [np.asarray(v, dtype=np.float64) for v in value]
                if all(p.ndim == 2 for p in parts):
                    value = np.concatenate(parts, axis=1)
            except (TypeError, ValueError):
                pass
        try:
            probs = np.array(value, dtype=np.float64, copy=True)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"The parameter 'probs_init' must be a numeric array of shape "
                f"({k}, {total}): {exc}"
            ) from exc
        if probs.shape != (k, total):
            raise ValueError(
                f"The parameter 'probs_init' should have the shape of ({k}, "
                f"{total}) (n_components, total number of categories), or be a "
                f"list of {len(self.categories_)} arrays of shape (n_components, "
                f"C_j); got shape {probs.shape}."
            )
        if not np.all(np.isfinite(probs)) or np.any(probs < 0):
            raise ValueError(
                "The parameter 'probs_init' must hold finite, non-negative "
                "probabilities."
            )
        G, _ = _item_matrix(self.n_categories_)
        sums = probs @ G
        bad = np.abs(sums - 1) > 1e-6
        bad &= self.n_categories_ > 0
        if bad.any():
            kk, j = (int(v[0]) for v in np.nonzero(bad))
            raise ValueError(
                f"The parameter 'probs_init' must sum to 1 within each item, but "
                f"class {kk}'s probabilities of column {j} sum to "
                f"{float(sums[kk, j])!r}."
            )
        return {"probs": normalize_items(probs, self.n_categories_).astype(dt)}

    def _component_log_prob(self, X, params, cache=None):
        if self._dense():
            grouped = self._grouped(X, cache)
            table = self._state_log_prob(grouped["B"], grouped["key"], params)
            # A sum of one table entry per group of items, handed on
            # F-ordered (as the sparse path): the normalisation, and the sum
            # with other families' component-major log-densities in a
            # MixedTypeMixture, then walk contiguous columns (measured 1.05-1.1x
            # per pass on one core).
            states_T = grouped["states_T"]
            if states_T is not None:
                # One group (a mixture's few items): a look-up, no sum.
                return np.take(np.ascontiguousarray(table.T), states_T[0], axis=1).T
            return np.asfortranarray(grouped["A"] @ table)
        # F-ordered: the normalisation then walks contiguous columns.
        one_hot_rows = self._one_hot(X, cache)
        return np.asfortranarray(categorical_log_prob(one_hot_rows, params["probs"]))

    def _component_stats(self, X, resp, params, cache=None) -> dict:
        if self._dense():
            grouped = self._grouped(X, cache)
            # The responsibilities summed by joint state (one term per row and
            # group), then by category: S = Z.T @ resp with Z = A @ B.
            by_state = np.asarray(grouped["A_T"] @ resp)
            return {"counts": np.asarray(grouped["B_T"] @ by_state).T.copy()}
        # (Z^T resp)^T: a sparse-times-dense product, n * d * K work.
        one_hot_rows = self._one_hot(X, cache)
        return {"counts": np.asarray(one_hot_rows.T @ resp).T.copy()}

    def _component_mstep(self, stats, params):
        return {
            "probs": categorical_probs(stats["counts"], self.n_categories_, self.alpha)
        }

    def _project_params(self, params):
        return {**params, "probs": normalize_items(params["probs"], self.n_categories_)}

    def _n_free_parameters(self, group: str, value) -> int:
        free = np.maximum(np.asarray(self.n_categories_) - 1, 0).sum()
        return int(np.shape(value)[0] * free)

    def _free_parametrisation(self, group: str, value):
        """Each column's probabilities sum to one: all but its last category.

        The last category's probability is one minus the others', so the
        log-likelihood is differentiated along the simplex only (all entries
        free would make the information matrix singular).
        """
        value = np.asarray(value, dtype=np.float64)
        offsets = np.asarray(self.category_offsets_)
        last = offsets[1:] - 1
        free = np.setdiff1d(np.arange(value.shape[1]), last)

        def to_value(theta):
            out = np.zeros(value.shape)
            out[:, free] = theta.reshape(value.shape[0], free.size)
            for j, end in enumerate(last):
                out[:, end] = 1.0 - out[:, offsets[j] : end].sum(axis=1)
            return out

        return value[:, free].ravel().copy(), to_value

    def _derived_attributes(self, params) -> dict:
        probs = params["probs"]
        offsets = self.category_offsets_
        return {
            "category_probs_": [
                probs[:, offsets[j] : offsets[j + 1]]
                for j in range(len(self.n_categories_))
            ]
        }

    def _conditional_means(self, X, params, cache):
        # Within a class the items are independent: the most probable answer
        # to a missing item is the class's modal category (observed entries
        # keep their code). :meth:`impute` uses the mixture's probabilities.
        probs = params["probs"]
        offsets = self.category_offsets_
        modes = np.array(
            [
                np.argmax(probs[:, offsets[j] : offsets[j + 1]], axis=1)
                if self.n_categories_[j]
                else np.full(probs.shape[0], np.nan)
                for j in range(len(self.n_categories_))
            ],
            dtype=X.dtype,
        ).T
        out = np.broadcast_to(modes, (X.shape[0], *modes.shape)).copy()
        observed = ~np.isnan(X)
        out = np.where(observed[:, np.newaxis, :], X[:, np.newaxis, :], out)
        return out

    def _sample_component(self, rng, params, k, n_samples):
        probs = params["probs"][k]
        offsets = self.category_offsets_
        out = np.empty((n_samples, len(self.n_categories_)))
        for j in range(len(self.n_categories_)):
            p = np.asarray(probs[offsets[j] : offsets[j + 1]], dtype=np.float64)
            if p.size == 0:
                out[:, j] = np.nan
                continue
            cumulative = np.cumsum(p / p.sum())
            draws = rng.uniform(size=n_samples)
            out[:, j] = np.minimum(
                np.searchsorted(cumulative, draws, side="right"), p.size - 1
            )
        return out

    # ------------------------------------------------------------ public extras
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one batch of rows (stepwise EM).

        As :meth:`emmix.base.BaseMixture.partial_fit`; only with ``alpha=0``:
        the running statistics are kept per unit of weight, against which
        ``alpha`` pseudo-counts would have no fixed meaning.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch of rows.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of the batch.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if self.alpha != 0:
            raise ValueError(
                f"partial_fit needs alpha=0, got alpha={self.alpha!r}: stepwise EM "
                "keeps its statistics per unit of weight, so pseudo-counts have "
                "no fixed size there. Use fit, or alpha=0."
            )
        return super().partial_fit(X, y, sample_weight=sample_weight)

    def sample(self, n_samples: int = 1):
        """Draw samples from the fitted model.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Drawn answers, as labels of ``categories_`` (floats when every
            column's categories are numbers, else an object array), grouped
            by class.
        y : ndarray of shape (n_samples,)
            Class of each drawn sample.
        """
        codes, y = super().sample(n_samples)
        return self._decode(codes), y

    def impute(self, X):
        """Fill missing answers with their most probable category.

        A missing answer to item ``j`` becomes the category ``c`` of largest
        ``p(x_j = c | x_obs) = sum_k p(k | x_obs) theta_kjc``: the mixture's
        posterior predictive distribution of the item given the row's
        observed answers (the posterior-weighted category probabilities; a
        mean of codes would mean nothing). Observed answers are returned
        unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Answers with NaN (or None) for missing ones.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
            A new array of labels (floats when every column's categories are
            numbers, else objects).
        """
        check_is_fitted(self)
        if is_dask(X):
            return self._dask_map(X, "impute", n_columns=self.n_features_in_)
        codes, raw = self._validate_pair(X, reset=False)
        out = np.array(raw, dtype=raw.dtype, copy=True)
        if out.dtype.kind == "f":
            missing = np.isnan(out)
        else:
            missing = np.vectorize(_is_missing, otypes=[bool])(out)
        rows = np.flatnonzero(missing.any(axis=1))
        if rows.size == 0:
            return self._as_output(out)
        # The posterior from the codes themselves (predict_proba would read
        # them as labels again).
        params = self._em_load()
        part = codes[rows]
        with np.errstate(divide="ignore"):
            log_weights = np.log(params["weights"]).astype(part.dtype)
        _, resp = normalize_log_prob(
            self._component_log_prob(part, params) + log_weights
        )
        probs = np.asarray(self.probs_, dtype=np.float64)
        predictive = resp.astype(np.float64) @ probs  # (n_rows, n_columns)
        offsets = self.category_offsets_
        for j, cats in enumerate(self.categories_):
            at = np.flatnonzero(missing[rows, j])
            if at.size == 0 or cats.shape[0] == 0:
                continue
            block = predictive[at, offsets[j] : offsets[j + 1]]
            out[rows[at], j] = cats[np.argmax(block, axis=1)]
        return self._as_output(out)

    def _as_output(self, out):
        if out.dtype.kind == "O" and all(c.dtype.kind == "f" for c in self.categories_):
            try:
                return out.astype(np.float64)
            except (TypeError, ValueError):
                return out
        return out

    def entropy_r2(self, X, sample_weight=None) -> float:
        """Entropy R^2 of the classification of ``X`` (1 = perfectly separated).

        ``1 - sum_i E_i / (n log K)`` with ``E_i = -sum_k r_ik log r_ik`` the
        entropy of row ``i``'s posterior class probabilities ``r_ik``
        (:meth:`predict_proba`), as reported by LatentGOLD and StepMix. 1 when
        every row belongs to one class with certainty, 0 when every posterior
        is uniform; 1 for a single class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Answers (normally the training data).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the sums.

        Returns
        -------
        r2 : float
        """
        resp = self.predict_proba(X)
        if sample_weight is not None:
            from .._validation import check_sample_weight

            sample_weight = check_sample_weight(sample_weight, resp)
        return entropy_r2(resp, sample_weight)

    # ------------------------------------------------------------ description
    def _component_label(self, k: int) -> str:
        return f"class {k + 1}"

    def _describe_component(self, k: int) -> str:
        names = estimator_feature_names(self)
        parts = []
        for j, (cats, p) in enumerate(
            zip(self.categories_, self.category_probs_, strict=True)
        ):
            if cats.shape[0] == 0:
                continue
            c = int(np.argmax(p[k]))
            name = names[j] if names is not None else f"x{j}"
            label = cats[c]
            label = f"{label:g}" if isinstance(label, float) else repr(label)
            parts.append(f"{name}={label} ({float(p[k, c]):.2f})")
        return (
            f"weight {float(self.weights_[k]):.3f}, most probable answers: "
            + ", ".join(parts)
        )

    def _plot_components(self, X, ax, features, names):
        from ..plotting import _colors, _feature_name

        j = int(features[0])
        cats = self.categories_[j]
        probs = np.asarray(self.category_probs_[j], dtype=np.float64)
        k, c = probs.shape
        width = 0.8 / (k + 1)
        positions = np.arange(c)
        for kk, color in zip(range(k), _colors(k), strict=False):
            ax.bar(
                positions + (kk - (k - 1) / 2) * width,
                probs[kk],
                width=width,
                color=color,
                label=f"{self._component_label(kk)} (w={self.weights_[kk]:.2f})",
            )
        # The observed share of each category next to the fitted marginal.
        codes = self._validate_input(X, reset=False)[:, j]
        observed = codes[~np.isnan(codes)]
        if observed.size:
            share = np.bincount(observed.astype(np.int64), minlength=c) / observed.size
            ax.scatter(positions, share, color="black", marker="_", s=400, zorder=3)
            ax.scatter([], [], color="black", marker="_", label="observed share")
        labels = [f"{v:g}" if isinstance(v, float) else str(v) for v in cats]
        ax.set_xticks(positions, labels)
        ax.set_xlabel(_feature_name(self, j, names))
        ax.set_ylabel("probability of the category")
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize="small")
        ax.set_title(
            f"category probabilities per class, {codes.shape[0]} rows",
            fontsize="medium",
        )
