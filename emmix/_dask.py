"""The Dask data backend: row blocks of a ``dask.array.Array``, where they live.

EM's statistics are sums over rows, so a fit on a Dask array needs nothing new
from a family: in each pass the estimator's own in-memory E-step runs on every
row block where that block lives, and the per-block statistics are added by
Dask in a tree of small tasks (``SPLIT_EVERY`` parts per task). Only the
parameters (one copy per worker) and the summed statistics travel; the rows
never leave the workers.

This module knows no estimator. It offers what an estimator needs from a
distributed array, each taking plain functions to run on the blocks:

* :func:`dask_check_X`, :func:`dask_weights`: lazy checks of dimensions,
  dtype and weights (nothing is computed);
* :func:`dask_validate`: one reduction pass running a block check (the
  estimator's in-memory validation) on every block, returning the column
  minima and maxima and the weight totals;
* :func:`dask_block_sum`: a function ``(stats, loglik)`` of each block, summed;
* :func:`dask_sample`: a uniform random sample of rows, gathered;
* :func:`dask_map_rows`: a function of each block, lazily (predictions);
* :func:`dask_weighted_mean`, :func:`dask_column_summary`,
  :func:`dask_observed_moments`: reductions over all rows.

Errors raised on a block get a note naming the block's rows. Dask is imported
lazily: importing emmix never needs it.
"""

from __future__ import annotations

import sys
import uuid
import warnings

import numpy as np

__all__ = [
    "SPLIT_EVERY",
    "dask_block_sum",
    "dask_check_X",
    "dask_column_summary",
    "dask_map_rows",
    "dask_observed_moments",
    "dask_sample",
    "dask_validate",
    "dask_weighted_mean",
    "dask_weights",
    "is_dask",
]

#: Parts added by one task of the tree sum.
SPLIT_EVERY = 8

_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def is_dask(X) -> bool:
    """Whether ``X`` is a ``dask.array.Array`` (without importing Dask)."""
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(X, da.Array)


def _dask():
    import dask
    import dask.array as da

    return dask, da


# -------------------------------------------------------------- the graph
def _data_node(value, what: str):
    """A graph node holding ``value``: sent once to each worker that needs it."""
    dask, _ = _dask()
    return dask.delayed(value, name=f"emmix-{what}-{uuid.uuid4().hex}", traverse=False)


def _tree_reduce(parts, combine, split_every: int = SPLIT_EVERY):
    """A tree of ``combine`` tasks over delayed ``parts``, ``split_every`` per task."""
    dask, _ = _dask()
    parts = list(parts)
    while len(parts) > 1:
        parts = [
            dask.delayed(combine)(*parts[i : i + split_every])
            for i in range(0, len(parts), split_every)
        ]
    return parts[0]


def _row_starts(chunks) -> list[int]:
    return np.concatenate([[0], np.cumsum(chunks)]).astype(int).tolist()


def _with_rows(exc: Exception, start: int, n_rows: int) -> Exception:
    """``exc`` with a note saying which rows of the Dask array it is about."""
    note = (
        f" [In the Dask block of rows {start} to {start + n_rows - 1} of X: "
        "row numbers above count from the block's first row.]"
    )
    try:
        return type(exc)(f"{exc}{note}")
    except Exception:  # pragma: no cover - exception types with other signatures
        return ValueError(f"{exc}{note}")


def _row_blocks(*arrays):
    """Delayed row blocks of Dask arrays chunked by rows only, block by block.

    The arrays are optimised together, once: optimising each on its own can
    fuse their shared inputs into tasks with equal names but different
    contents, which the distributed scheduler warns about.
    """
    dask, _ = _dask()
    optimised = dask.optimize(*arrays)
    blocks = [list(a.to_delayed(optimize_graph=False).ravel()) for a in optimised]
    return list(zip(*blocks, strict=True))


# ------------------------------------------------------------- validation
def dask_check_X(X, *, name: str, n_features: int | None, ensure_min_samples: int):
    """Lazy checks of a Dask array: 2-d, numeric, known chunks, its width.

    Parameters
    ----------
    X : dask.array.Array
    name : str
        The estimator's name, for messages.
    n_features : int or None
        The number of features expected (None at ``fit``).
    ensure_min_samples : int

    Returns
    -------
    X : dask.array.Array
        Float64 or float32 (other numeric types as float64), chunked by rows
        only.
    """
    if X.ndim != 2:
        hint = (
            " Reshape it with X.reshape(-1, 1) for one feature." if X.ndim == 1 else ""
        )
        raise ValueError(
            "X must be a 2-d array of shape (n_samples, n_features), but got a "
            f"{X.ndim}-d Dask array of shape {X.shape}.{hint}"
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} needs real numbers, but the Dask array X has dtype {X.dtype}. "
            "Convert it (e.g. X.astype('float64')) before fitting."
        )
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            "The Dask array X has unknown chunk sizes (NaN rows per block), so "
            f"{name} cannot count its rows. Call X.compute_chunk_sizes() first, "
            "or build it with known lengths (e.g. df.to_dask_array(lengths=True))."
        )
    n_samples, width = (int(n) for n in X.shape)
    if width == 0:
        raise ValueError(
            f"X has no features (shape {X.shape}): {name} needs at least one column."
        )
    if n_samples < ensure_min_samples:
        what = "X is empty" if n_samples == 0 else f"X has {n_samples} sample"
        what += "s" * (n_samples not in (0, 1))
        raise ValueError(
            f"{what} (shape {X.shape}), but {name} needs at least "
            f"{ensure_min_samples} samples."
        )
    if n_features is not None and width != n_features:
        raise ValueError(
            f"X has {width} features, but {name} is expecting {n_features} "
            "features as input."
        )
    if X.dtype not in _FLOATS:
        X = X.astype(np.float64)
    if X.numblocks[1] > 1:
        X = X.rechunk({0: X.chunks[0], 1: -1})
    return X


def dask_weights(sample_weight, X):
    """Sample weights as a Dask array of X's dtype, aligned with X's row blocks.

    Value checks are left to the validation pass.
    """
    _, da = _dask()
    n_samples = X.shape[0]
    if sample_weight is None:
        return da.ones(n_samples, chunks=(X.chunks[0],), dtype=X.dtype)
    if np.isscalar(sample_weight):
        return da.full(n_samples, sample_weight, chunks=(X.chunks[0],), dtype=X.dtype)
    if not is_dask(sample_weight):
        sample_weight = np.asarray(sample_weight)
    if tuple(sample_weight.shape) != (n_samples,):
        raise ValueError(
            "sample_weight must be a 1-d array with one weight per row of X: "
            f"got shape {tuple(sample_weight.shape)} for X with {n_samples} rows."
        )
    if sample_weight.dtype.kind not in "biuf":
        raise ValueError(
            f"sample_weight must hold real numbers, got dtype {sample_weight.dtype}."
        )
    if not is_dask(sample_weight):
        return da.from_array(sample_weight.astype(X.dtype), chunks=(X.chunks[0],))
    if any(np.isnan(c) for c in sample_weight.chunks[0]):
        raise ValueError(
            "The Dask array sample_weight has unknown chunk sizes: call "
            "sample_weight.compute_chunk_sizes() first."
        )
    if sample_weight.chunks[0] != X.chunks[0]:
        sample_weight = sample_weight.rechunk((X.chunks[0],))
    return sample_weight.astype(X.dtype)


def _check_weight_block(w, start):
    """Finite, non-negative weights; messages give the row in the whole array."""
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"sample_weight must be finite, but sample_weight[{start + i}] = {w[i]}."
        )
    if np.any(w < 0):
        i = int(np.flatnonzero(w < 0)[0])
        raise ValueError(
            "sample_weight must be non-negative, but "
            f"sample_weight[{start + i}] = {w[i]}."
        )


def _block_summary(check_block, x, w, start):
    """Run ``check_block`` on one block; return what a fit needs to know.

    Runs on a worker. Returns the column minima and maxima (NaN ignored), the
    total weight and the number of rows with a positive weight.
    """
    if x.shape[0] == 0:
        return None
    try:
        check_block(x)
    except (ValueError, TypeError) as exc:
        raise _with_rows(exc, start, x.shape[0]) from None
    _check_weight_block(w, start)
    with np.errstate(invalid="ignore", over="ignore"):  # wsum may overflow
        return {
            "min": np.fmin.reduce(x, axis=0),
            "max": np.fmax.reduce(x, axis=0),
            "wsum": float(np.sum(w, dtype=np.float64)),
            "npos": int(np.count_nonzero(w > 0)),
        }


def _combine_summaries(*parts):
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = dict(parts[0])
    for part in parts[1:]:
        out["min"] = np.fmin(out["min"], part["min"])
        out["max"] = np.fmax(out["max"], part["max"])
        out["wsum"] += part["wsum"]
        out["npos"] += part["npos"]
    return out


def dask_validate(check_block, X, sample_weight) -> dict:
    """One reduction pass: ``check_block(x)`` on every block, and a summary.

    Parameters
    ----------
    check_block : callable
        The in-memory check of a block of rows (raises on bad data); it
        travels to the workers, so it must pickle.
    X, sample_weight : dask.array.Array
        As returned by :func:`dask_check_X` and :func:`dask_weights`.

    Returns
    -------
    summary : dict
        ``min`` and ``max`` (per column, NaN ignored), ``wsum`` (total
        weight) and ``npos`` (rows with a positive weight).
    """
    dask, _ = _dask()
    check = _data_node(check_block, "check")
    starts = _row_starts(X.chunks[0])
    parts = [
        dask.delayed(_block_summary)(check, x, w, start)
        for (x, w), start in zip(_row_blocks(X, sample_weight), starts, strict=False)
    ]
    (summary,) = dask.compute(_tree_reduce(parts, _combine_summaries))
    if summary["wsum"] <= 0 or summary["npos"] == 0:
        raise ValueError(
            "sample_weight sums to zero: at least one row needs a positive weight."
        )
    return summary


# ---------------------------------------------------------------- the pass
def _block_call(fn, shared, x, w):
    if x.shape[0] == 0:
        return None
    return fn(*shared, x, w)


def _combine_stats(*parts):
    """Sum of ``(stats, loglik)`` parts (new arrays; the inputs are not modified)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    stats = {key: np.array(value, copy=True) for key, value in parts[0][0].items()}
    loglik = float(parts[0][1])
    for part_stats, part_loglik in parts[1:]:
        for key, value in part_stats.items():
            stats[key] = stats[key] + value
        loglik += float(part_loglik)
    return stats, loglik


def dask_block_sum(fn, X, sample_weight, *, shared=()):
    """``fn(*shared, x, w) -> (stats, loglik)`` on every row block, summed.

    ``shared`` (an estimator, its parameters) travels once per worker as one
    graph node; the per-block results are added in a tree of
    ``SPLIT_EVERY``-way sums, so only small arrays move.
    """
    dask, _ = _dask()
    shared = _data_node(tuple(shared), "shared")
    parts = [
        dask.delayed(_block_call)(fn, shared, x, w)
        for x, w in _row_blocks(X, sample_weight)
    ]
    (result,) = dask.compute(_tree_reduce(parts, _combine_stats))
    if result is None:  # pragma: no cover - validation requires rows
        raise ValueError("The Dask array X has no rows.")
    return result


# ---------------------------------------------------------------- sampling
def _sample_rows(n_samples: int, size: int, random_state) -> np.ndarray:
    """``size`` distinct row indices out of ``n_samples``, sorted.

    Drawn with replacement and de-duplicated (no permutation of all rows, so
    the cost does not grow with ``n_samples``); deterministic for a seed.
    """
    if size >= n_samples:
        return np.arange(n_samples)
    picked = np.unique(random_state.randint(0, n_samples, size=size + size // 8 + 16))
    while picked.size < size:
        more = random_state.randint(0, n_samples, size=size)
        picked = np.union1d(picked, more)
    if picked.size > size:
        picked = np.sort(random_state.choice(picked, size=size, replace=False))
    return picked


def dask_sample(X, sample_weight, size: int, random_state):
    """A uniform random sample of rows of X and their weights, as numpy arrays."""
    dask, _ = _dask()
    index = _sample_rows(X.shape[0], size, random_state)
    return dask.compute(X[index], sample_weight[index])


# ------------------------------------------------------------ lazy results
def _map_block(x, fn, shared, starts, block_id=None):
    """``fn(*shared, x, block_index)`` on one block (runs on a worker)."""
    index = block_id[0]
    try:
        return fn(*shared, x, index)
    except (ValueError, TypeError) as exc:
        raise _with_rows(exc, starts[index], x.shape[0]) from None


def dask_map_rows(fn, X, *, shared=(), n_columns=None, dtype=None):
    """Lazy ``fn(*shared, x, block_index)`` over the row blocks of ``X``.

    Parameters
    ----------
    fn : callable
        Returns one value per row (``n_columns=None``) or ``n_columns``.
    X : dask.array.Array of shape (n_samples, n_features)
        As returned by :func:`dask_check_X`.
    shared : tuple
        Arguments sent once per worker.
    n_columns : int or None
    dtype : dtype or None
        Dtype of the result; None for X's.

    Returns
    -------
    result : dask.array.Array
        Of shape (n_samples,) or (n_samples, n_columns), chunked like X's rows.
    """
    dtype = np.dtype(X.dtype if dtype is None else dtype)
    shared = _data_node(tuple(shared), "shared")
    starts = _row_starts(X.chunks[0])
    if n_columns is None:
        return X.map_blocks(
            _map_block,
            fn,
            shared,
            starts,
            drop_axis=1,
            chunks=(X.chunks[0],),
            dtype=dtype,
            meta=np.empty((0,), dtype),
        )
    return X.map_blocks(
        _map_block,
        fn,
        shared,
        starts,
        chunks=(X.chunks[0], (int(n_columns),)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
    )


def _checked_weights(w, starts, block_id=None):
    _check_weight_block(w, starts[block_id[0]])
    return w


def dask_weighted_mean(values, sample_weight=None) -> float:
    """The (weighted) mean of a lazy 1-d array, computed in float64."""
    dask, _ = _dask()
    if sample_weight is None:
        return float(values.mean(dtype=np.float64).compute())
    weights = dask_weights(sample_weight, values[:, np.newaxis])
    starts = _row_starts(weights.chunks[0])
    checked = weights.map_blocks(
        _checked_weights,
        starts,
        dtype=weights.dtype,
        meta=np.empty((0,), weights.dtype),
    )
    total, weight = dask.compute(
        (values.astype(np.float64) * checked).sum(), checked.sum(dtype=np.float64)
    )
    if not weight > 0:
        raise ValueError(
            "sample_weight sums to zero: at least one row needs a positive weight."
        )
    return float(total / weight)


# -------------------------------------------------------------- reductions
def dask_column_summary(X, mask, sample_weight) -> dict:
    """One reduction pass of per-column facts about the observed entries.

    Per column: the number of observed entries, the weighted observed total
    and sum, the observed range among rows with a positive weight, and the
    co-observation counts of every pair of columns; plus whether some row
    with an observed entry has a positive weight.
    """
    dask, da = _dask()
    observed = ~mask
    positive = sample_weight > 0
    observed_pos = observed & positive[:, np.newaxis]
    weights = observed * sample_weight[:, np.newaxis].astype(np.float64)
    values = da.where(observed_pos, X, np.nan)
    together_part = observed_pos.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return dask.compute(
            {
                "n_observed": observed.sum(axis=0),
                "total": weights.sum(axis=0),
                "sum": (weights * da.where(observed, X, 0.0)).sum(axis=0),
                "low": da.nanmin(values, axis=0),
                "high": da.nanmax(values, axis=0),
                "together": together_part.T @ together_part,
                "informative": (observed.any(axis=1) & positive).any(),
            }
        )[0]


def dask_observed_moments(X, sample_weight, mean=None, total=None):
    """Weighted means and variances of the observed entries of each column."""
    dask, da = _dask()
    observed = ~da.isnan(X)
    w = observed * sample_weight[:, np.newaxis].astype(np.float64)
    if mean is None or total is None:
        total, sums = dask.compute(
            w.sum(axis=0), (w * da.where(observed, X, 0.0)).sum(axis=0)
        )
        mean = sums / total
    centred = da.where(observed, X - mean, 0.0)
    (second,) = dask.compute((w * centred**2).sum(axis=0))
    return mean, second / total
