"""``emmix impute``: fill missing values by EM under a multivariate normal model."""

from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path

import numpy as np

from ._errors import CLIError, plural
from ._output import refuse_overwrite
from ._progress import Progress, watched
from ._read import read_table


def impute_command(args) -> int:
    """Run ``emmix impute``; return the exit status."""
    from emmix.impute import MultivariateNormalImputer

    out = sys.stdout
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=out))
    table = read_table(args.data, delimiter=args.delimiter, allow_missing=True)
    X, header = table.X, table.header
    output = Path(args.output)
    refuse_overwrite([output], [args.data], "-o file")
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
    except (ValueError, TypeError) as exc:
        raise table.relay(exc) from None
    finally:
        progress.close()
    if filled.shape[1] != X.shape[1]:
        empty = [table.column(int(j)) for j in np.flatnonzero(np.isnan(X).all(0))]
        raise CLIError(
            f"{args.data}: {', '.join(empty)} "
            f"{'has' if len(empty) == 1 else 'have'} no observed value at all; "
            "remove them and run again"
        )
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
        f"emmix impute: {args.data} ({plural(X.shape[0], 'row')} x "
        f"{plural(X.shape[1], 'column')}), {plural(n_missing, 'missing value')} "
        f"in {plural(rows, 'row')}"
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
