"""Cost of the iterative covariance-structure M-steps inside EM.

Run from the repository root::

    python benchmarks/bench_covariance_structures.py [--rows 2000] [--iter 30]

For each shape (K components, d features) a Gaussian mixture with random
means and covariances is sampled, and a plain EM loop (numpy E-step, the
kernel's M-step) is run for a fixed number of iterations from the same
k-means-like start, once with every M-step started cold (``previous=None``)
and once warm-started from the last iteration's covariances. Reported per
structure: milliseconds per M-step, inner iterations per M-step (mean), and
the final log-likelihood of both runs (they must agree: the warm start only
changes where the inner iteration starts). The closed-form VVV is listed as a
reference.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.special import logsumexp

from emmix.mixture import _covariance_structures as cs


def _sample(n, K, d, rng):
    means = 4 * rng.standard_normal((K, d))
    A = rng.standard_normal((K, d, d)) / np.sqrt(d)
    cov = A @ np.swapaxes(A, 1, 2) + 0.3 * np.eye(d)
    z = rng.integers(K, size=n)
    L = np.linalg.cholesky(cov)
    return means[z] + np.einsum("nij,nj->ni", L[z], rng.standard_normal((n, d)))


def _log_prob(X, means, cov):
    L = np.linalg.cholesky(cov)
    diff = X[None] - means[:, None]  # (K, n, d)
    z = np.linalg.solve(L, np.swapaxes(diff, 1, 2))  # (K, d, n)
    logdet = 2 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)
    d = X.shape[1]
    return (-0.5 * np.sum(z * z, axis=1) - 0.5 * logdet[:, None]).T - 0.5 * d * np.log(
        2 * np.pi
    )


def _em(X, K, structure, n_iter, warm, rng_seed):
    rng = np.random.default_rng(rng_seed)
    n = X.shape[0]
    resp = np.zeros((n, K))
    centres = X[rng.choice(n, K, replace=False)]
    resp[np.arange(n), np.argmin(((X[:, None] - centres) ** 2).sum(-1), axis=1)] = 1
    previous, mstep_time, loglik = None, 0.0, None
    inner = [0]
    original = cs._converged

    def counting(new, old, tol):
        inner[0] += 1
        return original(new, old, tol)

    cs._converged = counting
    try:
        for _ in range(n_iter):
            nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
            means = resp.T @ X / nk[:, None]
            diff = X[None] - means[:, None]
            scatter = np.einsum("nk,kni,knj->kij", resp, diff, diff)
            start = time.perf_counter()
            cov = cs.covariance_mstep(
                structure, scatter, nk, 1e-6, previous=previous if warm else None
            )
            mstep_time += time.perf_counter() - start
            previous = cov
            weighted = _log_prob(X, means, cov) + np.log(nk / n)
            norm = logsumexp(weighted, axis=1)
            loglik = norm.sum()
            resp = np.exp(weighted - norm[:, None])
    finally:
        cs._converged = original
    return 1e3 * mstep_time / n_iter, inner[0] / n_iter, loglik


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--iter", type=int, default=30)
    args = parser.parse_args()
    print(
        f"{'K':>2} {'d':>3} {'structure':>9} | {'cold ms':>8} {'inner':>6} | "
        f"{'warm ms':>8} {'inner':>6} | {'loglik cold':>14} {'loglik warm':>14}"
    )
    for K, d in [(3, 2), (4, 10), (4, 30)]:
        X = _sample(args.rows, K, d, np.random.default_rng(0))
        for structure in ("VEI", "VEE", "EVE", "VVE", "VEV", "VVV"):
            cold = _em(X, K, structure, args.iter, False, 1)
            warm = _em(X, K, structure, args.iter, True, 1)
            print(
                f"{K:>2} {d:>3} {structure:>9} | {cold[0]:>8.2f} {cold[1]:>6.1f} | "
                f"{warm[0]:>8.2f} {warm[1]:>6.1f} | {cold[2]:>14.6f} {warm[2]:>14.6f}"
            )


if __name__ == "__main__":
    main()
