"""``emmix impute``: fill missing values by EM, with one normal or a mixture.

By default the missing values get their conditional expectation under the
maximum-likelihood multivariate normal model
(:class:`~emmix.impute.MultivariateNormalImputer`). With ``--n-components K``
(or ``--select``) a Gaussian mixture is fitted instead, and each missing value
becomes ``sum_k p(k | x_obs) E[x_miss | x_obs, k]``
(:meth:`emmix.GaussianMixtureEM.impute`): a row of one cluster is filled from
its cluster, not from the grand mean of all of them.

The filled table keeps the input: every column (those left out by
``--columns``/``--drop`` are copied unchanged), the row ids, the delimiter,
and each observed cell exactly as written; filled values are written with as
many decimals as the column's own values (or ``--float-format``).
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np

from ._errors import CLIError, plural
from ._output import refuse_overwrite, write_csv
from ._progress import Progress, watched
from ._read import Table, read_table_from_args
from ._report import component_lines

#: A plain decimal number (no exponent): its digits after the point count.
_DECIMAL = re.compile(r"^[+-]?\d*(?:\.(\d*))?$")


def column_decimals(cells: list[str]) -> int | None:
    """The most decimals among a column's plain decimal numbers.

    None when the column writes a number in exponent notation (or has no
    number): then filled values are written with 6 significant digits.
    """
    most = None
    for cell in cells:
        match = _DECIMAL.match(cell)
        if match is None:
            try:
                float(cell)
            except ValueError:
                continue  # a missing marker
            return None  # 1e-5, inf: no fixed number of decimals
        if any(ch.isdigit() for ch in cell):
            most = max(most or 0, len(match[1] or ""))
    return most


def _float_format(text: str | None):
    """``--float-format`` ('%.3f', '{:.3f}' or '.3f') as a function."""
    if text is None:
        return None
    try:
        if "%" in text:
            text % 1.5
            return lambda v: text % v
        if "{" in text:
            text.format(1.5)
            return text.format
        format(1.5, text)
        return lambda v: format(v, text)
    except (TypeError, ValueError, IndexError, KeyError):
        raise CLIError(
            f"--float-format {text!r}: not a number format; e.g. '%.3f' or '.3g'"
        ) from None


def _formatters(table: Table, fmt):
    """One function per column of X that writes its filled values."""
    if fmt is not None:
        return [fmt] * table.X.shape[1]
    out = []
    for j in table.columns:
        decimals = (
            None
            if table.cells is None
            else column_decimals([row[j] for row in table.cells])
        )
        if decimals is None:
            out.append(lambda v: f"{v:.6g}")
        else:
            out.append(lambda v, d=decimals: f"{v:.{d}f}")
    return out


def filled_rows(table: Table, filled: np.ndarray, fmt=None, indicator=False):
    """The header and rows of the filled table, as the input was written."""
    missing = np.isnan(table.X)
    formatters = _formatters(table, fmt)
    flagged = [jj for jj in range(table.X.shape[1]) if missing[:, jj].any()]
    if table.cells is not None:  # CSV: the input's cells, holes filled
        header = table.file_header
        rows = [list(row) for row in table.cells]
        for jj, j in enumerate(table.columns):
            for i in np.flatnonzero(missing[:, jj]):
                rows[i][j] = formatters[jj](float(filled[i, jj]))
    else:  # .npy: the values, the filled ones formatted
        header = None
        rows = [
            [
                formatters[jj](float(v)) if missing[i, jj] else repr(float(v))
                for jj, v in enumerate(row)
            ]
            for i, row in enumerate(filled)
        ]
    if indicator:
        names = [
            table.header[jj] if table.header else f"x{table.columns[jj] + 1}"
            for jj in flagged
        ]
        if header is not None or table.cells is None:
            header = [*(header or [f"x{j + 1}" for j in range(filled.shape[1])])]
            header += [f"{name}_filled" for name in names]
        for i, row in enumerate(rows):
            row += ["1" if missing[i, jj] else "0" for jj in flagged]
    return header, rows


def _fit_mixture(args, X, progress):
    """The Gaussian mixture that imputes (K given or chosen)."""
    from emmix import GaussianMixtureEM
    from emmix.model_selection import select_n_components

    cls = watched(GaussianMixtureEM, progress)
    estimator = cls(
        covariance_type=args.covariance_type,
        n_init=args.n_init,
        random_state=args.random_state,
        max_iter=args.max_iter,
    )
    if args.n_components is not None:
        if args.n_components > X.shape[0]:
            raise CLIError(
                f"{args.data}: --n-components {args.n_components} is more than "
                f"the {X.shape[0]} rows of the file"
            )
        progress.task("fitting GaussianMixtureEM")
        return estimator.set_params(n_components=args.n_components).fit(X), None
    max_k = min(args.max_components, X.shape[0])
    progress.task(f"choosing K by {args.select}")
    selection = select_n_components(
        estimator,
        X,
        range(1, max_k + 1),
        criterion=args.select,
        cv=min(5, X.shape[0]),
        error_score=np.nan,
    )
    return selection.best_estimator_, selection


def impute_command(args) -> int:
    """Run ``emmix impute``; return the exit status."""
    from emmix.impute import MultivariateNormalImputer

    out = sys.stdout
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=out))
    table = read_table_from_args(args)
    X, header = table.X, table.header
    fmt = _float_format(args.float_format)
    output = Path(args.output)
    refuse_overwrite([output], [args.data], "-o file")
    empty = [table.column(int(j)) for j in np.flatnonzero(np.isnan(X).all(0))]
    if empty:
        raise CLIError(
            f"{args.data}: {', '.join(empty)} "
            f"{'has' if len(empty) == 1 else 'have'} no observed value at all; "
            "leave it out with --drop and run again"
        )
    n_missing = int(np.isnan(X).sum())
    mixture = args.n_components is not None or args.select is not None
    progress = Progress(out, enabled=not args.quiet)
    progress.task("imputing")
    model = selection = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if mixture:
                model, selection = _fit_mixture(args, X, progress)
                filled = model.impute(X)
            else:
                model = watched(MultivariateNormalImputer, progress)(
                    keep_empty_features=False, max_iter=args.max_iter
                )
                filled = model.fit_transform(X)
    except (ValueError, TypeError) as exc:
        raise table.relay(exc) from None
    finally:
        progress.close()
    write_csv(
        output,
        *filled_rows(table, filled, fmt, args.indicator),
        delimiter=table.delimiter,
    )
    rows = int(np.isnan(X).any(axis=1).sum())
    names = header or [f"x{j + 1}" for j in range(X.shape[1])]
    say(
        f"emmix impute: {args.data} ({plural(X.shape[0], 'row')} x "
        f"{plural(X.shape[1], 'column')}), {plural(n_missing, 'missing value')} "
        f"in {plural(rows, 'row')}"
    )
    status = "converged" if model.converged_ else "NOT converged"
    if mixture:
        how = (
            f"K = {model.n_components} given"
            if selection is None
            else f"K = {model.n_components} chosen by {args.select.upper()}"
        )
        say(
            f"Gaussian mixture ({how}, {model.covariance_type} covariances): "
            f"{model.n_iter_} iterations, {status}; each missing value is its "
            "conditional mean given the row's observed values, averaged over "
            "the components by their posterior probability"
        )
        for line in component_lines(model, header):
            say(line)
    else:
        say(
            f"EM: {model.n_iter_} iterations, {status}, observed-data "
            f"log-likelihood {model.lower_bound_:.4f} per row"
        )
        say("mean:")
        say(
            "  "
            + "  ".join(f"{n}={m:.4g}" for n, m in zip(names, model.mean_, strict=True))
        )
        say("covariance:")
        width = max(len(n) for n in names)
        for name, row in zip(names, model.covariance_, strict=True):
            say(f"  {name:>{width}} " + " ".join(f"{v:>11.4g}" for v in row))
        say(
            "One normal for all rows: for data in clusters, impute with a "
            "mixture (--n-components K, or --select bic)."
        )
    for message in sorted({str(w.message) for w in caught}):
        say(f"warning: {message}")
    say(f"Wrote {output}")
    return 0
