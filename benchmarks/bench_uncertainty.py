"""Standard errors three ways: observed information, nonparametric and
parametric bootstrap, side by side.

Run from the repository root::

    python benchmarks/bench_uncertainty.py

Cases: a two-component Poisson mixture (rates 2 and 8, weights 0.4/0.6,
n=1000) and a two-component 1-d Gaussian mixture (N(0, 1) and N(4, 1.5^2),
weights 0.3/0.7, n=600). Each bootstrap has 200 replicates. Results are also
written to ``benchmarks/results/bench_uncertainty.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from emmix import GaussianMixtureEM, PoissonMixture
from emmix.inference import bootstrap, standard_errors

N_BOOT = 200


def cases():
    rng = np.random.RandomState(0)
    z = rng.rand(1000) < 0.4
    X = np.where(z, rng.poisson(2.0, 1000), rng.poisson(8.0, 1000))[:, None]
    yield "Poisson 2/8, n=1000", PoissonMixture(2, random_state=0), X.astype(float)
    rng = np.random.RandomState(5)
    X = np.where(rng.rand(600) < 0.3, rng.normal(0, 1, 600), rng.normal(4, 1.5, 600))
    gm = GaussianMixtureEM(
        2, random_state=0, stopping="aitken", tol=1e-10, max_iter=5000
    )
    yield "Gaussian N(0,1)+N(4,1.5^2), n=600", gm, X[:, None]


def main() -> int:
    rows = []
    for name, est, X in cases():
        est.fit(X)
        start = time.perf_counter()
        info = standard_errors(est, X)
        t_info = time.perf_counter() - start
        start = time.perf_counter()
        nonpar = bootstrap(est, X, N_BOOT, "nonparametric", random_state=0)
        t_np = time.perf_counter() - start
        start = time.perf_counter()
        par = bootstrap(est, X, N_BOOT, "parametric", random_state=0)
        t_p = time.perf_counter() - start
        print(
            f"\n{name}  (seconds: information {t_info:.2f}, "
            f"nonparametric {t_np:.1f}, parametric {t_p:.1f})"
        )
        print(
            f"{'parameter':<22}{'estimate':>10}{'information':>13}"
            f"{'nonparam.':>11}{'param.':>9}"
        )
        for key in info:
            values = np.asarray(getattr(est, key)).ravel()
            for i, value in enumerate(values):
                row = {
                    "data": name,
                    "parameter": f"{key}[{i}]",
                    "estimate": float(value),
                    "information": float(info[key].ravel()[i]),
                    "nonparametric": float(nonpar.standard_errors_[key].ravel()[i]),
                    "parametric": float(par.standard_errors_[key].ravel()[i]),
                }
                rows.append(row)
                print(
                    f"{row['parameter']:<22}{value:>10.4f}"
                    f"{row['information']:>13.4f}{row['nonparametric']:>11.4f}"
                    f"{row['parametric']:>9.4f}"
                )
    out = Path("benchmarks/results/bench_uncertainty.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
