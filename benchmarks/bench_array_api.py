"""Seconds per EM iteration on Array API namespaces: emmix, scikit-learn, pomegranate.

Run from the repository root (SCIPY_ARRAY_API=1 is set by the script before
scipy is imported)::

    python benchmarks/bench_array_api.py            # n=1e6, d=32, K=32
    python benchmarks/bench_array_api.py --small    # n=1e5, d=16, K=8 (2 cores)

For ``covariance_type`` full and diag, in float32, every contender starts from
the same parameters (``weights_init``, ``means_init``, ``precisions_init``,
drawn once) and runs a fixed number of iterations (``tol=0``):

* emmix numpy: ``GaussianMixtureEM`` on a numpy array (the numpy path);
* emmix torch-cpu / torch-cuda: the same under ``array_api_dispatch`` on a
  PyTorch tensor (PyTorch where installed; CUDA where a GPU is visible);
* sklearn numpy and sklearn torch-cpu / torch-cuda: scikit-learn's
  ``GaussianMixture``, its own Array API path under dispatch;
* pomegranate torch-cpu / torch-cuda: ``pomegranate.gmm.GeneralMixtureModel``
  of ``Normal`` components (where pomegranate is installed).

Seconds per iteration is the difference between fits of ``a`` and ``b``
iterations divided by ``b - a`` (set-up, validation and final E-steps cancel
out), best of ``--repeat``; the final mean log-likelihood of each fit of
``b`` iterations is printed beside it (all start from the same parameters, so
they must agree to float32 rounding).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from emmix import GaussianMixtureEM

warnings.simplefilter("ignore", ConvergenceWarning)


def make_problem(n, d, k, seed=0, dtype=np.float32):
    """Data from a random mixture and a start near (not at) its parameters."""
    rng = np.random.RandomState(seed)
    means = rng.uniform(-6, 6, size=(k, d))
    labels = rng.randint(0, k, n)
    X = (means[labels] + rng.standard_normal((n, d))).astype(dtype)
    start_means = means + 0.5 * rng.standard_normal((k, d))
    return X, np.full(k, 1.0 / k), start_means


def start_precisions(covariance_type, k, d):
    if covariance_type == "full":
        return np.broadcast_to(np.eye(d), (k, d, d)).copy()
    return np.ones((k, d))


def _timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def per_iteration(fit, a, b, repeat):
    """``(seconds per iteration, result of the b-iteration fit)``."""
    best = {}
    result = None
    for n_iter in (a, b):
        for _ in range(repeat):
            seconds, out = _timed(lambda n_iter=n_iter: fit(n_iter))
            best[n_iter] = min(best.get(n_iter, np.inf), seconds)
            if n_iter == b:
                result = out
    return (best[b] - best[a]) / (b - a), result


def _sync(device):
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def contenders(covariance_type, X, weights, means, torch_devices):
    """name -> fit(n_iter) returning the mean log-likelihood (a float)."""
    k, d = means.shape
    precisions = start_precisions(covariance_type, k, d)
    params = dict(
        n_components=k,
        covariance_type=covariance_type,
        tol=0.0,
        init_params="random",  # unused: every *_init is given
        weights_init=weights,
        means_init=means,
        precisions_init=precisions,
    )

    def numpy_fit(cls):
        def fit(n_iter):
            est = cls(max_iter=n_iter, **params).fit(X)
            return float(est.score(X))

        return fit

    out = {
        "emmix numpy": numpy_fit(GaussianMixtureEM),
        "sklearn numpy": numpy_fit(GaussianMixture),
    }
    if not torch_devices:
        return out
    import torch

    for device in torch_devices:
        Xt = torch.asarray(X, device=device)
        inits = {
            "weights_init": torch.asarray(weights.astype(X.dtype), device=device),
            "means_init": torch.asarray(means.astype(X.dtype), device=device),
            "precisions_init": torch.asarray(precisions.astype(X.dtype), device=device),
        }

        def dispatch_fit(cls, Xt=Xt, inits=inits, device=device):
            def fit(n_iter):
                with sklearn.config_context(array_api_dispatch=True):
                    est = cls(max_iter=n_iter, **{**params, **inits}).fit(Xt)
                    score = est.score(Xt)
                _sync(device)
                return float(score)

            return fit

        out[f"emmix torch-{device}"] = dispatch_fit(GaussianMixtureEM)
        out[f"sklearn torch-{device}"] = dispatch_fit(GaussianMixture)
        pomegranate_fit = _pomegranate(covariance_type, Xt, weights, means, device)
        if pomegranate_fit is not None:
            out[f"pomegranate torch-{device}"] = pomegranate_fit
    return out


def _pomegranate(covariance_type, Xt, weights, means, device):
    try:
        import torch
        from pomegranate.distributions import Normal
        from pomegranate.gmm import GeneralMixtureModel
    except ImportError:
        return None
    k, d = means.shape
    covs = start_precisions(covariance_type, k, d)  # identity: its own inverse

    def fit(n_iter):
        components = [
            Normal(
                means=torch.asarray(means[j], dtype=Xt.dtype, device=device),
                covs=torch.asarray(covs[j], dtype=Xt.dtype, device=device),
                covariance_type=covariance_type,
            )
            for j in range(k)
        ]
        model = GeneralMixtureModel(
            components,
            priors=torch.asarray(weights, dtype=Xt.dtype, device=device),
            max_iter=n_iter,
            tol=0.0,
            verbose=False,
        ).to(device)
        model.fit(Xt)
        score = float(model.log_probability(Xt).mean())
        _sync(device)
        return score

    return fit


def torch_devices():
    try:
        import torch
    except ImportError:
        return []
    return ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="n=1e5, d=16, K=8")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--d", type=int, default=None)
    parser.add_argument("--k", type=int, default=None)
    parser.add_argument(
        "--iters", type=int, nargs=2, default=(2, 5), metavar=("A", "B")
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="torch.set_num_threads for the CPU contenders (on a shared machine, "
        "1 avoids OpenMP threads spinning against other processes)",
    )
    parser.add_argument(
        "--covariance-types", nargs="+", default=["full", "diag"], dest="types"
    )
    args = parser.parse_args(argv)
    n, d, k = (100_000, 16, 8) if args.small else (1_000_000, 32, 32)
    n, d, k = args.n or n, args.d or d, args.k or k
    X, weights, means = make_problem(n, d, k)
    devices = torch_devices()
    if devices and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    print(
        f"n={n} d={d} K={k} float32; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; python {sys.version.split()[0]}, numpy "
        f"{np.__version__}, scikit-learn {sklearn.__version__}"
        + (f", torch {__import__('torch').__version__}" if devices else "")
        + (f" ({__import__('torch').get_num_threads()} threads)" if devices else "")
    )
    a, b = args.iters
    rows = []
    for covariance_type in args.types:
        for name, fit in contenders(
            covariance_type, X, weights, means, devices
        ).items():
            try:
                seconds, score = per_iteration(fit, a, b, args.repeat)
            except Exception as exc:  # a contender that cannot run here
                print(f"  {covariance_type:<5} {name:<24} failed: {exc}")
                continue
            rows.append((covariance_type, name, seconds, score))
            print(f"  {covariance_type:<5} {name:<24} {seconds:9.4f} s/iter")
    print()
    print(f"| covariance | contender | s / iteration | mean log-lik after {b} |")
    print("|---|---|---:|---:|")
    for covariance_type, name, seconds, score in rows:
        print(f"| {covariance_type} | {name} | {seconds:.4f} | {score:.6f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
