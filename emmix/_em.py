"""The EM engine: one loop shared by every emmix estimator.

This module is internal. Families do not write anything here: a mixture
family writes the public hooks of :class:`emmix.base.BaseMixture`, which
turns them into the engine's protocol below. The engine calls, on the
estimator:

``_em_initialize(X, sample_weight, random_state) -> params``
    First parameters of a run, as a dict of arrays.
``_em_estep(X_chunk, w_chunk, params, memo=None) -> (stats, loglik_sum)``
    The E-step on a chunk of rows: the *expected sufficient statistics*, which
    are sums over rows (a dict of arrays), and the sum over the chunk of the
    weighted log-likelihood of each row.
``_em_mstep(stats, params) -> params``
    Maximum-likelihood parameters from the summed statistics.
``_em_store(params)`` / ``_em_load()``
    Parameters to and from the fitted attributes.
``_em_groups() -> dict``
    Parameter groups (name -> keys of the params dict), for ``fixed_params``
    and SQUAREM; ``_em_project(params)`` brings extrapolated parameters back
    into their valid set.

Because the statistics are sums over rows, the loop here gets chunking (bounded
memory), sample weights, restarts, warm starts, SQUAREM, streaming and Dask
once for all estimators. Nothing in this module knows what a Gaussian is.

The engine's own constructor parameters (``tol``, ``max_iter``, ``n_init``,
...) are declared once, in :data:`ENGINE_PARAMETERS`, with their defaults and
constraints; an estimator lists which of them it takes in
``_engine_parameters`` and writes ``**engine_params`` in its ``__init__``
(see :meth:`EMMixin.__init_subclass__`).
"""

from __future__ import annotations

import copy
import inspect
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from numbers import Integral, Real
from time import perf_counter

import numpy as np
import sklearn
from sklearn import get_config
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from threadpoolctl import threadpool_limits

from ._accel import run_squarem
from ._dask import dask_block_sum, dask_sample, is_dask
from ._stopping import STOPPING_RULES, stopping_distance
from ._validation import IntegerInterval

__all__ = [
    "ENGINE_PARAMETERS",
    "EMMixin",
    "add_stats",
    "iter_chunks",
    "memoized",
    "sub_cache",
]

#: The engine's constructor parameters, declared once: name -> (default,
#: scikit-learn constraints). An estimator takes the ones it lists in
#: ``_engine_parameters`` and may change a default in ``_engine_defaults``.
ENGINE_PARAMETERS: dict[str, tuple] = {
    "tol": (1e-3, [Interval(Real, 0.0, None, closed="left")]),
    "max_iter": (100, [IntegerInterval(Integral, 0, None, closed="left")]),
    "n_init": (1, [IntegerInterval(Integral, 1, None, closed="left")]),
    "random_state": (None, ["random_state"]),
    "warm_start": (False, ["boolean"]),
    "verbose": (0, ["verbose"]),
    "verbose_interval": (10, [IntegerInterval(Integral, 1, None, closed="left")]),
    "fixed_params": (None, [list, tuple, set, frozenset, str, None]),
    "accelerate": (None, [StrOptions({"squarem"}), None]),
    "stopping": ("change", [StrOptions(set(STOPPING_RULES))]),
    "learning_decay": (0.7, [Interval(Real, 0.5, 1.0, closed="right")]),
    "learning_offset": (10.0, [Interval(Real, 0.0, None, closed="left")]),
}


def add_stats(total: dict | None, part: dict) -> dict:
    """Add the sufficient statistics ``part`` into ``total`` (a new dict if None).

    Statistics are dicts of arrays (or floats) that are sums over rows, so the
    statistics of a concatenation of chunks are the sums of the chunks' ones.
    """
    if total is None:
        # Arrays of another Array API namespace (PyTorch, CuPy, ...) are new
        # arrays of the chunk's pass: summed in place like numpy ones.
        return {
            key: value if _foreign_array(value) else np.array(value, copy=True)
            for key, value in part.items()
        }
    for key, value in part.items():
        total[key] += value
    return total


def _foreign_array(value) -> bool:
    """Whether ``value`` is an array of an Array API namespace other than numpy."""
    return (
        not isinstance(value, (np.ndarray, np.generic, float, int))
        and hasattr(value, "shape")
        and not is_dask(value)
    )


def sum_of_weights(sample_weight) -> float:
    """The sum of the weights as a float.

    Summed in float64 for numpy and Dask; in the array's own namespace (and
    dtype) for an array of another Array API namespace.
    """
    if not _foreign_array(sample_weight):
        return float(np.sum(sample_weight, dtype=np.float64))
    from sklearn.utils._array_api import get_namespace

    xp, _ = get_namespace(sample_weight)
    return float(xp.sum(sample_weight))


#: Target size of one chunk's temporaries. Chunks run on a thread each; every
#: numpy call on a chunk takes the GIL for a moment, so chunks must be large
#: enough for the array work to dominate (measured on 2 cores: 1 MB chunks ran
#: a diagonal-covariance iteration 7x slower than 16 MB ones), yet small
#: enough to stay near the cores' caches (32 MB chunks ran it 1.25x slower
#: than 16 MB ones, full covariances 1.1x) and for memory to stay bounded.
CACHE_CHUNK_BYTES = 2**24
#: Never fewer rows than this per chunk for speed (working_memory may ask less).
MIN_CHUNK_ROWS = 256


def memoized(cache, key, compute, *, large: bool = False):
    """``compute()``, kept in the chunk's fit-long memo when there is one.

    ``cache`` is the per-chunk dict a family's E-step functions receive; the
    engine puts a ``"memo"`` dict in it that lives for one fit, so quantities
    of the rows alone (not of the parameters) are computed once per fit.

    With ``large`` (an array of the chunk's rows, say), the value is kept for
    the fit only while the fit's :class:`MemoBudget` (which the engine puts in
    every chunk's memo) has room, else for the pass (in ``cache``, shared by
    the log-densities and the statistics of the chunk) and computed again on
    the next pass.
    """
    memo = None if cache is None else cache.get("memo")
    if memo is not None and key in memo:
        return memo[key]
    if not large:
        value = compute()
        if memo is not None:
            memo[key] = value
        return value
    if cache is None:
        return compute()
    if key in cache:
        return cache[key]
    value = compute()
    budget = None if memo is None else memo.get(_BUDGET)
    if memo is not None and (budget is None or budget.take(_nbytes(value))):
        memo[key] = value  # (a memo without a budget, not the engine's, keeps all)
    else:
        cache[key] = value
    return value


def sub_cache(cache, key) -> dict | None:
    """The chunk's cache for one part of its work (a group of columns, say).

    Its keys never meet the chunk's own or another part's; its fit-long memo
    (when the chunk has one) shares the fit's budget.
    """
    if cache is None:
        return None
    if key not in cache:
        sub: dict = {}
        memo = cache.get("memo")
        if memo is not None:
            sub["memo"] = memo.setdefault(key, {_BUDGET: memo.get(_BUDGET)})
        cache[key] = sub
    return cache[key]


class MemoBudget:
    """Bytes that one fit may keep in its chunks' memos beyond the data.

    :func:`memoized` keeps a ``large`` value only while the total stays
    within the budget: scikit-learn's ``working_memory`` (MiB, default
    1024), the same bound as a chunk's temporaries, so a fit on data too
    large for it recomputes per pass what it cannot keep. Shared by the
    E-step's threads.
    """

    def __init__(self, nbytes: int):
        self.left = int(nbytes)
        self._lock = threading.Lock()

    def take(self, nbytes: int) -> bool:
        """Reserve ``nbytes``; False (and nothing reserved) if they do not fit."""
        with self._lock:
            if nbytes > self.left:
                return False
            self.left -= nbytes
            return True


#: Key of the fit's :class:`MemoBudget` in every chunk's memo.
_BUDGET = "_budget"


def _nbytes(value) -> int:
    """Bytes of an array, a scipy sparse matrix, or a tuple, list or dict of them."""
    if value is None:
        return 0
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(item) for item in value)
    if isinstance(value, dict):
        return sum(_nbytes(item) for item in value.values())
    if hasattr(value, "indptr"):  # CSR / CSC
        return sum(
            _nbytes(getattr(value, name)) for name in ("data", "indices", "indptr")
        )
    return int(getattr(value, "nbytes", 0))


def chunk_n_rows(row_bytes: int, n_samples: int) -> int:
    """Rows per E-step chunk.

    A chunk's temporaries stay within ``working_memory`` (scikit-learn's global
    setting in MiB, default 1024; change it with
    ``sklearn.config_context(working_memory=...)``) and, for speed, near
    ``CACHE_CHUNK_BYTES``.
    """
    row_bytes = max(int(row_bytes), 1)
    working_memory = get_config()["working_memory"]
    memory_rows = int(working_memory * 2**20 // row_bytes)
    cache_rows = max(CACHE_CHUNK_BYTES // row_bytes, MIN_CHUNK_ROWS)
    rows = int(min(max(min(memory_rows, cache_rows), 1), max(n_samples, 1)))
    n_chunks = -(-n_samples // rows)
    if n_chunks > 1:
        # Equal chunks, as many as a multiple of the threads that run them:
        # every thread has work and they finish a pass together (5 chunks on 2
        # threads left one idle for a sixth of it). Not split further: every
        # chunk has fixed costs (with rows with gaps, 4 chunks on 2 threads
        # ran a full-covariance iteration 1.3-1.7x slower than 2). Never more
        # rows per chunk than asked. (The chunks, and so the last digits of
        # the sums, depend on the number of threads available; never on the
        # order in which the threads finish.)
        n_threads = n_threads_for(n_samples)
        n_chunks = -(-n_chunks // n_threads) * n_threads
        rows = -(-n_samples // n_chunks)
    return rows


def iter_chunks(n_samples: int, row_bytes: int):
    """Yield slices of rows, each small enough for ``working_memory``.

    The same slices as scikit-learn's ``gen_batches``, without its parameter
    validation (about 35 us a call, paid on every pass: 10% of a small fit).
    """
    rows = chunk_n_rows(row_bytes, n_samples)
    for start in range(0, n_samples, rows):
        yield slice(start, min(start + rows, n_samples))


def run_chunks(pool, n_helpers: int, fn, chunks) -> list:
    """``[fn(c) for c in chunks]``, run by the calling thread and ``n_helpers``
    of ``pool``'s threads, each taking the next chunk when it is free.

    The calling thread starts at once: waking a pool thread takes 0.1-0.3 ms
    on a virtual machine (``pool.map`` of four empty tasks took 0.26 ms on
    2 cores), paid before the first chunk and between chunks where every
    chunk goes through the pool. The results keep the chunks' order,
    whichever thread ran them. An error in any chunk stops the others from
    starting new ones and is raised once they have finished.
    """
    results: list = [None] * len(chunks)
    taken = iter(range(len(chunks)))
    lock = threading.Lock()
    failed = threading.Event()

    def work():
        while not failed.is_set():
            with lock:
                i = next(taken, None)
            if i is None:
                return
            try:
                results[i] = fn(chunks[i])
            except BaseException:
                failed.set()
                raise

    helpers = [pool.submit(work) for _ in range(min(n_helpers, len(chunks) - 1))]
    try:
        work()
    finally:
        for helper in helpers:  # wait for all before anything is raised
            helper.exception()
    for helper in helpers:
        helper.result()
    return results


def n_threads_for(n_chunks: int) -> int:
    """Threads for an E-step pass: scikit-learn's OpenMP rule, at most one per chunk.

    Respects ``OMP_NUM_THREADS`` and the CPU affinity (so a process started by
    joblib with a thread limit stays within it).
    """
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        available = _openmp_effective_n_threads()
    except ImportError:  # pragma: no cover - private helper moved
        available = os.cpu_count() or 1
    return max(1, min(int(available), n_chunks))


def _block_pass(estimator, params, X, sample_weight):
    """The in-memory E-step pass of ``estimator`` on one block of rows.

    Run by the data backend on each block of a Dask array, where it lives.
    """
    return estimator._em_pass(X, sample_weight, params)


def _without_fit_state(estimator):
    """A shallow copy of ``estimator`` without the fit's thread pool and memo.

    The memo is keyed by row ranges of the in-process data; on a worker the
    same ranges of another block would hit it, so it must not travel.
    """
    est = copy.copy(estimator)
    est.__dict__.pop("_em_pool", None)
    est.__dict__.pop("_em_memo", None)
    return est


class EMMixin:
    """Mixin that owns the expectation-maximisation loop.

    The estimator using it takes the engine parameters it lists in
    ``_engine_parameters`` (all of :data:`ENGINE_PARAMETERS` by default) and
    implements the engine protocol described in the module docstring. After
    :meth:`_fit_em` the estimator has the fitted attributes ``converged_``,
    ``n_iter_``, ``lower_bound_`` and ``lower_bounds_`` and whatever
    ``_em_store`` writes.

    The stopping rule is the ``stopping`` parameter (see
    :mod:`emmix._stopping`): ``"change"`` is scikit-learn's (the change of the
    mean, sample-weighted, log-likelihood per sample between two iterations is
    below ``tol``); ``"aitken"`` stops when Aitken's estimate of the distance
    from the last value to the limit is below ``tol``. ``lower_bounds_[t]`` is
    the mean log-likelihood of the parameters entering iteration ``t + 1``,
    exactly as in scikit-learn.
    """

    #: Engine parameters this estimator takes (see ``ENGINE_PARAMETERS``).
    _engine_parameters: tuple[str, ...] = tuple(ENGINE_PARAMETERS)
    #: Defaults that differ from ``ENGINE_PARAMETERS`` for this estimator.
    _engine_defaults: dict = {}

    def __init_subclass__(cls, **kwargs):
        """Declare the engine parameters once for every estimator.

        An ``__init__`` that ends in ``**engine_params`` gets a signature that
        spells them out (keyword-only, with their defaults), so scikit-learn's
        ``get_params``, ``clone`` and ``repr`` see them like any parameter;
        their constraints join ``_parameter_constraints``.
        """
        super().__init_subclass__(**kwargs)
        own = dict(ENGINE_PARAMETERS)
        constraints = {
            name: own[name][1] for name in cls._engine_parameters if name in own
        }
        for klass in reversed(cls.__mro__):
            constraints.update(klass.__dict__.get("_parameter_constraints", {}))
        cls._parameter_constraints = constraints
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)
        params = list(signature.parameters.values())
        if not params or params[-1].kind is not inspect.Parameter.VAR_KEYWORD:
            return
        params = params[:-1]
        present = {p.name for p in params}
        for name in cls._declared_parameters():
            if name not in present:
                params.append(
                    inspect.Parameter(
                        name,
                        inspect.Parameter.KEYWORD_ONLY,
                        default=cls._parameter_default(name),
                    )
                )
        init.__signature__ = signature.replace(parameters=params)

    @classmethod
    def _declared_parameters(cls) -> tuple[str, ...]:
        """Parameters set by the base ``__init__`` (the engine's here)."""
        return tuple(cls._engine_parameters)

    @classmethod
    def _parameter_default(cls, name: str):
        defaults = {}
        for klass in reversed(cls.__mro__):
            defaults.update(klass.__dict__.get("_engine_defaults", {}))
        if name in defaults:
            return defaults[name]
        return ENGINE_PARAMETERS[name][0]

    def _set_declared_params(self, given: dict) -> None:
        """Store the declared parameters from ``given``, defaults for the rest.

        An unknown keyword raises the ``TypeError`` a Python function raises.
        """
        declared = self._declared_parameters()
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword "
                f"argument {unknown[0]!r}"
            )
        for name in declared:
            setattr(self, name, given.get(name, self._parameter_default(name)))

    def _without_fit_state(self):
        """A shallow copy to ship to Dask workers (no thread pool, no memo)."""
        return _without_fit_state(self)

    def __getstate__(self):
        # A fit's thread pool and per-chunk memo never travel (pickle, joblib,
        # Dask): the memo is keyed by row ranges of the data being fitted.
        state = super().__getstate__()
        state.pop("_em_pool", None)
        state.pop("_em_memo", None)
        # Verbose timing is not part of the model.
        state.pop("_init_time", None)
        state.pop("_iter_time", None)
        # Recorded like scikit-learn's own estimators record it (its
        # __getstate__ adds it only for classes in the sklearn package).
        state.setdefault("_sklearn_version", sklearn.__version__)
        return state

    def __setstate__(self, state):
        state = dict(state)
        state.pop("_sklearn_version", None)
        super().__setstate__(state)

    # ------------------------------------------------------ engine protocol
    def _em_groups(self) -> dict[str, tuple[str, ...]]:
        """Parameter groups: name -> keys of the params dict it covers.

        The first key of a group is what SQUAREM extrapolates; the others are
        derived from it by ``_em_project``.
        """
        return {}

    def _em_row_bytes(self, X, params) -> int:
        """Bytes of temporaries one row costs in the E-step (for chunking)."""
        n_features = X.shape[1]
        n_components = getattr(self, "n_components", 1)
        return 8 * (4 * n_components * (n_features + 2) + 2 * n_features)

    # ------------------------------------------------------ fixed parameters
    def _em_fixed_groups(self) -> frozenset:
        """Validated set of parameter groups held at their initial values.

        ``fixed_params`` names groups of ``_em_groups``; the M-step result for
        those groups is replaced by their value at the start of the run. A
        family whose other updates depend on a fixed group (a Gaussian
        covariance on fixed means) reads this set in its M-step.
        """
        groups = getattr(self, "fixed_params", None)
        if groups is None:
            return frozenset()
        if isinstance(groups, str):
            groups = [groups]
        known = self._em_groups()
        unknown = sorted(set(groups) - set(known))
        if unknown:
            raise ValueError(
                f"fixed_params={sorted(groups)!r} names unknown parameter groups "
                f"{unknown}; {type(self).__name__} can hold fixed: "
                f"{sorted(known)}."
            )
        return frozenset(groups)

    def _em_hold_fixed(self, new_params, old_params):
        """Copy the fixed groups of ``old_params`` into ``new_params``."""
        groups = self._em_groups()
        for group in self._em_fixed_groups():
            for key in groups[group]:
                new_params[key] = old_params[key]
        return new_params

    # -------------------------------------------------------- acceleration
    def _em_free_keys(self) -> tuple[str, ...]:
        """Keys of the params dict that SQUAREM extrapolates (one per group).

        Other keys are derived from these by ``_em_project``.
        """
        return tuple(keys[0] for keys in self._em_groups().values())

    def _em_project(self, params):
        """Bring extrapolated parameters back into their valid set."""
        return params

    # ------------------------------------------------------------- the pass
    def _em_prepare(self, params):
        """Derived quantities used by every chunk of one pass (default: none).

        A family may return a copy of ``params`` with extra keys starting with
        ``_`` (e.g. a log-determinant) so that chunks do not recompute them.
        """
        return params

    def _em_chunk_order(self, X):
        """A reordering of a chunk's rows that its E-step runs faster on.

        Default None: the rows as given. A family may return a permutation
        (an index array) of the chunk's rows, e.g. to make rows it treats
        alike consecutive (slices in place of gathers and scatters). The
        engine asks once per chunk and fit, and reorders the rows and their
        weights before every E-step of the chunk (once for the fit where its
        memo budget allows): the statistics are sums over the rows, so the
        order changes only their rounding, the same whatever the budget.
        """
        return None

    def _em_chunk_rows(self, X, sample_weight, memo):
        """The chunk's rows and weights in the order of ``_em_chunk_order``."""
        order = memoized(
            {"memo": memo}, "_chunk_order", lambda: self._em_chunk_order(X)
        )
        if order is None:
            return X, sample_weight
        return memoized(
            {"memo": memo},
            "_chunk_rows",
            lambda: (X.take(order, axis=0), sample_weight.take(order)),
            large=True,
        )

    @contextmanager
    def _em_threads(self, X):
        """Thread pool for the E-step passes of one fit (BLAS then single-threaded).

        Chunks run on several threads (numpy releases the GIL in its array
        work); BLAS is limited to one thread meanwhile so the two do not
        oversubscribe the cores. Data that fit in one chunk run unthreaded
        with BLAS's own threads.
        """
        # Per-chunk memo for the fit: what a family computes from the rows
        # alone (e.g. log x!) is computed on the first pass, then reused.
        # (Its budget for what is kept beyond the data, shared by the chunks.)
        self._em_memo = {_BUDGET: MemoBudget(get_config()["working_memory"] * 2**20)}
        # A Dask array's blocks are spread over Dask's workers instead.
        n_threads = 1
        if not is_dask(X):
            rows = chunk_n_rows(self._em_row_bytes(X, None), X.shape[0])
            n_threads = n_threads_for(-(-X.shape[0] // rows))
        try:
            if n_threads == 1:
                self._em_pool = None
                yield
                return
            # The calling thread runs chunks too (see run_chunks): one fewer
            # pool thread.
            with (
                threadpool_limits(limits=1, user_api="blas"),
                ThreadPoolExecutor(max_workers=n_threads - 1) as pool,
            ):
                self._em_pool = pool
                yield
        finally:
            self.__dict__.pop("_em_pool", None)
            self.__dict__.pop("_em_memo", None)

    def _em_pass(self, X, sample_weight, params):
        """One E-step over all rows, chunk by chunk.

        The statistics are summed in chunk order, so the result does not
        depend on the order in which the threads finish (the chunks follow
        the number of threads available, see :func:`chunk_n_rows`). Returns
        the summed statistics and the total weighted log-likelihood
        (accumulated in float64 whatever the data type). On a Dask array the
        same pass runs on each row block where it lives and Dask sums the
        blocks' statistics (``emmix._dask``).
        """
        if is_dask(X):
            # Each row block runs this same pass where it lives; the data
            # backend sums the blocks' statistics.
            return dask_block_sum(
                _block_pass, X, sample_weight, shared=(_without_fit_state(self), params)
            )
        params = self._em_prepare(params)
        chunks = list(iter_chunks(X.shape[0], self._em_row_bytes(X, params)))

        memos = getattr(self, "_em_memo", None)
        budget = None if memos is None else memos.get(_BUDGET)

        def estep(rows):
            if memos is None:
                return self._em_estep(X[rows], sample_weight[rows], params)
            memo = memos.setdefault((rows.start, rows.stop), {_BUDGET: budget})
            chunk, weights = self._em_chunk_rows(X[rows], sample_weight[rows], memo)
            return self._em_estep(chunk, weights, params, memo=memo)

        pool = getattr(self, "_em_pool", None)
        results = (
            map(estep, chunks)
            if pool is None
            else run_chunks(pool, n_threads_for(len(chunks)) - 1, estep, chunks)
        )
        stats = None
        loglik = 0.0
        for part, part_loglik in results:
            stats = add_stats(stats, part)
            loglik += float(part_loglik)
        return stats, loglik

    #: Rows sampled (at least) to draw a start on a Dask array.
    _dask_start_rows = 10_000

    def _em_start(self, X, sample_weight, random_state):
        """First parameters of a run.

        On a Dask array the start is drawn from a uniform random sample of at
        most ``max(10_000, 100 * n_components)`` rows, gathered with one
        ``compute`` (the rows' weights come along), unless ``_em_initialize``
        needs no data (``_em_start_needs_data`` is False).
        """
        if is_dask(X) and self._em_start_needs_data():
            size = max(self._dask_start_rows, 100 * getattr(self, "n_components", 1))
            X, sample_weight = dask_sample(X, sample_weight, size, random_state)
            self._em_check_start_sample(X, sample_weight)
        return self._em_initialize(X, sample_weight, random_state)

    def _em_start_needs_data(self) -> bool:
        """Whether ``_em_initialize`` reads the rows (else it may get a Dask array)."""
        return True

    def _em_check_start_sample(self, X, sample_weight) -> None:
        """Checks of the rows sampled for a start on Dask input (default: none)."""

    # ------------------------------------------------------------- the loop
    def _fit_em(self, X, sample_weight):
        """Run EM with restarts; store the best parameters found.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Validated data.
        sample_weight : ndarray of shape (n_samples,)
            Validated non-negative weights with a positive sum.
        """
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        with self._em_threads(X):
            best = self._em_restarts(X, sample_weight, do_init, n_init)
        lower_bound, params, n_iter, history, converged = best
        if not converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different "
                "init parameters, or increase max_iter, tol, or check for "
                "degenerate data." + self._em_convergence_hint(),
                ConvergenceWarning,
                # Attributed to emmix (as scikit-learn's is to sklearn.mixture),
                # so module-based warning filters treat both alike.
                stacklevel=1,
            )
        self._em_store(params)
        self.converged_ = bool(converged)
        self.n_iter_ = int(n_iter)
        # A numpy scalar, as scikit-learn's (a float all the same).
        self.lower_bound_ = np.float64(lower_bound)
        self.lower_bounds_ = [float(b) for b in history]
        return params

    def _em_convergence_hint(self) -> str:
        """What to change when the kept run stopped at ``max_iter``."""
        what = (
            "the estimated distance to the optimum (Aitken)"
            if self._em_stopping_rule() == "aitken"
            else "the last change of the mean log-likelihood"
        )
        hint = (
            f" After max_iter={self.max_iter} iterations {what} was still above "
            f"tol={self.tol}: raise max_iter"
        )
        if getattr(self, "accelerate", "absent") is None:
            hint += " or use accelerate='squarem' (fewer passes when EM crawls)"
        return hint + "."

    def _em_step(self, X, sample_weight, params, total_weight):
        """One EM iteration: ``(M(E(params)), mean log-likelihood of params)``.

        Fixed parameter groups are held; plain EM and SQUAREM both step here.
        """
        stats, loglik = self._em_pass(X, sample_weight, params)
        new = self._em_hold_fixed(self._em_mstep(stats, params), params)
        return new, loglik / total_weight

    def _em_iterate(self, X, sample_weight, params, lower_bound, total_weight):
        """Plain EM from ``params`` until ``tol`` or ``max_iter``.

        Returns ``(params, lower_bound, history, n_iter, converged)``.
        """
        history: list[float] = []
        n_iter = 0
        rule = self._em_stopping_rule()
        before = -np.inf
        for n_iter in range(1, self.max_iter + 1):
            previous = lower_bound
            params, lower_bound = self._em_step(X, sample_weight, params, total_weight)
            history.append(lower_bound)
            self._verbose_iter_end(n_iter, lower_bound - previous)
            if stopping_distance(rule, before, previous, lower_bound) < self.tol:
                return params, lower_bound, history, n_iter, True
            before = previous
        return params, lower_bound, history, n_iter, False

    def _em_stopping_rule(self) -> str:
        """The stopping rule of the loop (``"change"`` or ``"aitken"``)."""
        return getattr(self, "stopping", "change")

    def _em_restarts(self, X, sample_weight, do_init, n_init):
        """The ``n_init`` runs; returns the best as a tuple."""
        total_weight = sum_of_weights(sample_weight)
        random_state = check_random_state(self.random_state)
        best = None
        for init in range(n_init):
            self._verbose_init_begin(init)
            if do_init:
                params = self._em_start(X, sample_weight, random_state)
                lower_bound = -np.inf
            else:
                params = self._em_load()
                lower_bound = self.lower_bound_
            if getattr(self, "accelerate", None) == "squarem":
                result = run_squarem(
                    self, X, sample_weight, params, lower_bound, total_weight
                )
            else:
                result = self._em_iterate(
                    X, sample_weight, params, lower_bound, total_weight
                )
            params, lower_bound, history, n_iter, converged = result
            if self.max_iter > 0:
                self._verbose_init_end(lower_bound, converged)
            # The first run is kept whatever its bound, as in scikit-learn, so a
            # fit whose every bound is -inf or nan still stores parameters.
            if best is None or lower_bound > best[0] or self.max_iter == 0:
                best = (lower_bound, params, n_iter, history, converged)
        return best

    # ----------------------------------------------------------- streaming
    def _em_stream_start(self, params):
        """Hook: fix whatever the statistics are taken around for a stream.

        Running statistics are averaged over batches, so every batch's
        statistics must use the same reference point; a family whose
        statistics depend on one (a centring shift) pins it here.
        """
        return params

    def _partial_fit_em(self, X, sample_weight):
        """One step of stepwise (online) EM on a batch of rows.

        The running statistics, per unit of weight, are updated as
        ``S <- (1 - eta) S + eta S_batch`` with
        ``eta = (t + learning_offset) ** -learning_decay`` (Cappe & Moulines,
        2009; Liang & Klein, 2009), then the M-step gives the parameters. The
        first call starts from its batch (``init_params`` or ``*_init``) and
        takes ``S`` from it alone. Only the small statistics are kept between
        calls, so a stream larger than memory is fitted in one pass.
        """
        total_weight = sum_of_weights(sample_weight)
        first = not hasattr(self, "_stream_stats")
        with self._em_threads(X):
            if first:
                random_state = check_random_state(self.random_state)
                params = self._em_start(X, sample_weight, random_state)
                params = self._em_stream_start(params)
            else:
                params = self._stream_params
            stats, loglik = self._em_pass(X, sample_weight, params)
        batch = {key: value / total_weight for key, value in stats.items()}
        if first:
            running = batch
            self._stream_t = 1
            self.lower_bounds_ = []
        else:
            self._stream_t += 1
            eta = (self._stream_t + self.learning_offset) ** -self.learning_decay
            running = {
                key: (1.0 - eta) * self._stream_stats[key] + eta * batch[key]
                for key in batch
            }
        params = self._em_hold_fixed(self._em_mstep(running, params), params)
        self._stream_stats = running
        self._stream_params = params
        self._em_store(params)
        self.lower_bound_ = loglik / total_weight
        self.lower_bounds_ = [*self.lower_bounds_, self.lower_bound_]
        self.n_iter_ = self._stream_t
        self.converged_ = False
        return params

    # ------------------------------------------------------------ verbosity
    def _verbose_init_begin(self, init):
        if self.verbose >= 1:
            print(f"Initialization {init}")
        self._init_time = self._iter_time = perf_counter()

    def _verbose_iter_end(self, n_iter, change):
        if self.verbose < 1 or n_iter % self.verbose_interval != 0:
            return
        if self.verbose == 1:
            print(f"  Iteration {n_iter}")
        else:
            now = perf_counter()
            print(
                f"  Iteration {n_iter}\t time lapse {now - self._iter_time:.5f}s"
                f"\t ll change {change:.5f}"
            )
            self._iter_time = now

    def _verbose_init_end(self, lower_bound, converged):
        message = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {message}.")
        elif self.verbose >= 2:
            elapsed = perf_counter() - self._init_time
            print(
                f"Initialization {message}. time lapse {elapsed:.5f}s\t "
                f"lower bound {lower_bound:.5f}."
            )
