"""The command's reports: numbers, JSON of fitted attributes, selection tables."""

from __future__ import annotations

import math

import numpy as np


def jsonable(value):
    """Plain JSON types from numpy values (NaN and inf become None)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def fitted_attributes(estimator) -> dict:
    """Every public fitted attribute (``name_``) of ``estimator``."""
    return {
        name: jsonable(value)
        for name, value in vars(estimator).items()
        if name.endswith("_") and not name.startswith("_") and name != "indicator_"
    }


def fmt(values, digits: int = 3) -> str:
    """``values`` as a short bracketed list of rounded numbers."""
    from emmix.base import format_values

    return format_values(values, digits)


def selection_rows(selection) -> list[dict]:
    """The rows of a selection's table (a dict of columns or a DataFrame)."""
    table = selection.table_
    columns = table if isinstance(table, dict) else None
    if columns is None:  # a DataFrame
        columns = {"n_components": table.index.to_numpy()}
        columns.update({name: table[name].to_numpy() for name in table.columns})
    n = len(columns["n_components"])
    return [
        {name: jsonable(values[i]) for name, values in columns.items()}
        for i in range(n)
    ]


def print_selection(selection, out) -> None:
    """The selection table, the chosen K marked."""
    name = {"bic": "BIC", "aic": "AIC", "cv": "held-out ll/sample"}[selection.criterion]
    print(
        f"  {'K':>3} {name:>19} {'log-likelihood':>15} {'parameters':>10} "
        f"{'iterations':>10}",
        file=out,
    )
    for row in selection_rows(selection):
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


def component_lines(estimator, header) -> list[str]:
    """One line per component, heaviest first, as the family describes it."""
    lines = [
        f"  {estimator._component_label(k)}: {estimator._describe_component(k)}"
        for k in np.argsort(-np.asarray(estimator.weights_))
    ]
    if header:
        lines.insert(0, f"  columns: {', '.join(header)}")
    return lines
