"""The argument parser of the ``emmix`` command.

Only :mod:`argparse` is imported here: each command's module (and with it
NumPy, scikit-learn and the estimators) is imported when that command runs,
so ``emmix --help`` and ``emmix --version`` answer at once.
"""

from __future__ import annotations

import argparse
import importlib

MODELS = ("gaussian", "poisson", "coin")


def _command(module: str, function: str):
    """A runner that imports ``emmix.cli.<module>`` only when the command runs."""

    def run(args) -> int:
        return getattr(importlib.import_module(f"emmix.cli.{module}"), function)(args)

    run.__name__ = function
    return run


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


#: scikit-learn's covariance types and mclust's structures (kept here, not
#: imported, so that parsing the command line needs no NumPy).
_SKLEARN_TYPES = ("full", "tied", "diag", "spherical")
_MCLUST_STRUCTURES = ("EII VII EEI VEI EVI VVI EEE VEE EVE VVE EEV VEV EVV VVV").split()


def covariance_types(text: str) -> str | list[str]:
    """One covariance type, or a list of them ("all": mclust's fourteen)."""
    if text == "all":
        return list(_MCLUST_STRUCTURES)
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in _SKLEARN_TYPES and name.upper() not in _MCLUST_STRUCTURES:
            raise argparse.ArgumentTypeError(
                f"{name!r} is not a covariance type: use one of "
                f"{', '.join(_SKLEARN_TYPES)}, mclust's "
                f"{', '.join(_MCLUST_STRUCTURES)}, a comma-separated list, or all"
            )
    names = [n if n in _SKLEARN_TYPES else n.upper() for n in names]
    return names[0] if len(names) == 1 else names


def delimiter(text: str) -> str:
    """``--delimiter`` value; ``\\t`` and ``tab`` mean a tab."""
    text = {"\\t": "\t", "tab": "\t", "space": " "}.get(text, text)
    if len(text) != 1:
        raise argparse.ArgumentTypeError(
            f"must be one character (or '\\t' for tabs), got {text!r}"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``emmix`` command."""
    parser = argparse.ArgumentParser(
        prog="emmix",
        description="EM estimators with the scikit-learn API: mixtures and "
        "missing-data imputation.",
        epilog="Run 'emmix COMMAND --help' for the options of a command.",
    )
    from emmix import __version__

    parser.add_argument("--version", action="version", version=f"emmix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="fit each estimator on its classic case and print a report",
        description="Fit each estimator on its classic case (iris, Poisson counts, "
        "the two coins, a bivariate normal with missing values), print a report, "
        "and write figures and results.json.",
    )
    demo.add_argument(
        "--out",
        default="emmix-demo",
        metavar="DIR",
        help="folder for the figures and results.json (default: ./emmix-demo)",
    )
    demo.add_argument("--quiet", action="store_true", help="print nothing")
    demo.set_defaults(func=_command("_demo", "demo_command"))

    fit = sub.add_parser(
        "fit",
        help="fit a mixture to a CSV or .npy file",
        description="Fit a mixture to the rows of DATA; write params.json, "
        "labels.csv (label and component probabilities per row) and fit.png. "
        "Without --n-components, K is chosen by --select (BIC by default). "
        "Empty cells (or NA, nan, ?) are missing values, integrated out of the "
        "likelihood; every row needs at least one value.",
    )
    fit.add_argument("data", metavar="DATA", help="CSV file (header optional) or .npy")
    fit.add_argument(
        "--model",
        choices=MODELS,
        default="gaussian",
        help="mixture family (default: gaussian)",
    )
    how = fit.add_mutually_exclusive_group()
    how.add_argument(
        "--n-components",
        type=positive_int,
        metavar="K",
        help="number of components (default: chosen by --select)",
    )
    how.add_argument(
        "--select",
        choices=("bic", "aic", "icl", "cv"),
        default="bic",
        help="how to choose K: bic, aic or icl on the data (lowest wins), cv = "
        "mean held-out log-likelihood over 5 folds (highest wins); default bic",
    )
    fit.add_argument(
        "--max-components",
        type=positive_int,
        default=8,
        metavar="N",
        help="largest K tried by --select (default: 8)",
    )
    fit.add_argument(
        "--covariance-type",
        type=covariance_types,
        metavar="TYPE",
        help="Gaussian covariance structure: full, tied, diag, spherical or one "
        "of mclust's EII ... VVV; several (comma-separated, or 'all' for "
        "mclust's fourteen) are compared with K by --select (default: full)",
    )
    fit.add_argument(
        "--n-trials",
        metavar="N",
        help="tosses per round for --model coin, or 'from_X' when the second "
        "half of the columns holds the tosses behind the heads in the first half",
    )
    fit.add_argument(
        "--n-init",
        type=positive_int,
        default=3,
        metavar="N",
        help="EM runs from different starts, the best kept (default: 3)",
    )
    fit.add_argument(
        "--max-iter",
        type=positive_int,
        default=500,
        metavar="N",
        help="most EM iterations per run (default: 500)",
    )
    fit.add_argument(
        "--tol",
        type=float,
        metavar="TOL",
        help="stop when the mean log-likelihood changes less (default: 1e-3)",
    )
    fit.add_argument(
        "--random-state", type=int, default=0, metavar="SEED", help="default: 0"
    )
    fit.add_argument(
        "--delimiter",
        metavar="CHAR",
        type=delimiter,
        default=",",
        help="CSV delimiter, one character or '\\t' for tabs (default: ,)",
    )
    fit.add_argument(
        "--out",
        default="emmix-fit",
        metavar="DIR",
        help="output folder (default: ./emmix-fit)",
    )
    fit.add_argument(
        "--quiet", action="store_true", help="no progress line and no summary"
    )
    fit.set_defaults(func=_command("_fit", "fit_command"))

    impute = sub.add_parser(
        "impute",
        help="fill missing values by EM under a multivariate normal model",
        description="Fill the missing values of DATA (empty cells, NA, nan) with "
        "their conditional expectation under the maximum-likelihood multivariate "
        "normal model (EM), write the filled table and report the mean and "
        "covariance.",
    )
    impute.add_argument(
        "data", metavar="DATA", help="CSV file (header optional) or .npy"
    )
    impute.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILLED.csv",
        help="where to write the filled table (CSV)",
    )
    impute.add_argument(
        "--delimiter",
        metavar="CHAR",
        type=delimiter,
        default=",",
        help="CSV delimiter, one character or '\\t' for tabs (default: ,)",
    )
    impute.add_argument(
        "--max-iter",
        type=positive_int,
        default=500,
        metavar="N",
        help="most EM iterations (default: 500)",
    )
    impute.add_argument(
        "--quiet", action="store_true", help="no progress line and no report"
    )
    impute.set_defaults(func=_command("_impute", "impute_command"))
    return parser
