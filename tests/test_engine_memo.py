"""The engine's fit-long memo budget, and the normalisation of responsibilities."""

import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from sklearn import config_context

from emmix import GaussianMixtureEM
from emmix._em import MemoBudget, _nbytes, memoized, sub_cache
from emmix._responsibilities import normalize_log_prob


def test_large_values_are_kept_within_the_budget():
    budget = MemoBudget(1000)
    memo = {"_budget": budget}
    cache = {"memo": memo}
    small, large = np.zeros(100), np.zeros(200)  # 800 and 1600 bytes
    assert memoized(cache, "a", lambda: small, large=True) is small
    assert memo["a"] is small and budget.left == 200
    # Too large for what is left: kept for the pass only, computed once.
    calls = []
    make = lambda: calls.append(1) or large  # noqa: E731
    assert memoized(cache, "b", make, large=True) is large
    assert memoized(cache, "b", make, large=True) is large
    assert "b" not in memo and cache["b"] is large and budget.left == 200
    assert len(calls) == 1
    # The next pass (a fresh cache, the same memo) computes it again.
    assert memoized({"memo": memo}, "b", make, large=True) is large
    assert len(calls) == 2
    # Small values are always kept; without a memo nothing lives beyond
    # the pass, and without a cache nothing at all.
    assert memoized(cache, "c", lambda: 3) == 3 and memo["c"] == 3
    plain: dict = {}
    assert memoized(plain, "a", lambda: small, large=True) is small
    assert plain == {"a": small}
    assert memoized(None, "a", lambda: large, large=True) is large
    # A memo without a budget (not the engine's) keeps everything.
    free: dict = {}
    assert memoized({"memo": free}, "z", lambda: large, large=True) is large
    assert free["z"] is large
    # A part's cache shares the budget and has keys of its own.
    part = sub_cache(cache, ("group", "g"))
    assert memoized(part, "a", lambda: np.zeros(25), large=True).size == 25
    assert budget.left == 0 and part["memo"] is memo[("group", "g")]
    assert memo["a"] is small


def test_nbytes_counts_sparse_and_nested_values():
    from scipy import sparse

    matrix = sparse.random(50, 40, density=0.1, format="csr", random_state=0)
    expected = matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
    assert _nbytes(matrix) == expected
    assert _nbytes({"A": matrix, "v": np.zeros(3), "key": b"x"}) == expected + 24
    assert _nbytes((np.zeros(2), [np.zeros(1)])) == 24


@pytest.mark.parametrize("missing", [0.0, 0.1])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_fit_same_numbers_whether_rows_are_kept_or_not(covariance_type, missing):
    # What depends on the rows alone (the transposed rows, the split and
    # patterns of rows with gaps) is kept for the fit when working_memory
    # allows; recomputed per pass it gives the same numbers to the last bit.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(m, 1.0, size=(3000, 5)) for m in (0.0, 4.0, 9.0)])
    X[rng.random(X.shape) < missing] = np.nan
    make = lambda: GaussianMixtureEM(  # noqa: E731
        3, covariance_type=covariance_type, max_iter=5, tol=0.0, random_state=0
    )
    kept_fit = make().fit(X)
    with config_context(working_memory=1):  # 1 MiB: rows (~0.4 MB) kept
        small_chunks = make().fit(X)
    gm = make()
    # A budget of 0: every pass rebuilds from the rows.
    original = MemoBudget.__init__
    try:
        MemoBudget.__init__ = lambda self, nbytes: original(self, 0)
        rebuilt = gm.fit(X)
    finally:
        MemoBudget.__init__ = original
    for key in ("weights_", "means_", "covariances_"):
        np.testing.assert_array_equal(getattr(rebuilt, key), getattr(kept_fit, key))
        np.testing.assert_allclose(
            getattr(small_chunks, key), getattr(kept_fit, key), rtol=1e-12, atol=1e-11
        )


def test_normalize_against_scipy():
    rng = np.random.default_rng(1)
    log_prob = rng.normal(scale=300.0, size=(500, 7))
    log_prob[3] = -np.inf  # every component impossible
    log_prob[4, :3] = -np.inf
    expected_norm = logsumexp(log_prob, axis=1)
    with np.errstate(invalid="ignore"):
        expected_resp = softmax(log_prob, axis=1)
    for layout in ("C", "F"):
        log_norm, resp = normalize_log_prob(np.array(log_prob, order=layout))
        assert log_norm[3] == -np.inf
        np.testing.assert_allclose(resp[3], np.full(7, 1 / 7), rtol=1e-12)
        rows = np.arange(500) != 3
        np.testing.assert_allclose(log_norm[rows], expected_norm[rows], rtol=1e-13)
        # Responsibilities above 1e-150 of their row's largest are scipy's;
        # smaller ones are floored there (they weigh nothing either way).
        relative = expected_resp[rows] / expected_resp[rows].max(1, keepdims=True)
        large = relative > 1e-150
        np.testing.assert_allclose(
            resp[rows][large], expected_resp[rows][large], rtol=1e-12
        )
        np.testing.assert_allclose(
            resp[rows][~large] / resp[rows].max(1, keepdims=True).repeat(7, 1)[~large],
            1e-150,
            rtol=1e-12,
        )


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_chunks_are_a_multiple_of_the_threads(n_threads):
    from threadpoolctl import threadpool_limits

    from emmix._em import CACHE_CHUNK_BYTES, chunk_n_rows, n_threads_for

    row_bytes = 1000
    cache_rows = CACHE_CHUNK_BYTES // row_bytes
    with threadpool_limits(limits=n_threads, user_api="openmp"):
        available = n_threads_for(10**9)
        for n_samples in (cache_rows // 2, cache_rows + 1, 5 * cache_rows + 7):
            rows = chunk_n_rows(row_bytes, n_samples)
            n_chunks = -(-n_samples // rows)
            assert rows <= cache_rows  # never larger than asked
            if n_samples <= cache_rows:
                assert n_chunks == 1  # one chunk stays one, on BLAS's threads
            else:
                assert n_chunks % available == 0
                # not split further than the threads ask
                assert n_chunks - available < -(-n_samples // cache_rows)


@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_chunk_order_changes_only_rounding(covariance_type, monkeypatch):
    # The Gaussian family reorders a chunk with gaps (complete rows first,
    # then by number of missing entries); the rows as given must fit the
    # same numbers to rounding, and the reordered chunk must be split by
    # slices (views), not gathers.
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(m, 1.0, size=(2000, 6)) for m in (0.0, 3.0, 7.0)])
    rng.shuffle(X)
    X[rng.random(X.shape) < 0.15] = np.nan
    make = lambda: GaussianMixtureEM(  # noqa: E731
        3, covariance_type=covariance_type, max_iter=8, tol=0.0, random_state=0
    )
    ordered = make()
    order = ordered._em_chunk_order(X)
    n_missing = np.isnan(X).sum(axis=1)[order]
    assert np.all(np.diff(n_missing) >= 0)
    assert sorted(order) == list(range(len(X)))
    seen = []
    original = GaussianMixtureEM._weighted_log_prob

    def spy(self, X, params, cache=None):
        out = original(self, X, params, cache)
        if cache is not None and "missing" in cache:
            seen.append(cache["missing"][0])
        return out

    monkeypatch.setattr(GaussianMixtureEM, "_weighted_log_prob", spy)
    ordered.fit(X)
    assert seen and all(
        isinstance(rows.complete, slice) and isinstance(rows.missing, slice)
        for rows in seen
    )
    monkeypatch.setattr(GaussianMixtureEM, "_em_chunk_order", lambda self, X: None)
    as_given = make().fit(X)
    for key in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(
            getattr(ordered, key), getattr(as_given, key), rtol=1e-12, atol=1e-14
        )
    np.testing.assert_allclose(ordered.lower_bound_, as_given.lower_bound_, rtol=1e-13)


def test_run_chunks_keeps_order_and_raises_once_all_stopped():
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from emmix._em import run_chunks

    threads = set()

    def slow_square(i):
        threads.add(threading.get_ident())
        time.sleep(0.002 * (i % 3))  # finish out of order
        return i * i

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert run_chunks(pool, 2, slow_square, list(range(12))) == [
            i * i for i in range(12)
        ]
        assert threading.get_ident() in threads  # the caller ran chunks too
        started = []

        def failing(i):
            started.append(i)
            if i == 1:
                raise ValueError("chunk 1")
            time.sleep(0.01)
            return i

        with pytest.raises(ValueError, match="chunk 1"):
            run_chunks(pool, 2, failing, list(range(40)))
        assert len(started) < 40  # no new chunk after the failure
