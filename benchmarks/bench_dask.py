"""GaussianMixtureEM on a Dask array larger than a worker's memory.

Run from the repository root (needs the ``dask`` extra)::

    python benchmarks/bench_dask.py [--rows 25000000]

A local dask.distributed cluster of 2 worker processes (1 thread and a 1 GB
memory limit each) fits a diagonal Gaussian mixture (K=8) to 25 million rows of
16 float64 features (3.2 GB, more than both workers' memory together). The
rows are generated lazily by ``dask.array.random`` with a fixed seed, so every
pass regenerates its blocks where they are processed: the data never exist in
one place. The fit starts from explicit ``*_init`` arrays and makes a few
iterations (``tol=0``).

Reported:

* seconds per EM iteration on Dask, and the time of a pass of the same shape
  that only regenerates the data (column sums in place of the E-step);
* bytes that can travel per iteration: the outputs of the per-block E-step
  and tree-sum tasks (from the scheduler's task stream) plus the pickled
  parameters and estimator, sent once to each worker;
* the in-memory fit on a subset that fits in memory (the first rows, same
  start), per iteration and per million rows, and the ratio Dask / in-memory;
* the largest relative difference between the Dask and in-memory fits of
  that subset (the same numbers, to rounding).

Results are also written to ``benchmarks/results/bench_dask.json``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from emmix import GaussianMixtureEM
from emmix._em import EMMixin

warnings.simplefilter("ignore", ConvergenceWarning)

N_FEATURES = 16
N_COMPONENTS = 8
CHUNK_ROWS = 250_000  # 32 MB per block
N_ITER = 3
SUBSET_ROWS = 2_000_000  # 256 MB in memory
SEED = 0


def centres():
    rng = np.random.default_rng(SEED)
    return rng.normal(scale=4.0, size=(N_COMPONENTS, N_FEATURES))


def make_data(n_rows):
    """The lazily generated mixture: 8 centres plus unit noise."""
    import dask.array as da

    means = centres()
    rng = da.random.default_rng(SEED)
    labels = rng.integers(0, N_COMPONENTS, size=n_rows, chunks=CHUNK_ROWS)
    noise = rng.standard_normal((n_rows, N_FEATURES), chunks=(CHUNK_ROWS, N_FEATURES))
    offsets = labels.map_blocks(
        lambda block: means[block],
        new_axis=1,
        chunks=(labels.chunks[0], (N_FEATURES,)),
        dtype=np.float64,
    )
    return noise + offsets


def estimator():
    means = centres()
    return GaussianMixtureEM(
        N_COMPONENTS,
        covariance_type="diag",
        tol=0.0,
        max_iter=N_ITER,
        weights_init=np.full(N_COMPONENTS, 1.0 / N_COMPONENTS),
        means_init=means + 0.5,
        precisions_init=np.ones((N_COMPONENTS, N_FEATURES)),
    )


class PassTimer:
    """Times every E-step pass of the engine (Dask or in-memory)."""

    def __init__(self):
        self.times: list[float] = []
        self._original = EMMixin._em_pass

    def __enter__(self):
        original = self._original
        times = self.times

        def timed(est, X, sample_weight, params):
            start = time.perf_counter()
            result = original(est, X, sample_weight, params)
            times.append(time.perf_counter() - start)
            return result

        EMMixin._em_pass = timed
        return self

    def __exit__(self, *exc):
        EMMixin._em_pass = self._original


def bytes_of_one_pass(client, gm, X):
    """Bytes the outputs of one pass's small tasks and its inputs can move."""
    from distributed import get_task_stream

    from emmix._dask import dask_em_pass, dask_validate

    X, w = dask_validate(gm, X, None, reset=False)
    params = gm._em_load()
    with get_task_stream(client) as stream:
        dask_em_pass(gm, X, w, params)
    per_task = {"_block_em_pass": [0, 0], "_combine_stats": [0, 0]}
    for record in stream.data:
        key = record["key"]
        name = key[0] if isinstance(key, tuple) else key
        for prefix, total in per_task.items():
            if str(name).startswith(prefix):
                total[0] += 1
                total[1] += int(record.get("nbytes", 0))
    n_workers = len(client.scheduler_info()["workers"])
    shipped = len(pickle.dumps(params)) + len(pickle.dumps(gm))
    return {
        "blocks": X.numblocks[0],
        "estep_tasks": per_task["_block_em_pass"][0],
        "estep_output_bytes": per_task["_block_em_pass"][1],
        "tree_sum_tasks": per_task["_combine_stats"][0],
        "tree_sum_output_bytes": per_task["_combine_stats"][1],
        "params_and_estimator_bytes_per_worker": shipped,
        "total_bytes": per_task["_block_em_pass"][1]
        + per_task["_combine_stats"][1]
        + shipped * n_workers,
    }


def data_only_pass(X):
    """Seconds of a pass shaped like an E-step pass that only reads the blocks.

    The same graph (one task per block, then the tree sum), with column sums
    in place of the E-step: what regenerating the data costs per iteration.
    """
    import dask

    from emmix._dask import _row_blocks, _tree_reduce

    def column_sums(*parts):
        return np.sum([np.sum(p, axis=0) if p.ndim == 2 else p for p in parts], axis=0)

    start = time.perf_counter()
    parts = [dask.delayed(column_sums)(x) for (x,) in _row_blocks(X)]
    dask.compute(_tree_reduce(parts, column_sums))
    return time.perf_counter() - start


def rel_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=25_000_000)
    args = parser.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    n_rows = args.rows
    X = make_data(n_rows)
    report: dict = {
        "rows": n_rows,
        "features": N_FEATURES,
        "components": N_COMPONENTS,
        "covariance_type": "diag",
        "data_GB": X.nbytes / 1e9,
        "block_rows": CHUNK_ROWS,
        "workers": "2 processes x 1 thread, memory_limit=1GB each",
        "iterations": N_ITER,
    }
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GB",
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster,
        Client(cluster) as client,
    ):
        gm = estimator()
        start = time.perf_counter()
        with PassTimer() as timer:
            gm.fit(X)
        report["dask_fit_s"] = time.perf_counter() - start
        report["dask_s_per_iter"] = float(np.mean(timer.times))
        report["dask_iter_s"] = timer.times
        report["dask_validation_s"] = report["dask_fit_s"] - float(sum(timer.times))
        report["bytes_per_iter"] = bytes_of_one_pass(client, gm, X)
        report["data_pass_s"] = data_only_pass(X)

        subset = min(SUBSET_ROWS, n_rows)
        X_sub = X[:subset]
        local = X_sub.compute()
        with PassTimer() as sub_timer:
            gm_sub_dask = estimator().fit(X_sub)
        report["dask_subset_s_per_iter"] = float(np.mean(sub_timer.times))

    with PassTimer() as mem_timer:
        gm_mem = estimator().fit(local)
    report["subset_rows"] = subset
    report["memory_s_per_iter"] = float(np.mean(mem_timer.times))
    per_million_dask = report["dask_s_per_iter"] / (n_rows / 1e6)
    per_million_mem = report["memory_s_per_iter"] / (subset / 1e6)
    report["dask_s_per_iter_per_Mrow"] = per_million_dask
    report["memory_s_per_iter_per_Mrow"] = per_million_mem
    report["ratio_dask_to_memory"] = per_million_dask / per_million_mem
    report["subset_max_rel_diff"] = max(
        rel_diff(getattr(gm_mem, name), getattr(gm_sub_dask, name))
        for name in ("weights_", "means_", "covariances_")
    )
    report["subset_lower_bound_rel_diff"] = rel_diff(
        gm_mem.lower_bounds_, gm_sub_dask.lower_bounds_
    )

    moved = report["bytes_per_iter"]
    rows = [
        ("data", f"{n_rows:,} x {N_FEATURES} float64 = {report['data_GB']:.2f} GB"),
        ("blocks", f"{moved['blocks']} of {CHUNK_ROWS:,} rows"),
        ("cluster", report["workers"]),
        (
            f"fit (validation pass + {N_ITER} iterations)",
            f"{report['dask_fit_s']:.1f} s",
        ),
        ("  validation pass", f"{report['dask_validation_s']:.1f} s"),
        ("Dask s / iteration", f"{report['dask_s_per_iter']:.2f} s"),
        ("  a pass that only regenerates the data", f"{report['data_pass_s']:.2f} s"),
        (
            "  so the E-step and sums take about",
            f"{report['dask_s_per_iter'] - report['data_pass_s']:.2f} s",
        ),
        (
            "bytes moved / iteration",
            f"{moved['total_bytes'] / 1e6:.2f} MB ("
            f"{moved['estep_tasks']} E-step outputs "
            f"{moved['estep_output_bytes'] / 1e6:.2f} MB, "
            f"{moved['tree_sum_tasks']} tree sums "
            f"{moved['tree_sum_output_bytes'] / 1e6:.2f} MB, params+estimator "
            f"{moved['params_and_estimator_bytes_per_worker'] / 1e3:.1f} kB x 2)",
        ),
        (
            "  vs data / iteration",
            f"{report['data_GB'] * 1e3:.0f} MB (ratio "
            f"{moved['total_bytes'] / X.nbytes:.1e})",
        ),
        (
            f"in-memory s / iteration ({subset:,} rows)",
            f"{report['memory_s_per_iter']:.3f} s",
        ),
        ("Dask s / iteration / M rows", f"{per_million_dask:.3f} s"),
        ("in-memory s / iteration / M rows", f"{per_million_mem:.3f} s"),
        ("ratio Dask / in-memory", f"{report['ratio_dask_to_memory']:.2f}x"),
        (
            f"Dask vs in-memory fit of the {subset:,}-row subset",
            f"max rel diff {report['subset_max_rel_diff']:.1e} (params), "
            f"{report['subset_lower_bound_rel_diff']:.1e} (lower bounds)",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"| {'':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    out = Path(__file__).parent / "results" / "bench_dask.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
