"""The ``emmix`` command."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args) -> int:
    import numpy as np
    from sklearn.datasets import load_iris

    from emmix import GaussianMixtureEM

    X = load_iris().data
    print("emmix demo: Gaussian mixture on scikit-learn's iris data (150 x 4)")
    print()
    print(f"{'K':>3} {'BIC':>12} {'log-lik/sample':>15} {'iterations':>10}")
    fits = {}
    for k in range(1, 7):
        model = GaussianMixtureEM(n_components=k, n_init=3, random_state=0).fit(X)
        fits[k] = model
        print(
            f"{k:>3} {model.bic(X):>12.2f} {model.score(X):>15.4f} {model.n_iter_:>10}"
        )
    best_k = min(fits, key=lambda k: fits[k].bic(X))
    best = fits[best_k]
    print()
    print(f"Chosen by BIC: K = {best_k} (converged: {best.converged_})")
    np.set_printoptions(precision=3, suppress=True)
    for k in np.argsort(-best.weights_):
        print(f"  component {k}: weight {best.weights_[k]:.3f}, mean {best.means_[k]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emmix",
        description="EM estimators with the scikit-learn API: mixtures and "
        "missing-data imputation.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="fit the built-in examples and print a report")
    demo.add_argument(
        "--out", default="emmix-demo", help="folder for figures and results"
    )
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``emmix`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
