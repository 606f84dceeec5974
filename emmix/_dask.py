"""Fitting and predicting on Dask arrays (any Dask scheduler, e.g. dask.distributed).

EM's statistics are sums over rows, so a fit on a Dask array needs nothing new
from a family: in each pass the estimator's own in-memory E-step
(``_em_pass``, itself chunked for the cache) runs on every row block of the
array where that block lives, and the per-block statistics are added by Dask
in a tree of small tasks (``SPLIT_EVERY`` parts per task). Only the parameters
(one copy per worker) and the summed statistics travel; the rows never leave
the workers. Every engine feature built on ``_em_pass`` (plain EM, SQUAREM,
``partial_fit``, restarts, ``warm_start``) therefore works unchanged.

What is computed where:

* **Validation** never gathers the data. Dimensions, dtype and the number of
  features are checked lazily. The value checks (NaN or infinite entries,
  negative counts, heads above tosses, negative or non-finite sample weights)
  are the estimator's in-memory checks, run on each block in one reduction
  pass over the data at ``fit`` (a cheap pass that returns, per block, the
  column minima and maxima and the weight totals); whole-data checks (a
  column whose squares would overflow) run on those minima and maxima.
* **The start** of a mixture (``init_params``) is drawn on a uniform random
  sample of at most ``max(DASK_INIT_SAMPLE_ROWS, 100 * n_components)`` rows,
  chosen with ``random_state`` and gathered with one ``compute`` (the rows'
  sample weights come along); given ``*_init`` arrays for every parameter
  group, nothing is sampled. The imputer's deterministic start (observed
  means and variances) is computed with two reductions over all rows, so it
  equals the in-memory start up to rounding.
* **Predictions** (``predict``, ``predict_proba``, ``score_samples``,
  ``transform``) are lazy Dask arrays: the in-memory method mapped over the
  row blocks. ``score`` returns a number.

Dask is imported lazily: importing emmix never needs it.
"""

from __future__ import annotations

import copy
import sys
import uuid
import warnings

import numpy as np

__all__ = [
    "DASK_INIT_SAMPLE_ROWS",
    "SPLIT_EVERY",
    "dask_apply",
    "dask_em_pass",
    "dask_fit_imputer",
    "dask_fit_mixture",
    "dask_initialize",
    "dask_partial_fit_mixture",
    "dask_score_mixture",
    "is_dask",
]

#: Rows sampled (at least) to draw a mixture's start on Dask input.
DASK_INIT_SAMPLE_ROWS = 10_000
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


def _shippable(estimator):
    """A shallow copy of ``estimator`` without the fit's thread pool and memo.

    The memo is keyed by row ranges of the in-process data; on a worker the
    same ranges of another block would hit it, so it must not travel.
    """
    est = copy.copy(estimator)
    est.__dict__.pop("_em_pool", None)
    est.__dict__.pop("_em_memo", None)
    return est


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
def _dask_X(estimator, X, *, reset: bool, ensure_min_samples: int = 1):
    """Lazy checks of a Dask array: 2-d, numeric, known chunks, n_features.

    Returns ``X`` as float64 or float32 (other numeric types as float64),
    chunked by rows only. Sets ``n_features_in_`` (and drops
    ``feature_names_in_``) when ``reset``.
    """
    name = type(estimator).__name__
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
    n_samples, n_features = (int(n) for n in X.shape)
    if n_features == 0:
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
    if reset:
        estimator.n_features_in_ = n_features
        estimator.__dict__.pop("feature_names_in_", None)
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    if X.dtype not in _FLOATS:
        X = X.astype(np.float64)
    if X.numblocks[1] > 1:
        X = X.rechunk({0: X.chunks[0], 1: -1})
    return X


def _dask_weights(sample_weight, X):
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


def _block_summary(est, x, w, start):
    """Validate one block with the in-memory checks; return what the fit needs.

    Runs on a worker. Returns the column minima and maxima (NaN ignored), the
    total weight and the number of rows with a positive weight.
    """
    if x.shape[0] == 0:
        return None
    try:
        est._validate_input(x, reset=False)
    except (ValueError, TypeError) as exc:
        raise _with_rows(exc, start, x.shape[0]) from None
    _check_weight_block(w, start)
    with np.errstate(invalid="ignore"):
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


def dask_validate(
    estimator, X, sample_weight, *, reset: bool, n_components: int | None = None
):
    """Validate a Dask ``X`` and its weights for a fit without gathering them.

    One reduction pass runs the estimator's in-memory ``_validate_input`` on
    each block and returns the column minima and maxima; whole-data checks
    that only ``fit`` makes (``reset=True``, e.g. squares that overflow) run
    on the two rows ``[minima, maxima]``, which also sets ``n_features_in_``.

    Returns
    -------
    X : dask.array.Array
        Float64 or float32, chunked by rows only.
    sample_weight : dask.array.Array
        Weights of X's dtype aligned with X's row blocks.
    """
    dask, _ = _dask()
    X = _dask_X(estimator, X, reset=reset, ensure_min_samples=2 if reset else 1)
    sample_weight = _dask_weights(sample_weight, X)
    est = _data_node(_shippable(estimator), "estimator")
    starts = _row_starts(X.chunks[0])
    parts = [
        dask.delayed(_block_summary)(est, x, w, start)
        for (x, w), start in zip(_row_blocks(X, sample_weight), starts, strict=False)
    ]
    (summary,) = dask.compute(_tree_reduce(parts, _combine_summaries))
    if reset:
        surrogate = np.vstack([summary["min"], summary["max"]]).astype(X.dtype)
        estimator._validate_input(surrogate, reset=True)
    if summary["wsum"] <= 0 or summary["npos"] == 0:
        raise ValueError(
            "sample_weight sums to zero: at least one row needs a positive weight."
        )
    if n_components is not None:
        _check_n_components_lazy(X, n_components, summary["npos"])
    return X, sample_weight


def _check_n_components_lazy(X, n_components: int, n_positive: int) -> None:
    """The row counts of ``check_n_components``.

    Distinct rows are counted on the start's sample (``dask_initialize``).
    """
    if X.shape[0] < n_components:
        raise ValueError(
            "Expected n_samples >= n_components but got n_components = "
            f"{n_components}, n_samples = {X.shape[0]}. Lower n_components or "
            "provide more samples."
        )
    if n_positive < n_components:
        raise ValueError(
            f"Only {n_positive} rows have a positive sample_weight, fewer than "
            f"n_components={n_components}. Lower n_components or give more rows "
            "a positive weight."
        )


# ---------------------------------------------------------------- the pass
def _block_em_pass(est, x, w, params):
    """The in-memory E-step pass over one block (runs on a worker)."""
    if x.shape[0] == 0:
        return None
    return est._em_pass(x, w, params)


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


def dask_em_pass(estimator, X, sample_weight, params):
    """One E-step pass over a Dask array: per-block statistics, summed by Dask.

    The engine's ``_em_pass`` calls this for Dask input. Each block runs the
    estimator's in-memory ``_em_pass`` (which chunks it for the cache); the
    parameters travel once per worker as one graph node, and the per-block
    statistics are added in a tree of ``SPLIT_EVERY``-way sums, so only small
    arrays move.
    """
    dask, _ = _dask()
    est = _data_node(_shippable(estimator), "estimator")
    theta = _data_node(params, "params")
    parts = [
        dask.delayed(_block_em_pass)(est, x, w, theta)
        for x, w in _row_blocks(X, sample_weight)
    ]
    (result,) = dask.compute(_tree_reduce(parts, _combine_stats))
    if result is None:  # pragma: no cover - validation requires rows
        raise ValueError("The Dask array X has no rows.")
    return result


# ---------------------------------------------------------------- the start
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


def dask_initialize(estimator, X, sample_weight, random_state):
    """First parameters of a run on a Dask array (the engine's start hook).

    A start precomputed by the fit (``_dask_start``, the imputer's moments) is
    used as is; a mixture whose every parameter group was given (``*_init``)
    needs no data; otherwise the in-memory start runs on a random sample of
    rows (see the module docstring).
    """
    start = estimator.__dict__.get("_dask_start")
    if start is not None:
        return dict(start)
    groups = set(getattr(estimator, "_fixable_groups", {}))
    given = set(getattr(estimator, "_init_arrays", {}))
    if groups and groups <= given:
        return estimator._em_initialize(X, sample_weight, random_state)
    from ._validation import check_n_components

    n_components = getattr(estimator, "n_components", 1)
    size = max(DASK_INIT_SAMPLE_ROWS, 100 * n_components)
    X_sample, w_sample = dask_sample(X, sample_weight, size, random_state)
    try:
        check_n_components(X_sample, n_components, w_sample)
    except ValueError as exc:
        raise ValueError(
            f"{exc} (Counted on the {X_sample.shape[0]} rows sampled from the "
            "Dask array X for the start: give the *_init arrays, or more "
            "varied data.)"
        ) from None
    return estimator._em_initialize(X_sample, w_sample, random_state)


# ----------------------------------------------------------------- mixtures
def dask_fit_mixture(estimator, X, sample_weight):
    """``BaseMixture.fit`` on a Dask array."""
    estimator._validate_params()
    X, sample_weight = dask_validate(
        estimator, X, sample_weight, reset=True, n_components=estimator.n_components
    )
    estimator._em_fixed_groups()
    estimator._init_arrays = estimator._check_init_arrays(X)
    estimator._reset_stream()
    estimator._fit_em(X, sample_weight)
    return estimator


def dask_partial_fit_mixture(estimator, X, sample_weight):
    """``BaseMixture.partial_fit`` on a Dask array (the whole array is one batch)."""
    first = not hasattr(estimator, "_stream_stats")
    if first:
        estimator._validate_params()
    X, sample_weight = dask_validate(
        estimator,
        X,
        sample_weight,
        reset=first,
        n_components=estimator.n_components if first else None,
    )
    if first:
        estimator._em_fixed_groups()
        estimator._init_arrays = estimator._check_init_arrays(X)
    estimator._partial_fit_em(X, sample_weight)
    return estimator


def dask_score_mixture(estimator, X, sample_weight=None) -> float:
    """``BaseMixture.score`` on a Dask array: the (weighted) mean, computed."""
    dask, _ = _dask()
    log_prob = estimator.score_samples(X)
    if sample_weight is None:
        return float(log_prob.mean(dtype=np.float64).compute())
    weights = _dask_weights(sample_weight, log_prob[:, np.newaxis])
    starts = _row_starts(weights.chunks[0])
    checked = weights.map_blocks(
        _checked_weights,
        starts,
        dtype=weights.dtype,
        meta=np.empty((0,), weights.dtype),
    )
    total, weight = dask.compute(
        (log_prob.astype(np.float64) * checked).sum(), checked.sum(dtype=np.float64)
    )
    if not weight > 0:
        raise ValueError(
            "sample_weight sums to zero: at least one row needs a positive weight."
        )
    return float(total / weight)


def _checked_weights(w, starts, block_id=None):
    _check_weight_block(w, starts[block_id[0]])
    return w


# ----------------------------------------------------------- predictions
def _apply_block(x, est, method, starts, seed=None, block_id=None):
    """The in-memory ``method`` of ``est`` on one block (runs on a worker)."""
    start = starts[block_id[0]]
    if seed is not None:
        # Each block draws from its own stream, derived from (seed, block).
        est = copy.copy(est)
        est.random_state = np.random.RandomState([seed, block_id[0]])
    try:
        return getattr(est, method)(x)
    except (ValueError, TypeError) as exc:
        raise _with_rows(exc, start, x.shape[0]) from None


def dask_apply(estimator, X, method: str, *, n_columns=None, dtype=None, seed=None):
    """Lazy ``method`` of a fitted estimator over the row blocks of ``X``.

    Parameters
    ----------
    estimator : fitted estimator
    X : dask.array.Array of shape (n_samples, n_features)
    method : str
        Name of the in-memory method (``'predict'``, ``'transform'``, ...).
    n_columns : int or None
        Columns of the result; None for one value per row.
    dtype : dtype or None
        Dtype of the result; None for the validated dtype of X (float32 stays
        float32, other types give float64).
    seed : int or None
        Seed of per-block random streams (the imputer's ``sample_posterior``).

    Returns
    -------
    result : dask.array.Array
        Of shape (n_samples,) or (n_samples, n_columns), chunked like X's rows.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    X = _dask_X(estimator, X, reset=False)
    if dtype is None:
        dtype = X.dtype
    dtype = np.dtype(dtype)
    est = _data_node(_shippable(estimator), "estimator")
    starts = _row_starts(X.chunks[0])
    if n_columns is None:
        return X.map_blocks(
            _apply_block,
            est,
            method,
            starts,
            seed,
            drop_axis=1,
            chunks=(X.chunks[0],),
            dtype=dtype,
            meta=np.empty((0,), dtype),
        )
    return X.map_blocks(
        _apply_block,
        est,
        method,
        starts,
        seed,
        chunks=(X.chunks[0], (int(n_columns),)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),
    )


# ----------------------------------------------------------------- imputer
def _imputer_column_pass(X, mask, sample_weight):
    """One reduction pass: what the imputer's column checks and moments need.

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
    """``observed_moments`` on a Dask array: the same two passes, as reductions."""
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


def _informative_weights(x, w):
    """Weights in float64, 0 for rows with nothing observed (left out)."""
    return np.where(np.isnan(x).all(axis=1), 0.0, w.astype(np.float64))


def dask_fit_imputer(estimator, X, sample_weight):
    """``MultivariateNormalImputer.fit`` on a Dask array.

    The same steps as the in-memory fit, with reductions in place of array
    code: rows with no observed value get weight 0 instead of being dropped
    (they add exactly nothing to the statistics), and the deterministic start
    (observed means and variances) is computed once here.
    """
    from sklearn.impute import MissingIndicator

    from ._validation import _describe, is_scalar_nan

    _, da = _dask()
    estimator._validate_params()
    previous = getattr(estimator, "_modelled", None)
    X, sample_weight = dask_validate(estimator, X, sample_weight, reset=True)
    marker = estimator.missing_values
    mask = da.isnan(X) if is_scalar_nan(marker) else X == marker
    summary = _imputer_column_pass(X, mask, sample_weight)
    kept = summary["n_observed"] > 0
    if not kept.any():
        raise ValueError(
            "Every entry of X is missing: there is nothing to estimate. "
            f"Check the missing_values marker (missing_values={marker!r})."
        )
    if not summary["informative"]:
        raise ValueError(
            "Every row with an observed value has sample_weight 0: there is "
            "nothing to estimate. Give such rows a positive weight."
        )
    estimator._check_column_summary(
        summary["low"][kept],
        summary["high"][kept],
        summary["together"][np.ix_(kept, kept)],
        kept,
    )
    if estimator.add_indicator:
        # The indicator only records which columns had missing entries: fit
        # it on two rows with the same missing columns.
        template = np.zeros((2, X.shape[1]), dtype=X.dtype)
        has_missing = summary["n_observed"] < X.shape[0]
        template[0, has_missing] = marker
        estimator.indicator_ = MissingIndicator(
            missing_values=marker, error_on_new=False
        ).fit(template)
    else:
        estimator.indicator_ = None

    index = np.flatnonzero(kept)
    X_fit = da.where(mask[:, index], np.nan, X[:, index]).astype(np.float64)
    # Blockwise, not a reduction: its tasks then fuse the same way in every
    # computation that uses them.
    weights = da.blockwise(
        _informative_weights,
        "i",
        X_fit,
        "ij",
        sample_weight,
        "i",
        dtype=np.float64,
        concatenate=True,
        meta=np.empty((0,), np.float64),
    )
    if previous is None or not np.array_equal(previous, kept):
        estimator.__dict__.pop("converged_", None)
    estimator._modelled = kept
    names = estimator._names()
    estimator._modelled_labels = [_describe(j, names) for j in index]
    total = summary["total"][kept]
    mean, variance = dask_observed_moments(
        X_fit, weights, mean=summary["sum"][kept] / total, total=total
    )
    estimator._ridge = estimator.reg_covar * variance
    # The in-memory start (``_em_initialize``) from the same moments.
    estimator._dask_start = estimator._gaussian(
        mean, np.diag(variance + estimator._ridge)
    )
    try:
        estimator._fit_em(X_fit, weights)
    finally:
        del estimator._dask_start
    return estimator


def dask_transform_imputer(estimator, X, method: str = "transform"):
    """Lazy ``transform`` / ``score_samples`` of a fitted imputer."""
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if method == "score_samples":
        return dask_apply(estimator, X, method, dtype=np.float64)
    seed = None
    if estimator.sample_posterior:
        seed = int(check_random_state(estimator.random_state).randint(2**31 - 1))
    n_columns = len(estimator.get_feature_names_out())
    return dask_apply(estimator, X, method, n_columns=n_columns, seed=seed)
