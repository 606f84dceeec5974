"""The argument parser of the ``emmix`` command.

Only :mod:`argparse` is imported here: each command's module (and with it
NumPy, scikit-learn and the estimators) is imported when that command runs,
so ``emmix --help`` and ``emmix --version`` answer at once.
"""

from __future__ import annotations

import argparse
import importlib

MODELS = ("gaussian", "poisson", "coin", "student-t", "categorical", "mixed")


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


def add_table_options(parser: argparse.ArgumentParser) -> None:
    """The options that say how to read DATA, the same for every command."""
    table = parser.add_argument_group("reading DATA")
    table.add_argument(
        "--delimiter",
        metavar="CHAR",
        type=delimiter,
        default=",",
        help="CSV delimiter, one character or '\\t' for tabs (default: ,)",
    )
    table.add_argument(
        "--index-col",
        metavar="COL",
        help="column of row ids, by name or position from 1 (default: pandas's "
        "index column, a first column with an empty header cell, if any); the "
        "outputs start with these ids",
    )
    table.add_argument(
        "--columns",
        metavar="COLS",
        help="the columns to use, comma-separated names or positions from 1 "
        "(default: every column but the index)",
    )
    table.add_argument(
        "--drop",
        metavar="COLS",
        help="columns to leave out, comma-separated names or positions from 1 "
        "(a text column such as a species name, an id)",
    )


def add_integer_check(parser: argparse.ArgumentParser) -> None:
    """``--allow-non-integer``, for the count families."""
    parser.add_argument(
        "--allow-non-integer",
        action="store_true",
        help="let --model poisson or coin fit values that are not whole numbers "
        "(refused by default: counts are integers)",
    )


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
        "labels.csv (per row: its id, label, component name, uncertainty and "
        "the probability of each component) and fit.png; --save also writes "
        "the model for emmix predict and emmix score. "
        "Without --n-components, K is chosen by --select (BIC by default). "
        "Empty cells (or NA, nan, ?) are missing values, integrated out of the "
        "likelihood; every row needs at least one value.",
    )
    fit.add_argument("data", metavar="DATA", help="CSV file (header optional) or .npy")
    fit.add_argument(
        "--model",
        choices=MODELS,
        default="gaussian",
        help="mixture family: gaussian, poisson (counts), coin (heads of N "
        "tosses), student-t (robust clustering), categorical (latent class "
        "analysis of answers coded as numbers) or mixed (one latent class over "
        "groups of columns of different families, see --groups); default: "
        "gaussian",
    )
    fit.add_argument(
        "--groups",
        metavar="SPEC",
        help="for --model mixed: the family of each group of columns, as "
        "'gaussian:COLS;categorical:COLS;poisson:COLS' (families gaussian, "
        "poisson, coin, categorical; COLS comma-separated names or positions "
        "from 1 among the columns used); --covariance-type applies to the "
        "gaussian groups, --n-trials to the coin groups",
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
    add_table_options(fit)
    add_integer_check(fit)
    fit.add_argument(
        "--features",
        metavar="COLS",
        help="the columns fit.png draws, comma-separated names or positions "
        "among the columns used, from 1 (default: the pair that separates the "
        "components best, and a grid of every pair for more than 2 columns)",
    )
    fit.add_argument(
        "--save",
        metavar="MODEL.skops",
        help="also write the fitted estimator to this file with skops (pip "
        "install skops); emmix predict and emmix score read it",
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
        help="fill missing values by EM: one normal, or a Gaussian mixture",
        description="Fill the missing values of DATA (empty cells, NA, nan) with "
        "their conditional expectation under the maximum-likelihood multivariate "
        "normal model (EM), or, with --n-components or --select, under a Gaussian "
        "mixture (each row filled from the components it belongs to). The filled "
        "table keeps the input's columns, row ids, delimiter and number format.",
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
    add_table_options(impute)
    how = impute.add_mutually_exclusive_group()
    how.add_argument(
        "--n-components",
        type=positive_int,
        metavar="K",
        help="impute with a Gaussian mixture of K components: each missing "
        "value becomes its conditional mean given the row's observed values, "
        "averaged over the components by their posterior probability "
        "(default: K = 1, one multivariate normal)",
    )
    how.add_argument(
        "--select",
        choices=("bic", "aic", "cv"),
        help="choose K for the mixture by bic, aic or cv (see emmix fit), up "
        "to --max-components",
    )
    impute.add_argument(
        "--max-components",
        type=positive_int,
        default=8,
        metavar="N",
        help="largest K tried by --select (default: 8)",
    )
    impute.add_argument(
        "--covariance-type",
        choices=("full", "tied", "diag", "spherical"),
        default="full",
        help="covariance structure of the mixture's components (default: full)",
    )
    impute.add_argument(
        "--n-init",
        type=positive_int,
        default=3,
        metavar="N",
        help="EM runs of the mixture from different starts (default: 3)",
    )
    impute.add_argument(
        "--random-state", type=int, default=0, metavar="SEED", help="default: 0"
    )
    impute.add_argument(
        "--float-format",
        metavar="FMT",
        help="format of the filled values, e.g. '%%.3f' (default: as many "
        "decimals as the column's own values have)",
    )
    impute.add_argument(
        "--indicator",
        action="store_true",
        help="add a column NAME_filled (1 where the value was filled in, else "
        "0) for each column that had a missing value",
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

    predict = sub.add_parser(
        "predict",
        help="label new rows with a model saved by emmix fit --save",
        description="Read a model saved by 'emmix fit --save' and write, for "
        "each row of DATA, its row id, the most probable component (label), "
        "the probability of each component, and the uncertainty (1 - the "
        "largest probability). Columns are matched by name when the model was "
        "fitted on a file with a header.",
    )
    predict.add_argument("data", metavar="DATA", help="CSV file or .npy")
    _model_options(predict, "PREDICTIONS.csv")
    predict.set_defaults(func=_command("_predict", "predict_command"))

    score = sub.add_parser(
        "score",
        help="log-likelihood of each row under a saved model (outlier scores)",
        description="Read a model saved by 'emmix fit --save' and write, for "
        "each row of DATA, its row id and its log-likelihood under the fitted "
        "mixture (log of the density, or of the probability for counts): the "
        "lowest are the least typical rows, outlier candidates.",
    )
    score.add_argument("data", metavar="DATA", help="CSV file or .npy")
    _model_options(score, "SCORES.csv")
    score.set_defaults(func=_command("_predict", "score_command"))
    return parser


def _model_options(parser: argparse.ArgumentParser, output: str) -> None:
    parser.add_argument(
        "--model",
        required=True,
        metavar="MODEL.skops",
        help="a model written by emmix fit --save",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar=output,
        help="where to write the table (CSV)",
    )
    add_table_options(parser)
    parser.add_argument("--quiet", action="store_true", help="print nothing")
