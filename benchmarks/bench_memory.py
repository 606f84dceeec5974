"""Peak resident memory of whole fits: emmix against scikit-learn.

Run from the repository root::

    python benchmarks/bench_memory.py            # n = 1e5 .. 1e6, full and diag
    python benchmarks/bench_memory.py --steps    # every step at n = 4e5 (inits,
                                                 # restarts, model selection,
                                                 # other families, the imputer)
    python benchmarks/bench_memory.py --large    # adds n = 3e6 and 1e7 (float32),
                                                 # --large-iters (1) iterations

Every fit runs in its own child process. The child builds ``X`` block by
block (no temporary larger than a block), records its resident memory, resets
the kernel's peak counter (``/proc/self/clear_refs``), fits, and reports the
peak (``VmHWM``). The table shows:

* ``base``: resident memory of Python, the imports and ``X`` before the fit;
* ``peak``: the child's peak resident memory from the start of the fit on
  (``VmHWM`` after the reset: at least ``base``);
* ``extra``: the memory the fit adds, ``peak`` minus ``base``.

The issue's target at ``n = 4e5 x 16`` (float64, K = 16, k-means start,
5 iterations): the extra memory of an emmix fit is at most scikit-learn's and
at most ``3 x X + 100 MB``; two columns check each for every row (at small
``n`` the E-step's fixed chunk temporaries, about 32 MB per thread, exceed
scikit-learn's n-proportional extra).

The largest ``n`` that fits on this machine is extrapolated from the
measured per-row slope of the peak (between the two largest ``n`` measured),
never by trying it: ``n_max = (MemTotal - intercept) / slope``.

Results are printed as tables and written to
``benchmarks/results/bench_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

MB = 2**20
#: Never start a child whose predicted peak exceeds this (other processes
#: share the machine).
CHILD_LIMIT_BYTES = 6 * 2**30


# ------------------------------------------------------------- the child
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def make_data(n, d, k, dtype, seed=0):
    """Blobs from ``k`` Gaussians, built in blocks into one array."""
    import numpy as np

    rng = np.random.RandomState(seed)
    centres = rng.uniform(-10, 10, size=(k, d))
    X = np.empty((n, d), dtype=dtype)
    block = 100_000
    for start in range(0, n, block):
        stop = min(start + block, n)
        labels = rng.randint(k, size=stop - start)
        X[start:stop] = centres[labels] + rng.standard_normal((stop - start, d))
    return X


def _prepare_in_place(kind, X):
    """Counts for the discrete families, 10 % missing cells for the imputer."""
    import numpy as np

    rng = np.random.RandomState(2)
    for start in range(0, X.shape[0], 100_000):
        block = X[start : start + 100_000]
        if kind in ("poisson", "coin"):
            np.abs(np.rint(block, out=block), out=block)
        elif kind == "imputer":
            block[rng.uniform(size=block.shape) < 0.1] = np.nan


def _run_case(case, X):
    """Fit one case; ``case`` is a dict (see ``cases``)."""
    import numpy as np

    lib, kind = case["lib"], case["kind"]
    common = dict(max_iter=case["iters"], tol=0.0, random_state=0)
    if lib == "sklearn":
        from sklearn.mixture import GaussianMixture

        GaussianMixture(
            case["k"],
            covariance_type=case["cov"],
            init_params=case.get("init", "kmeans"),
            n_init=case.get("n_init", 1),
            **common,
        ).fit(X)
        return
    from emmix import (
        CoinMixture,
        GaussianMixtureEM,
        MultivariateNormalImputer,
        PoissonMixture,
    )

    if kind == "gaussian":
        init = {}
        if case.get("init") == "user":
            rng = np.random.RandomState(1)
            init = {"means_init": X[rng.choice(X.shape[0], case["k"], replace=False)]}
            init["weights_init"] = np.full(case["k"], 1.0 / case["k"])
            d = X.shape[1]
            init["precisions_init"] = {
                "full": np.tile(np.eye(d), (case["k"], 1, 1)),
                "diag": np.ones((case["k"], d)),
            }[case["cov"]]
        else:
            init = {"init_params": case.get("init", "kmeans")}
        GaussianMixtureEM(
            case["k"],
            covariance_type=case["cov"],
            n_init=case.get("n_init", 1),
            accelerate=case.get("accelerate"),
            **init,
            **common,
        ).fit(X)
    elif kind == "select":
        from emmix.model_selection import select_n_components

        select_n_components(
            GaussianMixtureEM(covariance_type=case["cov"], **common),
            X,
            n_components=[case["k"] // 2, case["k"]],
        )
    elif kind == "select-cv":
        from emmix.model_selection import select_n_components

        select_n_components(
            GaussianMixtureEM(covariance_type=case["cov"], **common),
            X,
            n_components=[case["k"]],
            criterion="cv",
            cv=3,
        )
    elif kind == "fit_predict":
        GaussianMixtureEM(case["k"], covariance_type=case["cov"], **common).fit_predict(
            X
        )
    elif kind == "poisson":
        PoissonMixture(case["k"], **common).fit(X)
    elif kind == "coin":
        CoinMixture(case["k"], n_trials=int(X.max()), **common).fit(X)
    elif kind == "imputer":
        MultivariateNormalImputer(max_iter=case["iters"], tol=0.0).fit_transform(X)
    else:
        raise ValueError(f"unknown kind {kind!r}")


def child(case_json: str) -> None:
    import gc
    import warnings

    import numpy as np
    import sklearn.cluster  # imported before the baseline
    import sklearn.mixture  # noqa: F401

    import emmix  # noqa: F401

    warnings.simplefilter("ignore")
    case = json.loads(case_json)
    X = make_data(case["n"], case["d"], case["k"], np.dtype(case["dtype"]))
    _prepare_in_place(case["kind"], X)
    gc.collect()
    base = _status_kb("VmRSS") * 1024
    reset = _reset_peak()
    before_peak = _status_kb("VmHWM") * 1024
    start = time.perf_counter()
    _run_case(case, X)
    seconds = time.perf_counter() - start
    peak = _status_kb("VmHWM") * 1024
    print(
        json.dumps(
            {
                "base": base,
                "peak_self": peak,
                "reset": reset,
                "before_peak": before_peak,
                "x_bytes": int(X.nbytes),
                "seconds": seconds,
            }
        )
    )


# ------------------------------------------------------------ the parent
def predicted_peak(case: dict, results: list) -> float | None:
    """The peak of ``case`` scaled from the largest measured fit of its kind."""
    import numpy as np

    same = [
        r
        for r in results
        if (r["lib"], r["kind"], r["cov"]) == (case["lib"], case["kind"], case["cov"])
    ]
    if not same:
        return None
    last = max(same, key=lambda r: r["n"] * np.dtype(r["dtype"]).itemsize)
    ratio = (case["n"] * np.dtype(case["dtype"]).itemsize) / (
        last["n"] * np.dtype(last["dtype"]).itemsize
    )
    return last["peak"] * max(ratio, 1.0)


def measure(case: dict) -> dict:
    """Run ``case`` in a child process and return its report."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(case)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"child failed for {case}:\n{err[-3000:]}")
    report = json.loads(out.strip().splitlines()[-1])
    if not report["reset"]:
        # The counter kept the peak of the imports and X: the fit's extra is
        # then only known above that level (a lower bound for small fits).
        report["extra"] = max(report["peak_self"] - report["before_peak"], 0) + (
            report["before_peak"] - report["base"]
        )
    else:
        report["extra"] = report["peak_self"] - report["base"]
    report["peak"] = max(report["peak_self"], report["base"])
    return {**case, **report}


def _mem_total() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _fmt_mb(b) -> str:
    return f"{b / MB:8.0f}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def _target(x_bytes) -> float:
    return 3 * x_bytes + 100 * MB


def scaling_table(
    sizes, covs, d, k, iters, results, large_iters, large_from, sklearn_max_n
):
    """emmix and scikit-learn side by side for each n and covariance type."""
    print(
        f"\nWhole fits (d={d}, K={k}, k-means start, {iters} iterations up to "
        f"n={large_from:g}, {large_iters} above; one child process each); MB"
    )
    header = (
        f"{'n':>10} {'dtype':>7} {'cov':>5} {'X':>8} | {'emmix':>8} {'extra':>8}"
        f" {'s':>6} | {'sklearn':>8} {'extra':>8} {'s':>6} | {'3X+100':>8}"
        " <=3X+100 <=sklearn"
    )
    print(header)
    print("-" * len(header))
    for n, dtype in sizes:
        for cov in covs:
            row = {}
            for lib in ("emmix", "sklearn"):
                case = dict(
                    lib=lib, kind="gaussian", n=n, d=d, k=k, dtype=dtype, cov=cov,
                    iters=iters if n <= large_from else large_iters,
                )  # fmt: skip
                guess = predicted_peak(case, results)
                if lib == "sklearn" and n > sklearn_max_n:
                    row[lib] = None  # extrapolated from its smaller fits
                    continue
                if guess is not None and guess > CHILD_LIMIT_BYTES:
                    row[lib] = None  # never risk the shared machine
                    continue
                row[lib] = measure(case)
                results.append(row[lib])
            e, s = row["emmix"], row["sklearn"]
            if e is not None and s is None and n > sklearn_max_n:
                print(
                    f"{n:>10} {dtype:>7} {cov:>5} {_fmt_mb(e['x_bytes'])} |"
                    f" {_fmt_mb(e['peak'])} {_fmt_mb(e['extra'])}"
                    f" {e['seconds']:6.1f} | {'(not run)':>24} |"
                    f" {_fmt_mb(_target(e['x_bytes']))}"
                    f" {_yes(e['extra'] <= _target(e['x_bytes'])):>8}",
                    flush=True,
                )
                continue
            if e is None or s is None:
                print(
                    f"{n:>10} {dtype:>7} {cov:>5} skipped: predicted peak above "
                    f"{CHILD_LIMIT_BYTES / 2**30:.0f} GiB"
                )
                continue
            ok_x = e["extra"] <= _target(e["x_bytes"])
            ok_s = e["extra"] <= s["extra"]
            print(
                f"{n:>10} {dtype:>7} {cov:>5} {_fmt_mb(e['x_bytes'])} |"
                f" {_fmt_mb(e['peak'])} {_fmt_mb(e['extra'])} {e['seconds']:6.1f} |"
                f" {_fmt_mb(s['peak'])} {_fmt_mb(s['extra'])} {s['seconds']:6.1f} |"
                f" {_fmt_mb(_target(e['x_bytes']))} {_yes(ok_x):>8} {_yes(ok_s):>8}",
                flush=True,
            )


def largest_n(results, d):
    """Largest n on this machine from the per-row slope of the measured peaks."""
    total = _mem_total()
    print(f"\nLargest n on this machine (MemTotal {total / 2**30:.1f} GiB), d={d}")
    print("extrapolated: n_max = (MemTotal - intercept) / slope, slope in bytes/row")
    header = (
        f"{'lib':>8} {'dtype':>7} {'cov':>5} {'slope':>8} {'n_max':>14}"
        f" {'n at 12 GiB':>14}"
    )
    print(header)
    print("-" * len(header))
    fits = {}
    for r in results:
        if r["kind"] == "gaussian":
            key = (r["lib"], r["dtype"], r["cov"])
            fits.setdefault(key, {})[r["n"]] = r["peak"]
    out = []
    for (lib, dtype, cov), peaks in sorted(fits.items()):
        ns = sorted(peaks)
        if len(ns) < 2:
            continue
        n1, n2 = ns[-2], ns[-1]
        slope = (peaks[n2] - peaks[n1]) / (n2 - n1)
        intercept = peaks[n2] - slope * n2
        if slope <= 0:
            continue
        n_max = int((total - intercept) / slope)
        n_12 = int((12 * 2**30 - intercept) / slope)
        out.append(
            dict(lib=lib, dtype=dtype, cov=cov, slope=slope, n_max=n_max, n_12=n_12)
        )
        print(f"{lib:>8} {dtype:>7} {cov:>5} {slope:8.0f} {n_max:>14,} {n_12:>14,}")
    return out


def steps_table(n, d, k, iters, results, with_sklearn=True):
    """Every other step of a fit at one size, each in its own process."""
    cases = [
        ("full, k-means", dict(kind="gaussian", cov="full")),
        ("full, k-means++", dict(kind="gaussian", cov="full", init="k-means++")),
        ("full, random", dict(kind="gaussian", cov="full", init="random")),
        (
            "full, random_from_data",
            dict(kind="gaussian", cov="full", init="random_from_data"),
        ),
        ("full, user inits", dict(kind="gaussian", cov="full", init="user")),
        ("full, n_init=3", dict(kind="gaussian", cov="full", n_init=3)),
        ("full, squarem", dict(kind="gaussian", cov="full", accelerate="squarem")),
        ("diag, k-means", dict(kind="gaussian", cov="diag")),
        ("diag, random", dict(kind="gaussian", cov="diag", init="random")),
        ("diag, n_init=3", dict(kind="gaussian", cov="diag", n_init=3)),
        ("full, fit_predict", dict(kind="fit_predict", cov="full")),
        ("select_n_components diag", dict(kind="select", cov="diag")),
        ("select_n_components cv=3", dict(kind="select-cv", cov="diag")),
        ("PoissonMixture", dict(kind="poisson", cov="-")),
        ("CoinMixture", dict(kind="coin", cov="-")),
        ("MultivariateNormalImputer", dict(kind="imputer", cov="-")),
    ]
    sklearn_twins = {
        "full, k-means": dict(cov="full"),
        "full, k-means++": dict(cov="full", init="k-means++"),
        "full, random": dict(cov="full", init="random"),
        "full, random_from_data": dict(cov="full", init="random_from_data"),
        "full, n_init=3": dict(cov="full", n_init=3),
        "diag, k-means": dict(cov="diag"),
        "diag, random": dict(cov="diag", init="random"),
        "diag, n_init=3": dict(cov="diag", n_init=3),
    }
    print(f"\nEvery step at n={n}, d={d}, K={k}, float64, {iters} iterations; MB")
    header = (
        f"{'case':>26} | {'emmix':>8} {'extra':>8} {'s':>6} |"
        f" {'sklearn':>8} {'extra':>8} | {'3X+100':>8} <=3X+100 <=sklearn"
    )
    print(header)
    print("-" * len(header))
    for name, spec in cases:
        case = dict(lib="emmix", n=n, d=d, k=k, dtype="float64", iters=iters, **spec)
        e = measure(case)
        e["name"] = name
        results.append(e)
        s = None
        if with_sklearn and name in sklearn_twins:
            twin = dict(
                lib="sklearn", kind="gaussian", n=n, d=d, k=k, dtype="float64",
                iters=iters, **sklearn_twins[name],
            )  # fmt: skip
            s = measure(twin)
            s["name"] = name
            results.append(s)
        bound = _target(e["x_bytes"])
        ok_s = "" if s is None else _yes(e["extra"] <= s["extra"])
        s_txt = f"{'':>8} {'':>8}" if s is None else (_fmt_mb(s["peak"]) + " ")
        if s is not None:
            s_txt += _fmt_mb(s["extra"])
        print(
            f"{name:>26} | {_fmt_mb(e['peak'])} {_fmt_mb(e['extra'])}"
            f" {e['seconds']:6.1f} | {s_txt} | {_fmt_mb(bound)}"
            f" {_yes(e['extra'] <= bound):>8} {ok_s:>8}",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--steps", action="store_true", help="every step at n=4e5")
    parser.add_argument("--large", action="store_true", help="n up to 1e7 (float32)")
    parser.add_argument("--no-scaling", action="store_true")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument(
        "--large-iters",
        type=int,
        default=1,
        help="iterations above --large-from (each iteration allocates the same, so "
        "the peak is reached in the first; this keeps the wall time sane)",
    )
    parser.add_argument(
        "--large-from", type=float, default=1e6, help="n above which --large-iters"
    )
    parser.add_argument(
        "--sklearn-max-n",
        type=float,
        default=1e12,
        help="larger n are fitted by emmix only (scikit-learn's n_max is then "
        "extrapolated from its smaller fits)",
    )
    parser.add_argument(
        "--sizes", help="e.g. 4e5:float64,1e7:float32 (overrides the default grid)"
    )
    parser.add_argument(
        "--steps-emmix-only", action="store_true", help="no scikit-learn twins"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (a check)")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return
    d, k = 16, 16
    started = time.perf_counter()
    results: list = []
    print(f"python {platform.python_version()}, {platform.machine()}")
    if not args.no_scaling:
        sizes = [(100_000, "float64"), (400_000, "float64"), (1_000_000, "float64")]
        if args.large:
            sizes += [
                (1_000_000, "float32"),
                (3_000_000, "float32"),
                (10_000_000, "float32"),
            ]
        if args.smoke:
            sizes = [(20_000, "float64"), (40_000, "float64")]
        if args.sizes:
            sizes = [
                (int(float(n)), dtype)
                for n, dtype in (item.split(":") for item in args.sizes.split(","))
            ]
        scaling_table(
            sizes,
            ("full", "diag"),
            d,
            k,
            args.iters,
            results,
            args.large_iters,
            int(args.large_from),
            int(args.sklearn_max_n),
        )
        largest = largest_n(results, d)
    else:
        largest = []
    if args.steps:
        n_steps = 20_000 if args.smoke else 400_000
        steps_table(n_steps, d, k, args.iters, results, not args.steps_emmix_only)
    wall = time.perf_counter() - started
    print(f"\nwall time of the benchmark: {wall:.0f} s")
    name = "bench_memory_smoke.json" if args.smoke else "bench_memory.json"
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"results": results, "largest_n": largest, "wall_s": wall}, indent=1)
    )


if __name__ == "__main__":
    main()
