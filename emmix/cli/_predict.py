"""``emmix predict`` and ``emmix score``: a saved model on new rows."""

from __future__ import annotations

import sys
import warnings

import numpy as np

from ._errors import CLIError, plural
from ._model import load_model
from ._output import probability_text, refuse_overwrite, write_csv
from ._read import Table, column_specs, peek_header, read_table


def posterior_table(estimator, proba: np.ndarray, table: Table):
    """The header and rows of ``labels.csv`` / ``predictions.csv``.

    Per row: its id, the most probable component (``label``, as ``predict``
    gives it, and ``component``, its name in the report and the figures),
    the ``uncertainty`` 1 - max_k p(k | x) (mclust's), and the probability of
    each component.
    """
    id_name, ids = table.row_ids()
    labels = np.argmax(proba, axis=1)
    # The sum of the other probabilities: 1 - max without the cancellation.
    uncertainty = np.sort(proba, axis=1)[:, :-1].sum(axis=1)
    names = [estimator._component_label(k) for k in range(proba.shape[1])]
    header = [
        id_name,
        "label",
        "component",
        "uncertainty",
        *(f"prob_{k}" for k in range(proba.shape[1])),
    ]
    rows = (
        [
            row_id,
            str(int(label)),
            names[label],
            probability_text(u),
            *(probability_text(p) for p in row),
        ]
        for row_id, label, u, row in zip(ids, labels, uncertainty, proba, strict=True)
    )
    return header, rows


def _model_table(args, model) -> Table:
    """Read DATA for ``model``: its columns by name when it knows them."""
    names = getattr(model, "feature_names_in_", None)
    columns = column_specs(args.columns)
    drop = column_specs(args.drop)
    options = {"delimiter": args.delimiter, "index_col": args.index_col}
    if columns is None and names is not None:
        header = peek_header(args.data, args.delimiter)
        if header is not None:
            missing = [str(n) for n in names if str(n) not in header]
            if missing:
                raise CLIError(
                    f"{args.data}: has no column {', '.join(map(repr, missing))}; "
                    f"the model was fitted on the columns "
                    f"{', '.join(map(str, names))}"
                )
            columns, drop = [str(n) for n in names], None
    table = read_table(
        args.data, allow_missing=True, columns=columns, drop=drop, **options
    )
    expected = int(model.n_features_in_)
    if table.X.shape[1] != expected:
        raise CLIError(
            f"{args.data}: {plural(table.X.shape[1], 'column')} used, but the model "
            f"was fitted on {expected} (choose them with --columns or --drop)"
        )
    return table


def _run(args, method: str):
    model = load_model(args.model)
    refuse_overwrite([args.output], [args.data, args.model], "-o file")
    table = _model_table(args, model)
    try:
        with warnings.catch_warnings():
            # The columns were matched by name above; the array has none.
            warnings.filterwarnings(
                "ignore", message="X does not have valid feature names"
            )
            values = getattr(model, method)(table.X)
    except (ValueError, TypeError) as exc:
        raise table.relay(exc) from None
    return model, table, np.asarray(values, dtype=np.float64)


def predict_command(args) -> int:
    """Run ``emmix predict``; return the exit status."""
    model, table, proba = _run(args, "predict_proba")
    header, rows = posterior_table(model, proba, table)
    write_csv(args.output, header, rows)
    if not args.quiet:
        labels = np.argmax(proba, axis=1)
        counts = np.bincount(labels, minlength=proba.shape[1])
        print(
            f"emmix predict: {type(model).__name__} (K = {proba.shape[1]}) on "
            f"{args.data} ({plural(len(proba), 'row')})",
            file=sys.stdout,
        )
        for k, count in enumerate(counts):
            print(f"  {model._component_label(k)}: {plural(int(count), 'row')}")
        uncertain = int((1.0 - proba.max(axis=1) > 0.1).sum())
        print(f"  {plural(uncertain, 'row')} with uncertainty above 0.1")
        print(f"Wrote {args.output}")
    return 0


def score_command(args) -> int:
    """Run ``emmix score``; return the exit status."""
    model, table, scores = _run(args, "score_samples")
    id_name, ids = table.row_ids()
    write_csv(
        args.output,
        [id_name, "log_likelihood"],
        ([i, f"{s:.6g}"] for i, s in zip(ids, scores, strict=True)),
    )
    if not args.quiet:
        print(
            f"emmix score: {type(model).__name__} on {args.data} "
            f"({plural(len(scores), 'row')}): mean log-likelihood "
            f"{scores.mean():.4f} per row"
        )
        lowest = np.argsort(scores, kind="stable")[:5]
        print(
            "  lowest (least typical rows): "
            + ", ".join(f"{ids[i]} ({scores[i]:.3f})" for i in lowest)
        )
        print(f"Wrote {args.output}")
    return 0
