"""Time per EM iteration: emmix against scikit-learn and plain numpy EM.

Run from the repository root::

    python benchmarks/bench_em.py            # the issue's target sizes + scaling
    python benchmarks/bench_em.py --quick    # a smaller grid (about a minute)

Every comparison starts both implementations from the same parameters and
runs a fixed number of iterations (``tol=0``). Time per iteration is measured
as the difference between fits of ``a`` and ``b`` iterations divided by
``b - a``, so set-up costs (validation, the start, scikit-learn's final
E-step) cancel out; each fit is the best of ``--repeat`` runs. Peak memory is
measured in a separate fit under ``tracemalloc`` (numpy reports its buffers to
it). The final mean log-likelihoods must agree to 1e-8 relative (float64).

Results are printed as tables and written to ``benchmarks/results/bench_em.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from scipy.special import gammaln
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture

warnings.simplefilter("ignore", ConvergenceWarning)


# ------------------------------------------------------------------ helpers
def matmul_gflops(dtype=np.float64, size=2000, repeat=5) -> float:
    """This machine's measured matrix-product throughput (GFLOP/s)."""
    rng = np.random.RandomState(0)
    a = rng.normal(size=(size, size)).astype(dtype)
    b = rng.normal(size=(size, size)).astype(dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * size**3 / best / 1e9


def _timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def per_iteration(make, X, a=2, b=7, repeat=2, **fit_kw) -> tuple[float, object]:
    """Seconds per iteration from the difference of two fixed-length fits."""
    times = {}
    est = None
    for n_iter in (a, b):
        best = np.inf
        for _ in range(repeat):
            est = make(n_iter)
            best = min(best, _timed(lambda est=est: est.fit(X, **fit_kw)))
        times[n_iter] = best
    return max(times[b] - times[a], 1e-9) / (b - a), est


def peak_mib(make, X, n_iter=2) -> float:
    tracemalloc.start()
    make(n_iter).fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def make_gaussian_data(n, d, k, dtype=np.float64, random_state=0):
    rng = np.random.RandomState(random_state)
    centers = rng.normal(scale=3.0, size=(k, d))
    X = rng.normal(size=(n, d)) + centers[rng.randint(k, size=n)]
    return X.astype(dtype)


def gaussian_start(X, covariance_type, k, random_state=1):
    rng = np.random.RandomState(random_state)
    d = X.shape[1]
    precisions = {
        "full": np.stack([np.eye(d)] * k),
        "tied": np.eye(d),
        "diag": np.ones((k, d)),
        "spherical": np.ones(k),
    }[covariance_type]
    return {
        "weights_init": np.full(k, 1.0 / k),
        "means_init": X[rng.choice(len(X), k, replace=False)].astype(np.float64),
        "precisions_init": precisions,
    }


def gaussian_flops(covariance_type, n, d, k) -> float:
    """Arithmetic of one iteration (multiply-adds counted as 2), to leading order."""
    return {
        "full": 4.0 * n * k * d * d,  # whitening n*K*d^2 + second moments n*K*d^2
        "tied": 4.0 * n * d * d + 6.0 * n * k * d,
        "diag": 8.0 * n * k * d,
        "spherical": 6.0 * n * k * d,
    }[covariance_type]


def table(rows, columns):
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    line = "  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print(
            "  ".join(str(r[c]).rjust(w) for c, w in zip(columns, widths, strict=True))
        )
    print()


# ---------------------------------------------------------------- Gaussian
def bench_gaussian(n, d, k, covariance_type, dtype, peak_gflops, args):
    X = make_gaussian_data(n, d, k, dtype=dtype)
    start = gaussian_start(X, covariance_type, k)

    def ours(n_iter):
        return GaussianMixtureEM(
            k, covariance_type=covariance_type, max_iter=n_iter, tol=0.0, **start
        )

    def theirs(n_iter):
        return GaussianMixture(
            k, covariance_type=covariance_type, max_iter=n_iter, tol=0.0, **start
        )

    t_ours, fit_ours = per_iteration(ours, X, repeat=args.repeat)
    t_theirs, fit_theirs = per_iteration(theirs, X, repeat=args.repeat)
    rel = abs(fit_ours.lower_bound_ - fit_theirs.lower_bound_) / abs(
        fit_theirs.lower_bound_
    )
    gflops = gaussian_flops(covariance_type, n, d, k) / t_ours / 1e9
    row = {
        "cov": covariance_type,
        "dtype": np.dtype(dtype).name,
        "n": n,
        "d": d,
        "K": k,
        "sklearn s/it": f"{t_theirs:.4f}",
        "emmix s/it": f"{t_ours:.4f}",
        "speed-up": f"{t_theirs / t_ours:.2f}x",
        "emmix GFLOP/s": f"{gflops:.1f}",
        "% of matmul": f"{100 * gflops / peak_gflops:.0f}",
        "loglik rel diff": f"{rel:.1e}",
    }
    if args.memory:
        m_ours = peak_mib(ours, X)
        m_theirs = peak_mib(theirs, X)
        row["sklearn MiB"] = f"{m_theirs:.0f}"
        row["emmix MiB"] = f"{m_ours:.0f}"
        row["mem ratio"] = f"{m_ours / m_theirs:.2f}"
    return row


# ------------------------------------------------- counts against plain numpy
def numpy_poisson_em(X, weights, rates, n_iter):
    """Textbook EM for a product-Poisson mixture, straight from the formulas."""
    log_fact = gammaln(X + 1).sum(axis=1, keepdims=True)
    for _ in range(n_iter):
        log_p = X @ np.log(rates).T - rates.sum(axis=1) - log_fact + np.log(weights)
        top = log_p.max(axis=1, keepdims=True)
        resp = np.exp(log_p - top)
        resp /= resp.sum(axis=1, keepdims=True)
        nk = resp.sum(axis=0)
        weights = nk / nk.sum()
        rates = (resp.T @ X) / nk[:, np.newaxis]
    return weights, rates


def numpy_binomial_em(X, n_trials, weights, probs, n_iter):
    log_coef = (gammaln(n_trials + 1) - gammaln(X + 1) - gammaln(n_trials - X + 1)).sum(
        axis=1, keepdims=True
    )
    for _ in range(n_iter):
        log_p = (
            X @ np.log(probs).T + (n_trials - X) @ np.log1p(-probs).T + log_coef
        ) + np.log(weights)
        top = log_p.max(axis=1, keepdims=True)
        resp = np.exp(log_p - top)
        resp /= resp.sum(axis=1, keepdims=True)
        nk = resp.sum(axis=0)
        weights = nk / nk.sum()
        probs = (resp.T @ X) / (nk[:, np.newaxis] * n_trials)
    return weights, probs


def bench_counts(n, d, k, args):
    rng = np.random.RandomState(0)
    rows = []
    rates = rng.uniform(1, 20, size=(k, d))
    X = rng.poisson(rates[rng.randint(k, size=n)]).astype(np.float64)
    w0 = np.full(k, 1.0 / k)
    r0 = rng.uniform(1, 20, size=(k, d))

    def ours(n_iter):
        return PoissonMixture(
            k, max_iter=n_iter, tol=0.0, weights_init=w0, rates_init=r0
        )

    t_ours, fit = per_iteration(ours, X, repeat=args.repeat)
    a = _timed(lambda: numpy_poisson_em(X, w0, r0, 2))
    b = _timed(lambda: numpy_poisson_em(X, w0, r0, 7))
    t_np = (b - a) / 5
    _, ref_rates = numpy_poisson_em(X, w0, r0, 7)
    rows.append(
        {
            "model": "PoissonMixture",
            "n": n,
            "d": d,
            "K": k,
            "numpy s/it": f"{t_np:.4f}",
            "emmix s/it": f"{t_ours:.4f}",
            "speed-up": f"{t_np / t_ours:.2f}x",
            "max rel diff": f"{np.max(np.abs(fit.rates_ - ref_rates) / ref_rates):.1e}",
        }
    )
    n_trials = 50
    probs = rng.uniform(0.05, 0.95, size=(k, d))
    X = rng.binomial(n_trials, probs[rng.randint(k, size=n)]).astype(np.float64)
    p0 = rng.uniform(0.2, 0.8, size=(k, d))

    def coins(n_iter):
        return CoinMixture(
            k,
            n_trials=n_trials,
            max_iter=n_iter,
            tol=0.0,
            weights_init=w0,
            probs_init=p0,
        )

    t_ours, fit = per_iteration(coins, X, repeat=args.repeat)
    a = _timed(lambda: numpy_binomial_em(X, n_trials, w0, p0, 2))
    b = _timed(lambda: numpy_binomial_em(X, n_trials, w0, p0, 7))
    t_np = (b - a) / 5
    _, ref_probs = numpy_binomial_em(X, n_trials, w0, p0, 7)
    rows.append(
        {
            "model": "CoinMixture",
            "n": n,
            "d": d,
            "K": k,
            "numpy s/it": f"{t_np:.4f}",
            "emmix s/it": f"{t_ours:.4f}",
            "speed-up": f"{t_np / t_ours:.2f}x",
            "max rel diff": f"{np.max(np.abs(fit.probs_ - ref_probs) / ref_probs):.1e}",
        }
    )
    return rows


# --------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grid")
    parser.add_argument("--repeat", type=int, default=2, help="best of R fits")
    parser.add_argument(
        "--no-memory", dest="memory", action="store_false", help="skip peak memory"
    )
    parser.add_argument(
        "--only",
        choices=["targets", "scaling", "counts"],
        action="append",
        help="run only these sections (repeatable); default all",
    )
    parser.add_argument("--out", default="benchmarks/results/bench_em.json")
    args = parser.parse_args(argv)

    gflops64 = matmul_gflops(np.float64)
    gflops32 = matmul_gflops(np.float32)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}"
    )
    print(
        f"matrix-product throughput: {gflops64:.1f} GFLOP/s (float64), "
        f"{gflops32:.1f} GFLOP/s (float32)\n"
    )

    n = 50_000 if args.quick else 200_000
    results = {"matmul_gflops": {"float64": gflops64, "float32": gflops32}}

    sections = set(args.only or ["targets", "scaling", "counts"])
    columns = None
    if "targets" in sections:
        columns = run_targets(n, gflops64, gflops32, args, results)
    if "scaling" in sections:
        run_scaling(gflops64, args, results, columns)
    if "counts" in sections:
        print("== Count mixtures against plain numpy EM (float64) ==")
        counts = bench_counts(n, 8, 8, args)
        table(counts, list(counts[0]))
        results["counts"] = counts

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"results written to {out}")
    return 0


def run_targets(n, gflops64, gflops32, args, results):
    print(f"== Targets: n={n}, d=16, K=16 ==")
    rows = []
    for covariance_type in ("full", "tied", "diag", "spherical"):
        for dtype in (np.float64, np.float32):
            peak = gflops64 if dtype == np.float64 else gflops32
            rows.append(bench_gaussian(n, 16, 16, covariance_type, dtype, peak, args))
    columns = list(rows[0])
    table(rows, columns)
    results["targets"] = rows
    return columns


def run_scaling(gflops64, args, results, columns):
    print("== Scaling (full and diag covariance, float64) ==")
    grid = (
        [(10_000, 16, 16), (50_000, 16, 16), (50_000, 2, 16), (50_000, 16, 4)]
        if args.quick
        else [
            (10_000, 16, 16),
            (100_000, 16, 16),
            (1_000_000, 16, 16),
            (100_000, 2, 16),
            (100_000, 64, 16),
            (100_000, 16, 2),
            (100_000, 16, 64),
        ]
    )
    scaling = []
    for nn, d, k in grid:
        for covariance_type in ("full", "diag"):
            scaling.append(
                bench_gaussian(nn, d, k, covariance_type, np.float64, gflops64, args)
            )
    table(scaling, columns or list(scaling[0]))
    results["scaling"] = scaling


if __name__ == "__main__":
    sys.exit(main())
