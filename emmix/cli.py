"""The ``emmix`` command: ``emmix demo``, ``emmix fit`` and ``emmix impute``.

Every problem with the user's input (a missing or unreadable file, a
non-numeric cell, a wrong delimiter, data the model cannot take) ends in one
line on stderr, ``emmix: error: FILE: problem``, and exit status 2: a user of
the command should never see a Python traceback for a bad file.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["CLIError", "build_parser", "main", "read_data"]

#: Seconds a fit must run before the progress line appears (short fits stay quiet).
PROGRESS_DELAY = 0.5
#: Shortest time between two refreshes of the progress line.
PROGRESS_INTERVAL = 0.1

#: Cell contents read as a missing value.
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})
#: Delimiters suggested when a cell looks like several values run together.
OTHER_DELIMITERS = (";", "\t", "|", ",", " ")

MODELS = ("gaussian", "poisson", "coin")
PLOT_HINT = "pip install 'emmix[plot]'"


class CLIError(Exception):
    """A problem to report in one line (exit status 2), never as a traceback."""


# =============================================================== reading data
def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_TOKENS


def _delimiter_hint(cell: str, delimiter: str) -> str:
    """A suggestion when ``cell`` looks like numbers joined by another delimiter."""
    for other in OTHER_DELIMITERS:
        if other != delimiter and other in cell.strip():
            parts = [p for p in cell.strip().split(other) if p.strip()]
            if len(parts) > 1 and all(_is_number(p) or _is_missing(p) for p in parts):
                name, option = {
                    "\t": ("tabs", "'\\t'"),
                    " ": ("spaces", "' '"),
                }.get(other, (f"'{other}'", f"'{other}'"))
                return (
                    f"; the file seems to use {name} as delimiter: pass "
                    f"--delimiter {option}"
                )
    return ""


def _delimiter(text: str) -> str:
    """``--delimiter`` value; ``\\t`` and ``tab`` mean a tab."""
    text = {"\\t": "\t", "tab": "\t", "space": " "}.get(text, text)
    if len(text) != 1:
        raise argparse.ArgumentTypeError(
            f"must be one character (or '\\t' for tabs), got {text!r}"
        )
    return text


def _read_npy(path: Path) -> tuple[np.ndarray, list[str] | None]:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CLIError(f"{path}: not a readable .npy file ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise CLIError(f"{path}: holds several arrays; save one array with np.save")
    if array.dtype.kind not in "biuf":
        raise CLIError(
            f"{path}: holds {array.dtype} values, not numbers; save a numeric array"
        )
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise CLIError(
            f"{path}: holds an array of shape {array.shape}; expected one row "
            "per sample, shape (n_samples, n_features)"
        )
    if array.size == 0:
        raise CLIError(f"{path}: the array is empty (shape {array.shape})")
    return array.astype(np.float64), None


def _read_csv(
    path: Path, delimiter: str, allow_missing: bool
) -> tuple[np.ndarray, list[str] | None]:
    try:
        # utf-8-sig drops the byte-order mark spreadsheet programs write.
        with open(path, newline="", encoding="utf-8-sig") as handle:
            lines = [
                (reader.line_num, row)
                for reader in [csv.reader(handle, delimiter=delimiter)]
                for row in reader
                # Blank lines are skipped; ",," is a row of missing values.
                if len(row) > 1 or (row and row[0].strip())
            ]
    except UnicodeDecodeError:
        raise CLIError(
            f"{path}: not a text file (cannot decode it as UTF-8); emmix reads "
            "CSV text files and NumPy .npy files"
        ) from None
    except csv.Error as exc:
        raise CLIError(f"{path}: not a valid CSV file ({exc})") from None
    if not lines:
        raise CLIError(f"{path}: the file is empty")

    first = [cell.strip() for cell in lines[0][1]]
    for cell in first:
        # "1.5;2.0" read with ',' looks like a header cell; say what it is.
        hint = _delimiter_hint(cell, delimiter)
        if hint:
            raise CLIError(
                f"{path}: line {lines[0][0]}: {cell!r} is not a number{hint}"
            )
    # A header is a first row in which no cell is a number or a missing marker.
    has_header = not any(_is_number(c) or _is_missing(c) for c in first)
    header = first if has_header else None
    body = lines[1:] if has_header else lines
    if not body:
        raise CLIError(f"{path}: has a header line but no data rows")
    width = len(first)
    values = np.empty((len(body), width), dtype=np.float64)
    for i, (line_number, row) in enumerate(body):
        if len(row) != width:
            what = "the header" if has_header else "the first row"
            hint = _delimiter_hint(delimiter.join(row), delimiter)
            raise CLIError(
                f"{path}: line {line_number} has {_plural(len(row), 'value')} but "
                f"{what} has {width}{hint}"
            )
        for j, cell in enumerate(row):
            cell = cell.strip()
            column = f"column {j + 1}" + (f" ({header[j]!r})" if header else "")
            if _is_missing(cell):
                if not allow_missing:
                    raise CLIError(
                        f"{path}: line {line_number}, {column}: missing value; "
                        "fill missing values first (emmix impute DATA -o FILLED.csv)"
                    )
                values[i, j] = np.nan
                continue
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise CLIError(
                    f"{path}: line {line_number}, {column}: {cell!r} is not a "
                    f"number{_delimiter_hint(cell, delimiter)}"
                ) from None
            if not math.isfinite(values[i, j]):
                raise CLIError(
                    f"{path}: line {line_number}, {column}: {cell!r} is not a "
                    "finite number"
                )
    return values, header


def read_data(
    path: str | os.PathLike, *, delimiter: str = ",", allow_missing: bool = False
) -> tuple[np.ndarray, list[str] | None]:
    """Read a numeric table from a CSV or ``.npy`` file.

    Parameters
    ----------
    path : str or path-like
        ``*.npy`` files are read with :func:`numpy.load`; anything else is
        read as delimited text, with an optional header line (detected: a
        first line with no number in it).
    delimiter : str, default=","
        The CSV delimiter.
    allow_missing : bool, default=False
        Whether empty cells and NA markers (``NA``, ``nan``, ``?``, ...) are
        read as NaN; otherwise they are an error.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The values, as float64.
    header : list of str or None
        The column names, if the file has a header line.

    Raises
    ------
    CLIError
        With a one-line message naming the file and the problem.
    """
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file")
    if path.is_dir():
        raise CLIError(f"{path}: is a directory, not a data file")
    if not os.access(path, os.R_OK):
        raise CLIError(f"{path}: cannot be read (permission denied)")
    try:
        if path.suffix.lower() == ".npy":
            X, header = _read_npy(path)
        else:
            X, header = _read_csv(path, delimiter, allow_missing)
    except OSError as exc:
        raise CLIError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not allow_missing and np.isnan(X).any():
        i, j = np.argwhere(np.isnan(X))[0]
        raise CLIError(
            f"{path}: row {i + 1}, column {j + 1}: missing value (NaN); fill "
            "missing values first (emmix impute DATA -o FILLED.csv)"
        )
    return X, header


# =================================================================== progress
class Progress:
    """One self-overwriting line with the state of a running fit.

    It appears only when the fit has run longer than :data:`PROGRESS_DELAY`
    seconds, only on a terminal, and never with ``--quiet``: piped or
    redirected output stays free of carriage returns.

    Parameters
    ----------
    stream : file-like, default=sys.stdout
        Where to draw.
    enabled : bool, default=True
        False turns the display off whatever the stream.
    """

    def __init__(self, stream=None, enabled: bool = True):
        self.stream = sys.stdout if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled and isatty is not None and isatty())
        self.label = ""
        self.started = time.perf_counter()
        self.last_draw = -math.inf
        self.width = 0
        self._estimator = None
        self.run = 0
        self.iteration = 0

    def task(self, label: str) -> None:
        """Start a new task: the progress line's prefix."""
        self.label = label
        self.started = time.perf_counter()
        self._estimator = None

    def start_run(self, estimator) -> None:
        """An EM run (one of ``n_init``) starts on ``estimator``."""
        if estimator is not self._estimator:
            self._estimator, self.run = estimator, 0
        self.run += 1
        self.iteration = 0

    def iteration_done(self, estimator, log_likelihood: float) -> None:
        """One EM iteration ended with this mean log-likelihood per sample."""
        self.iteration += 1
        if not self.enabled:
            return
        now = time.perf_counter()
        if (
            now - self.started < PROGRESS_DELAY
            or now - self.last_draw < PROGRESS_INTERVAL
        ):
            return
        self.last_draw = now
        k = getattr(estimator, "n_components", None)
        parts = [self.label] if self.label else []
        if k is not None:
            parts.append(f"K={k}")
        n_init = getattr(estimator, "n_init", 1)
        if n_init > 1:
            parts.append(f"run {self.run}/{n_init}")
        parts.append(f"iteration {self.iteration}")
        parts.append(f"log-likelihood {log_likelihood:.6g} per sample")
        text = "  ".join(parts)
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def close(self) -> None:
        """Erase the line, so the next output starts on a clean line."""
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
        self.width = 0


def watched(cls, progress: Progress):
    """A subclass of ``cls`` that reports each EM run and iteration to ``progress``.

    The engine's per-pass hooks (``_em_initialize`` starts a run, ``_em_pass`` is
    one E-step over all rows) are wrapped, so the engine itself needs no
    callback argument, and clones made by :func:`select_n_components` report
    too. The subclass keeps the name of ``cls``.
    """

    class Watched(cls):
        def _em_initialize(self, X, sample_weight, random_state):
            progress.start_run(self)
            return super()._em_initialize(X, sample_weight, random_state)

        def _em_pass(self, X, sample_weight, params):
            stats, loglik = super()._em_pass(X, sample_weight, params)
            total = float(np.sum(sample_weight, dtype=np.float64))
            progress.iteration_done(self, loglik / total if total else math.nan)
            return stats, loglik

    Watched.__name__ = cls.__name__
    Watched.__qualname__ = cls.__qualname__
    Watched.__doc__ = cls.__doc__
    return Watched


# ==================================================================== output
def _jsonable(value):
    """Plain JSON types from numpy values (NaN and inf become None)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _fitted_attributes(estimator) -> dict:
    """Every public fitted attribute (``name_``) of ``estimator``."""
    return {
        name: _jsonable(value)
        for name, value in vars(estimator).items()
        if name.endswith("_") and not name.startswith("_") and name != "indicator_"
    }


def _fmt(values, digits: int = 3) -> str:
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    return np.array2string(array, precision=digits, suppress_small=True, separator=", ")


def _selection_rows(selection) -> list[dict]:
    table = selection.table_
    columns = table if isinstance(table, dict) else None
    if columns is None:  # a DataFrame
        columns = {"n_components": table.index.to_numpy()}
        columns.update({name: table[name].to_numpy() for name in table.columns})
    n = len(columns["n_components"])
    return [
        {name: _jsonable(values[i]) for name, values in columns.items()}
        for i in range(n)
    ]


def _print_selection(selection, out) -> None:
    name = {"bic": "BIC", "aic": "AIC", "cv": "held-out ll/sample"}[selection.criterion]
    print(
        f"  {'K':>3} {name:>19} {'log-likelihood':>15} {'parameters':>10} "
        f"{'iterations':>10}",
        file=out,
    )
    for row in _selection_rows(selection):
        mark = (
            "  <- chosen" if row["n_components"] == selection.best_n_components_ else ""
        )
        value = row[selection.criterion]
        value_text = "failed" if value is None else f"{value:.3f}"
        ll = row["log_likelihood"]
        ll_text = "-" if ll is None else f"{ll:.3f}"
        print(
            f"  {row['n_components']:>3} {value_text:>19} {ll_text:>15} "
            f"{row['n_parameters']:>10} {row['n_iter']:>10}{mark}",
            file=out,
        )


def _component_lines(estimator, header) -> list[str]:
    """One line per component, heaviest first: its weight and parameters."""
    lines = []
    for k in np.argsort(-np.asarray(estimator.weights_)):
        text = f"  component {k}: weight {estimator.weights_[k]:.3f}"
        if hasattr(estimator, "means_"):
            text += f", mean {_fmt(estimator.means_[k])}"
        if hasattr(estimator, "rates_"):
            text += f", rates {_fmt(estimator.rates_[k])}"
        if hasattr(estimator, "probs_"):
            text += f", P(heads) {_fmt(estimator.probs_[k])}"
        lines.append(text)
    if header:
        lines.insert(0, f"  columns: {', '.join(header)}")
    return lines


class _Figures:
    """Writes PNG figures if matplotlib is installed; remembers what it wrote."""

    def __init__(self, out_dir: Path, enabled: bool = True):
        self.out_dir = out_dir
        self.written: list[str] = []
        self.skipped_reason = None
        self.figure_class = None
        if not enabled:
            self.skipped_reason = "disabled"
            return
        try:
            # The object-oriented Figure needs no GUI backend and leaves
            # pyplot's global state alone.
            from matplotlib.figure import Figure
        except ImportError:
            self.skipped_reason = f"matplotlib is not installed ({PLOT_HINT})"
        else:
            self.figure_class = Figure

    @property
    def available(self) -> bool:
        return self.figure_class is not None

    def new(self, n_panels: int = 1, width: float = 6.0):
        figure = self.figure_class(
            figsize=(width * n_panels, 4.6), layout="constrained"
        )
        axes = figure.subplots(1, n_panels, squeeze=False)[0]
        return figure, list(axes)

    def save(self, figure, name: str) -> None:
        path = self.out_dir / name
        figure.savefig(path, dpi=100)
        self.written.append(str(path))


# ======================================================================= fit
def _make_estimator(args, progress: Progress):
    from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture

    common = {
        "n_init": args.n_init,
        "random_state": args.random_state,
        "max_iter": args.max_iter,
    }
    if args.tol is not None:
        common["tol"] = args.tol
    if args.model == "gaussian":
        cls = watched(GaussianMixtureEM, progress)
        return cls(covariance_type=args.covariance_type or "full", **common)
    if args.covariance_type is not None:
        raise CLIError("--covariance-type applies only to --model gaussian")
    if args.model == "poisson":
        if args.n_trials is not None:
            raise CLIError("--n-trials applies only to --model coin")
        return watched(PoissonMixture, progress)(**common)
    if args.n_trials is None:
        raise CLIError(
            "--model coin needs --n-trials N (tosses per round), or "
            "--n-trials from_X when the file has a tosses column per heads column"
        )
    n_trials = args.n_trials
    if n_trials != "from_X":
        try:
            n_trials = int(n_trials)
        except ValueError:
            raise CLIError(
                f"--n-trials must be a positive integer or 'from_X', got {n_trials!r}"
            ) from None
        if n_trials < 1:
            raise CLIError(f"--n-trials must be at least 1, got {n_trials}")
    return watched(CoinMixture, progress)(n_trials=n_trials, **common)


def _fit_command(args) -> int:
    from emmix.model_selection import select_n_components

    out = sys.stdout
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=out))
    # Missing cells are fine: the mixtures integrate them out (proper EM).
    X, header = read_data(args.data, delimiter=args.delimiter, allow_missing=True)
    n_samples, n_features = X.shape
    n_missing = int(np.isnan(X).sum())
    progress = Progress(out, enabled=not args.quiet)
    estimator = _make_estimator(args, progress)
    name = type(estimator).__name__
    say(
        f"emmix fit: {name} on {args.data} ({_plural(n_samples, 'row')} x "
        f"{_plural(n_features, 'column')})"
    )
    empty_rows = np.flatnonzero(np.isnan(X).all(axis=1)) if n_missing else []
    if len(empty_rows):
        raise CLIError(
            f"{args.data}: row {int(empty_rows[0]) + 1}: every value is missing; "
            "drop rows with no value"
        )
    if n_missing:
        say(
            f"{_plural(n_missing, 'missing value')}: integrated out of the "
            "likelihood (EM with data missing at random)"
        )
    if args.n_components is not None and args.n_components > n_samples:
        raise CLIError(
            f"{args.data}: --n-components {args.n_components} is more than the "
            f"{n_samples} rows of the file"
        )

    selection = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if args.n_components is not None:
                progress.task(f"fitting {name}")
                estimator.set_params(n_components=args.n_components).fit(X)
            else:
                max_k = min(args.max_components, n_samples)
                progress.task(f"choosing K by {args.select}")
                selection = select_n_components(
                    estimator,
                    X,
                    range(1, max_k + 1),
                    criterion=args.select,
                    cv=min(5, n_samples),
                    error_score=np.nan,
                )
                estimator = selection.best_estimator_
    except ValueError as exc:
        # The estimators' messages say what is wrong with the data.
        raise CLIError(f"{args.data}: {exc}") from None
    finally:
        progress.close()

    out_dir = Path(args.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{out_dir}: cannot create the output folder ({exc})") from None

    if selection is not None:
        say(f"\nNumber of components chosen by {args.select.upper()}:")
        if not args.quiet:
            _print_selection(selection, out)
    ll_mean = float(estimator.score(X))
    summary = {
        "model": name,
        "data": str(args.data),
        "n_samples": n_samples,
        "n_features": n_features,
        "columns": header,
        "n_components": int(estimator.n_components),
        "selected_by": None if selection is None else args.select,
        "log_likelihood": ll_mean * n_samples,
        "log_likelihood_per_sample": ll_mean,
        "bic": float(estimator.bic(X)),
        "aic": float(estimator.aic(X)),
        "n_parameters": int(estimator._n_parameters()),
        "n_iter": int(estimator.n_iter_),
        "converged": bool(estimator.converged_),
        "params": _jsonable(estimator.get_params()),
        "fitted": _fitted_attributes(estimator),
        "selection": None if selection is None else _selection_rows(selection),
        "warnings": sorted({str(w.message) for w in caught}),
    }
    say(
        f"\nK = {summary['n_components']}: "
        f"log-likelihood {summary['log_likelihood']:.3f} "
        f"({ll_mean:.4f} per row), BIC {summary['bic']:.3f}, "
        f"{summary['n_iter']} iterations, "
        f"{'converged' if summary['converged'] else 'NOT converged'}"
    )
    for line in _component_lines(estimator, header):
        say(line)
    for message in summary["warnings"]:
        say(f"  warning: {message}")

    params_path = out_dir / "params.json"
    params_path.write_text(json.dumps(summary, indent=2) + "\n")
    labels_path = out_dir / "labels.csv"
    proba = estimator.predict_proba(X)
    labels = np.argmax(proba, axis=1)
    with open(labels_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", *(f"prob_{k}" for k in range(proba.shape[1]))])
        for label, row in zip(labels, proba, strict=True):
            writer.writerow([int(label), *(f"{p:.6g}" for p in row)])
    written = [str(params_path), str(labels_path)]

    figures = _Figures(out_dir)
    if figures.available:
        from emmix import plotting

        n_panels = 3 if selection is not None else 2
        figure, axes = figures.new(n_panels, width=5.2)
        complete = ~np.isnan(X).any(axis=1)  # the figure shows complete rows
        plotting.plot_mixture(estimator, X[complete], axes[0], feature_names=header)
        plotting.plot_convergence(estimator, axes[1])
        if selection is not None:
            plotting.plot_criterion(selection, axes[2])
        figures.save(figure, "fit.png")
        written += figures.written
    say("\nWrote " + ", ".join(written))
    if not figures.available:
        say(f"Figures skipped: {figures.skipped_reason}")
    return 0


# ==================================================================== impute
def _impute_command(args) -> int:
    out = sys.stdout
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=out))
    X, header = read_data(args.data, delimiter=args.delimiter, allow_missing=True)
    try:
        from emmix.impute import MultivariateNormalImputer
    except ImportError as exc:  # pragma: no cover - part of emmix
        raise CLIError(f"emmix impute is unavailable: {exc}") from None
    n_missing = int(np.isnan(X).sum())
    progress = Progress(out, enabled=not args.quiet)
    progress.task("imputing")
    imputer = watched(MultivariateNormalImputer, progress)(
        keep_empty_features=False, max_iter=args.max_iter
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            filled = imputer.fit_transform(X)
    except ValueError as exc:
        raise CLIError(f"{args.data}: {exc}") from None
    finally:
        progress.close()
    if filled.shape[1] != X.shape[1]:
        raise CLIError(
            f"{args.data}: {X.shape[1] - filled.shape[1]} column(s) have no observed "
            "value at all; remove them and run again"
        )
    output = Path(args.output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", newline="") as handle:
            writer = csv.writer(handle, delimiter=args.delimiter)
            if header:
                writer.writerow(header)
            for row in filled:
                writer.writerow([repr(float(v)) for v in row])
    except OSError as exc:
        raise CLIError(f"{output}: cannot write ({exc.strerror or exc})") from None
    rows = int(np.isnan(X).any(axis=1).sum())
    names = header or [f"x{j + 1}" for j in range(X.shape[1])]
    say(
        f"emmix impute: {args.data} ({_plural(X.shape[0], 'row')} x "
        f"{_plural(X.shape[1], 'column')}), {_plural(n_missing, 'missing value')} "
        f"in {_plural(rows, 'row')}"
    )
    say(
        f"EM: {imputer.n_iter_} iterations, "
        f"{'converged' if imputer.converged_ else 'NOT converged'}, observed-data "
        f"log-likelihood {imputer.lower_bound_:.4f} per row"
    )
    say("mean:")
    say(
        "  "
        + "  ".join(f"{n}={m:.4g}" for n, m in zip(names, imputer.mean_, strict=True))
    )
    say("covariance:")
    width = max(len(n) for n in names)
    for name, row in zip(names, imputer.covariance_, strict=True):
        say(f"  {name:>{width}} " + " ".join(f"{v:>11.4g}" for v in row))
    for message in sorted({str(w.message) for w in caught}):
        say(f"warning: {message}")
    say(f"Wrote {output}")
    return 0


# ====================================================================== demo
def _demo_gaussian(figures: _Figures, say) -> dict:
    from sklearn.datasets import load_iris
    from sklearn.metrics import adjusted_rand_score

    from emmix import GaussianMixtureEM
    from emmix.model_selection import select_n_components

    iris = load_iris()
    X = iris.data
    say("1. Gaussian mixture on scikit-learn's iris data (150 flowers x 4 measures)")
    selection = select_n_components(
        GaussianMixtureEM(n_init=3, random_state=0), X, range(1, 7), criterion="bic"
    )
    best = selection.best_estimator_
    if say is not _silent:
        _print_selection(selection, sys.stdout)
    ari = adjusted_rand_score(iris.target, best.predict(X))
    say(
        f"  BIC chooses K = {selection.best_n_components_}: "
        f"log-likelihood {best.score(X) * len(X):.2f}, {best.n_iter_} iterations; "
        f"agreement with the 3 species (adjusted Rand) {ari:.2f}"
    )
    for line in _component_lines(best, None):
        say(line)
    if figures.available:
        from emmix import plotting

        figure, axes = figures.new(2, width=5.4)
        plotting.plot_criterion(selection, axes[0])
        plotting.plot_mixture(
            best, X, axes[1], features=(2, 3), feature_names=iris.feature_names
        )
        figure.suptitle("Gaussian mixture on iris, K chosen by BIC")
        figures.save(figure, "gaussian_iris.png")
    return {
        "data": "sklearn.datasets.load_iris",
        "n_components": selection.best_n_components_,
        "selection": _selection_rows(selection),
        "adjusted_rand_vs_species": ari,
        "weights": best.weights_,
        "means": best.means_,
        "covariances": best.covariances_,
        "log_likelihood": best.score(X) * len(X),
        "n_iter": best.n_iter_,
        "converged": best.converged_,
    }


def _demo_poisson(figures: _Figures, say) -> dict:
    from emmix import PoissonMixture
    from emmix.datasets import make_poisson_mixture
    from emmix.model_selection import select_n_components

    true_rates, true_weights = (2.0, 8.0, 20.0), (0.5, 0.3, 0.2)
    X, _ = make_poisson_mixture(
        500, rates=true_rates, weights=true_weights, random_state=0
    )
    say(
        f"2. Poisson mixture on 500 generated counts (true rates {list(true_rates)}, "
        f"weights {list(true_weights)})"
    )
    selection = select_n_components(
        PoissonMixture(n_init=3, random_state=0), X, range(1, 6), criterion="bic"
    )
    best = selection.best_estimator_
    if say is not _silent:
        _print_selection(selection, sys.stdout)
    order = np.argsort(best.rates_[:, 0])
    say(
        f"  BIC chooses K = {selection.best_n_components_}: rates "
        f"{_fmt(best.rates_[order, 0], 2)}, weights {_fmt(best.weights_[order], 2)}, "
        f"{best.n_iter_} iterations"
    )
    if figures.available:
        from emmix import plotting

        figure, axes = figures.new(2, width=5.4)
        plotting.plot_criterion(selection, axes[0])
        plotting.plot_mixture(best, X, axes[1])
        figure.suptitle("Poisson mixture on generated counts, K chosen by BIC")
        figures.save(figure, "poisson_counts.png")
    return {
        "data": "make_poisson_mixture(500, rates=(2, 8, 20), weights=(.5, .3, .2))",
        "true_rates": true_rates,
        "true_weights": true_weights,
        "n_components": selection.best_n_components_,
        "selection": _selection_rows(selection),
        "rates": best.rates_[order],
        "weights": best.weights_[order],
        "log_likelihood": best.score(X) * len(X),
        "n_iter": best.n_iter_,
        "converged": best.converged_,
    }


def _demo_coins(figures: _Figures, say) -> dict:
    from emmix import CoinMixture

    heads = np.array([[5], [7], [8], [9], [4]])
    say("3. The two-coin problem: 5 rounds of 10 tosses, heads 5, 7, 8, 9, 4")
    # The classic set-up (Do & Batzoglou, 2008): coins picked with equal
    # probability, start at P(heads) = 0.6 and 0.5.
    coins = CoinMixture(
        2,
        n_trials=10,
        weights_init=[0.5, 0.5],
        probs_init=[[0.6], [0.5]],
        fixed_params={"weights"},
        tol=1e-8,
        max_iter=1000,
    ).fit(heads)
    proba = coins.predict_proba(heads)
    say(
        f"  P(heads): coin A {coins.probs_[0, 0]:.3f}, coin B {coins.probs_[1, 0]:.3f} "
        f"(the textbook answer after 10 iterations: 0.80 and 0.52); "
        f"{coins.n_iter_} iterations, log-likelihood {coins.lower_bound_ * 5:.4f}"
    )
    say("  P(coin A | round): " + ", ".join(f"{p:.2f}" for p in proba[:, 0]))
    if figures.available:
        from emmix import plotting

        figure, axes = figures.new(2, width=5.4)
        plotting.plot_mixture(coins, heads, axes[0])
        axes[0].set_title("heads per round: observed vs fitted", fontsize="medium")
        plotting.plot_convergence(coins, axes[1])
        figure.suptitle("The two-coin problem")
        figures.save(figure, "two_coins.png")
    return {
        "heads": heads[:, 0],
        "n_trials": 10,
        "probs": coins.probs_[:, 0],
        "weights": coins.weights_,
        "posterior_coin_A": proba[:, 0],
        "log_likelihood": coins.lower_bound_ * len(heads),
        "n_iter": coins.n_iter_,
        "converged": coins.converged_,
    }


def _demo_missing(figures: _Figures, say) -> dict:
    from emmix.datasets import make_missing_normal
    from emmix.impute import MissingBivariateImputer
    from emmix.impute._normal import naive_regression_fill

    X, X_complete = make_missing_normal(random_state=0)
    n_missing = int(np.isnan(X).sum())
    say(
        f"4. Bivariate normal with missing values: {len(X)} pairs (x, y), "
        f"y missing in {n_missing}"
    )
    imputer = MissingBivariateImputer().fit(X)
    naive = naive_regression_fill(X)
    naive_sd = np.sqrt(np.diag(naive["covariance"]))
    full_sd = X_complete.std(axis=0)
    full_r = float(np.corrcoef(X_complete.T)[0, 1])
    say(f"  {'':24} {'mean x, y':>16} {'sd x, y':>16} {'corr':>6}")
    rows = [
        ("EM", imputer.mean_, imputer.std_, float(imputer.correlation_[0, 1])),
        ("fill in regression", naive["mean"], naive_sd, naive["correlation"]),
        ("complete data (truth)", X_complete.mean(axis=0), full_sd, full_r),
    ]
    for label, mean, sd, r in rows:
        say(
            f"  {label:24} {mean[0]:>7.3f} {mean[1]:>7.3f}  "
            f"{sd[0]:>7.3f} {sd[1]:>7.3f} {r:>6.3f}"
        )
    say(
        f"  EM: {imputer.n_iter_} iterations, observed-data log-likelihood "
        f"{imputer.lower_bound_ * len(X):.4f}"
    )
    if figures.available:
        from emmix import plotting

        figure, axes = figures.new(1, width=6.4)
        plotting.plot_imputation(imputer, X, axes[0], feature_names=["x", "y"])
        figures.save(figure, "missing_normal.png")
    return {
        "data": "make_missing_normal(random_state=0)",
        "n_missing": n_missing,
        "mean": imputer.mean_,
        "covariance": imputer.covariance_,
        "std": imputer.std_,
        "correlation": float(imputer.correlation_[0, 1]),
        "naive_fill": naive,
        "complete_data": {
            "mean": X_complete.mean(axis=0),
            "std": full_sd,
            "corr": full_r,
        },
        "log_likelihood": imputer.lower_bound_ * len(X),
        "n_iter": imputer.n_iter_,
        "converged": imputer.converged_,
    }


def _silent(*args) -> None:
    return None


def _demo(args) -> int:
    out_dir = Path(args.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{out_dir}: cannot create the output folder ({exc})") from None
    say = _silent if args.quiet else print
    figures = _Figures(out_dir)
    started = time.perf_counter()
    say("emmix demo: each estimator on its classic case\n")
    results = {}
    cases = [
        ("gaussian_iris", _demo_gaussian),
        ("poisson_counts", _demo_poisson),
        ("two_coins", _demo_coins),
        ("missing_normal", _demo_missing),
    ]
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    # The demo's problems are tiny: BLAS and OpenMP threads only add start-up
    # and spin-wait costs (tenfold on a busy machine), so use one.
    with threadpool_limits(limits=1):
        for key, run in cases:
            results[key] = _jsonable(run(figures, say))
            say()
    results_path = out_dir / "results.json"
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    say(f"Wrote {results_path}")
    if figures.available:
        say("Figures: " + ", ".join(figures.written))
    else:
        say(f"Figures skipped: {figures.skipped_reason}")
    say(f"Done in {time.perf_counter() - started:.1f} s")
    return 0


# ==================================================================== parser
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
    demo.set_defaults(func=_demo)

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
        type=_positive_int,
        metavar="K",
        help="number of components (default: chosen by --select)",
    )
    how.add_argument(
        "--select",
        choices=("bic", "aic", "cv"),
        default="bic",
        help="how to choose K: bic or aic on the data (lowest wins), cv = mean "
        "held-out log-likelihood over 5 folds (highest wins); default bic",
    )
    fit.add_argument(
        "--max-components",
        type=_positive_int,
        default=8,
        metavar="N",
        help="largest K tried by --select (default: 8)",
    )
    fit.add_argument(
        "--covariance-type",
        choices=("full", "tied", "diag", "spherical"),
        help="Gaussian covariance structure (default: full)",
    )
    fit.add_argument(
        "--n-trials",
        metavar="N",
        help="tosses per round for --model coin, or 'from_X' when the second "
        "half of the columns holds the tosses behind the heads in the first half",
    )
    fit.add_argument(
        "--n-init",
        type=_positive_int,
        default=3,
        metavar="N",
        help="EM runs from different starts, the best kept (default: 3)",
    )
    fit.add_argument(
        "--max-iter",
        type=_positive_int,
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
        type=_delimiter,
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
    fit.set_defaults(func=_fit_command)

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
        type=_delimiter,
        default=",",
        help="CSV delimiter, one character or '\\t' for tabs (default: ,)",
    )
    impute.add_argument(
        "--max-iter",
        type=_positive_int,
        default=500,
        metavar="N",
        help="most EM iterations (default: 500)",
    )
    impute.add_argument(
        "--quiet", action="store_true", help="no progress line and no report"
    )
    impute.set_defaults(func=_impute_command)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``emmix`` console script.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (``sys.argv[1:]`` if None).

    Returns
    -------
    status : int
        0 on success, 2 on a usage or data error (reported in one line on
        stderr).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except CLIError as exc:
        print(f"emmix: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emmix: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
