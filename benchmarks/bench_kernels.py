"""The E-step's building blocks, side by side: normalisation and long products.

One chunk of the benchmark's size (12,500 rows; K = 16 for the products),
single-threaded, best of many runs (``time.thread_time``), alternating the
variants:

* the normalisation of the responsibilities: numpy's passes against the
  compiled kernel (numba, extra ``fast``), float64 and float32, K = 4, 8, 16;
* the long, thin products of ``emmix._products`` against numpy's one call,
  for the shapes the Gaussian covariance types use (d = 16), float64 and
  float32;
* a Gaussian chunk's whole E-step (d = 16, K = 16, complete rows): the fused
  compiled pass against the hooks' route (log-densities, normalisation,
  statistics), per covariance type, float64 and float32.

Usage: ``python benchmarks/bench_kernels.py [--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from bench_em import table  # benchmarks/ is on the path when run as a script
from threadpoolctl import threadpool_limits

from emmix._compiled import has_numba
from emmix._products import matmul_long, matmul_long_nt
from emmix._responsibilities import _normalize, normalize_log_prob

N_ROWS = 12_500
K = 16


def best_time(funcs, make_input, repeat):
    """Best seconds of each function, run in turns on fresh inputs."""
    best = [np.inf] * len(funcs)
    for _ in range(repeat):
        for i, func in enumerate(funcs):
            data = make_input()
            start = time.thread_time()
            func(data)
            best[i] = min(best[i], time.thread_time() - start)
    return best


def normalisation_rows(repeat):
    rng = np.random.default_rng(0)
    rows = []
    for dtype in (np.float64, np.float32):
        for k in (4, 8, 16):
            for scale in (3.0, 300.0):
                log_prob = np.asfortranarray(
                    rng.normal(scale=scale, size=(N_ROWS, k)).astype(dtype)
                )
                numpy_s, compiled_s = best_time(
                    [_normalize, normalize_log_prob],
                    lambda log_prob=log_prob: log_prob.copy(order="F"),
                    repeat,
                )
                expected = _normalize(log_prob.copy(order="F"))[1]
                got = normalize_log_prob(log_prob.copy(order="F"))[1]
                diff = np.max(np.abs(got - expected) / expected)
                rows.append(
                    {
                        "dtype": np.dtype(dtype).name,
                        "K": k,
                        "log-density spread": scale,
                        "numpy us": f"{numpy_s * 1e6:.0f}",
                        "compiled us": f"{compiled_s * 1e6:.0f}"
                        if has_numba()
                        else "-",
                        "speed-up": f"{numpy_s / compiled_s:.2f}x"
                        if has_numba()
                        else "-",
                        "max rel diff": f"{diff:.1e}",
                    }
                )
    return rows


def product_rows(repeat):
    rng = np.random.default_rng(1)
    shapes = {
        "diag logp (16 x 33)": (16, 33),
        "spherical logp (16 x 18)": (16, 18),
        "full logp (16 x 153)": (16, 153),
    }
    rows = []
    for dtype in (np.float64, np.float32):
        for name, (m, k) in shapes.items():
            A = rng.normal(size=(m, k)).astype(dtype)
            B = rng.normal(size=(k, N_ROWS)).astype(dtype)
            ours, numpy_ = best_time(
                [lambda ab: matmul_long(*ab), lambda ab: ab[0] @ ab[1]],
                lambda A=A, B=B: (A, B),
                repeat,
            )
            rows.append(_product_row(name, dtype, numpy_, ours))
            # The statistics: responsibilities (F-ordered, viewed (K, n))
            # times the features.
            R = np.asfortranarray(rng.random((N_ROWS, m))).astype(dtype, order="F")
            ours, numpy_ = best_time(
                [lambda rb: matmul_long_nt(*rb), lambda rb: rb[0] @ rb[1].T],
                lambda R=R, B=B: (R.T, B),
                repeat,
            )
            stats = name.replace("logp", "stats")
            rows.append(_product_row(stats, dtype, numpy_, ours))
    return rows


def fused_rows(repeat):
    """A chunk's E-step: the fused compiled pass against the hooks' route."""
    from sklearn.datasets import make_blobs

    from emmix import GaussianMixtureEM

    X64, _ = make_blobs(n_samples=N_ROWS, n_features=16, centers=K, random_state=0)
    rows = []
    for dtype in (np.float64, np.float32):
        X = X64.astype(dtype)
        weights = np.ones(N_ROWS, dtype=dtype)
        for cov in ("full", "tied", "diag", "spherical"):
            gm = GaussianMixtureEM(K, covariance_type=cov, max_iter=2, random_state=0)
            gm.fit(X)
            params = gm._em_prepare(gm._em_load())
            memo: dict = {}
            hooks_memo: dict = {}  # its own fit-long memo, as in a fit
            hooks = GaussianMixtureEM(K, covariance_type=cov)
            hooks.__dict__.update(gm.__dict__)
            hooks._em_fused_estep = lambda *args: None  # the hooks' route

            def fused(_, gm=gm, X=X, weights=weights, params=params, memo=memo):
                return gm._em_estep(X, weights, params, memo)

            def by_hooks(
                _, gm=hooks, X=X, weights=weights, params=params, memo=hooks_memo
            ):
                return gm._em_estep(X, weights, params, memo)

            fused(None), by_hooks(None)  # compile, and fill the memo
            fused_s, hooks_s = best_time([fused, by_hooks], lambda: None, repeat)
            a, b = fused(None)[0], by_hooks(None)[0]
            diff = max(
                float(np.max(np.abs(a[key] - b[key])) / np.max(np.abs(b[key])))
                for key in b
            )
            rows.append(
                {
                    "cov": cov,
                    "dtype": np.dtype(dtype).name,
                    "hooks ms": f"{hooks_s * 1e3:.3f}",
                    "fused ms": f"{fused_s * 1e3:.3f}" if has_numba() else "-",
                    "speed-up": f"{hooks_s / fused_s:.2f}x" if has_numba() else "-",
                    "max rel diff": f"{diff:.1e}",
                }
            )
    return rows


def _product_row(name, dtype, numpy_s, ours_s):
    return {
        "product": name,
        "dtype": np.dtype(dtype).name,
        "numpy one call ms": f"{numpy_s * 1e3:.3f}",
        "emmix._products ms": f"{ours_s * 1e3:.3f}",
        "speed-up": f"{numpy_s / ours_s:.2f}x",
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    print(
        f"numpy {np.__version__}, numba {'yes' if has_numba() else 'no'}, "
        f"load average {os.getloadavg()[0]:.2f}; one chunk of {N_ROWS} rows, "
        f"one thread\n"
    )
    with threadpool_limits(1):
        print("== Normalisation of the responsibilities ==")
        rows = normalisation_rows(args.repeat)
        table(rows, list(rows[0]))
        print("== Long, thin products (d = 16) ==")
        rows = product_rows(max(args.repeat // 4, 10))
        table(rows, list(rows[0]))
        print("== A chunk's E-step (d = 16, K = 16): fused against the hooks ==")
        rows = fused_rows(max(args.repeat // 4, 10))
        table(rows, list(rows[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
