"""``emmix fit``: a mixture on the rows of a CSV or ``.npy`` file."""

from __future__ import annotations

import json
import re
import sys
import warnings
from pathlib import Path

import numpy as np

from ._errors import CLIError, plural
from ._figures import Figures
from ._model import save_model
from ._output import make_folder, refuse_overwrite, write_csv
from ._predict import posterior_table
from ._progress import Progress, watched
from ._read import Table, column_specs, read_table_from_args
from ._report import (
    component_lines,
    fitted_attributes,
    jsonable,
    print_selection,
    selection_rows,
)

#: The files ``emmix fit`` writes in its ``--out`` folder.
OUTPUT_FILES = ("params.json", "labels.csv", "fit.png")


#: Families ``--groups`` takes for ``--model mixed``.
GROUP_FAMILIES = ("gaussian", "poisson", "coin", "categorical")


def parse_groups(
    spec: str | None, header: list[str] | None, n_columns: int
) -> list[tuple[str, list[int]]]:
    """``--groups``: ``[(family, columns from 0), ...]`` in the order given.

    Columns are names or positions (from 1) among the columns used; each
    column belongs to one group at most.
    """
    if spec is None or not spec.strip():
        raise CLIError(
            "--model mixed needs --groups, e.g. --groups "
            "'gaussian:1,2;categorical:3,4;poisson:5' (names or positions from 1)"
        )
    groups = []
    seen: dict[int, str] = {}
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        family, sep, columns = part.partition(":")
        family = family.strip().lower()
        if not sep or family not in GROUP_FAMILIES:
            raise CLIError(
                f"--groups {part!r}: write FAMILY:COLUMNS with FAMILY one of "
                f"{', '.join(GROUP_FAMILIES)}"
            )
        items = column_specs(columns) or []
        if not items:
            raise CLIError(f"--groups {part!r}: no columns after {family}:")
        chosen = []
        for item in items:
            if header is not None and item in header:
                index = header.index(item)
            elif item.isdigit() and 1 <= int(item) <= n_columns:
                index = int(item) - 1
            else:
                names = f"; the columns are {', '.join(header)}" if header else ""
                raise CLIError(
                    f"--groups {family}: {item!r} is not one of the "
                    f"{plural(n_columns, 'column')} used (a name, or a position "
                    f"from 1 to {n_columns}){names}"
                )
            if index in seen:
                raise CLIError(
                    f"--groups: column {item!r} is in the {seen[index]} group "
                    f"and the {family} group; give it to one"
                )
            seen[index] = family
            chosen.append(index)
        groups.append((family, chosen))
    if not groups:
        raise CLIError("--groups names no group")
    return groups


def _mixed_estimator(args, common, table, progress):
    """``--model mixed``: a MixedTypeMixture over ``--groups``."""
    from emmix import MixedTypeMixture

    width = table.X.shape[1]
    groups = parse_groups(args.groups, table.header, width)
    families = {family for family, _ in groups}
    kind = args.covariance_type
    if isinstance(kind, list):
        raise CLIError("--model mixed takes one --covariance-type")
    if kind is not None and "gaussian" not in families:
        raise CLIError(
            "--covariance-type applies to gaussian groups: --groups has none"
        )
    if args.n_trials is not None and "coin" not in families:
        raise CLIError("--n-trials applies to coin groups: --groups has none")
    columns = []
    for family, cols in groups:
        options = {}
        if family == "gaussian" and kind is not None:
            options["covariance_type"] = kind
        if family == "coin":
            options["n_trials"] = _n_trials(args.n_trials, "a coin group")
        columns.append((family, cols, options))
    unused = width - sum(len(cols) for _, cols in groups)
    if unused:
        raise CLIError(
            f"--groups leaves {plural(unused, 'column')} of the "
            f"{plural(width, 'column')} used in no group; give every column a "
            "group, or leave columns out with --columns / --drop"
        )
    return watched(MixedTypeMixture, progress)(columns=columns, **common)


def _n_trials(text, what: str):
    """``--n-trials`` as a positive integer (or ``from_X``), for ``what``."""
    if text is None:
        raise CLIError(
            f"{what} needs --n-trials N (tosses per round), or "
            "--n-trials from_X when the file has a tosses column per heads column"
        )
    if text == "from_X":
        return text
    try:
        n_trials = int(text)
    except ValueError:
        raise CLIError(
            f"--n-trials must be a positive integer or 'from_X', got {text!r}"
        ) from None
    if n_trials < 1:
        raise CLIError(f"--n-trials must be at least 1, got {n_trials}")
    return n_trials


def make_estimator(args, progress: Progress, table: Table | None = None):
    """The unfitted mixture the options ask for, reporting to ``progress``.

    ``table`` (the data read) is needed by ``--model mixed``, whose groups
    name its columns.
    """
    from emmix import (
        CategoricalMixture,
        CoinMixture,
        GaussianMixtureEM,
        PoissonMixture,
        StudentTMixture,
    )

    common = {
        "n_init": args.n_init,
        "random_state": args.random_state,
        "max_iter": args.max_iter,
    }
    if args.tol is not None:
        common["tol"] = args.tol
    if getattr(args, "groups", None) is not None and args.model != "mixed":
        raise CLIError("--groups applies only to --model mixed")
    if args.model == "mixed":
        if table is None:  # pragma: no cover - the fit command passes it
            raise CLIError("--model mixed needs the data's columns")
        return _mixed_estimator(args, common, table, progress)
    if args.model == "gaussian":
        cls = watched(GaussianMixtureEM, progress)
        kind = args.covariance_type or "full"
        if isinstance(kind, list):  # several: compared by select_model
            kind = kind[0]
        return cls(covariance_type=kind, **common)
    if args.model == "student-t":
        kind = args.covariance_type or "full"
        if kind not in ("full", "tied", "diag", "spherical"):
            raise CLIError(
                "--model student-t takes --covariance-type full, tied, diag or "
                f"spherical, not {kind!r}"
            )
        return watched(StudentTMixture, progress)(covariance_type=kind, **common)
    if args.covariance_type is not None:
        raise CLIError(
            "--covariance-type applies only to --model gaussian and student-t"
        )
    if args.model == "categorical":
        if args.n_trials is not None:
            raise CLIError("--n-trials applies only to --model coin")
        return watched(CategoricalMixture, progress)(**common)
    if args.model == "poisson":
        if args.n_trials is not None:
            raise CLIError("--n-trials applies only to --model coin")
        return watched(PoissonMixture, progress)(**common)
    n_trials = _n_trials(args.n_trials, "--model coin")
    return watched(CoinMixture, progress)(n_trials=n_trials, **common)


def check_whole_numbers(table: Table, args) -> str | None:
    """Refuse, or with ``--allow-non-integer`` note, values of a count model
    that are not whole numbers.

    A Poisson or binomial likelihood is defined on counts: fitted to
    measurements such as 5.1 it gives numbers that mean nothing, and the
    estimators themselves accept them (their sufficient statistics are sums).
    """
    if args.model not in ("poisson", "coin"):
        return None
    X = table.X
    fractional = ~np.isnan(X) & (X != np.round(X))
    if not fractional.any():
        return None
    n = int(fractional.sum())
    i, j = (int(v) for v in np.argwhere(fractional)[0])
    where = f"{table.row(i)}, {table.column(j)}: {X[i, j]:g}"
    if args.allow_non_integer:
        return (
            f"{plural(n, 'value')} not whole numbers (first at {where}), fitted "
            "as asked (--allow-non-integer)"
        )
    raise CLIError(
        f"{table.path}: {where} is not a whole number ({plural(n, 'value')} "
        f"in all); --model {args.model} models counts: use --model gaussian for "
        "measurements, or pass --allow-non-integer to fit them anyway"
    )


def _why_every_k_failed(estimator, table: Table, caught, max_k: int) -> CLIError:
    """The real reason when every candidate K failed to fit.

    The data's own problem (negative counts, heads above tosses, ...) shows
    when the smallest model is fitted with errors raised; a failure that only
    the selection met is taken from the warning it left.
    """
    from sklearn.base import clone

    probe = clone(estimator).set_params(n_components=1, n_init=1, max_iter=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one iteration does not converge
            probe.fit(table.X)
    except (ValueError, TypeError) as exc:
        return table.relay(exc)
    for warning in caught:
        found = re.match(
            r"Fitting with n_components=(\d+) failed and is scored \S+: \w+: (.*)",
            str(warning.message),
            flags=re.DOTALL,
        )
        if found:
            return CLIError(
                f"{table.path}: no K from 1 to {max_k} could be fitted; with "
                f"K = {found[1]}: {table.translate(' '.join(found[2].split()))}"
            )
    return CLIError(f"{table.path}: no K from 1 to {max_k} could be fitted")


#: Most columns the pairs grid of fit.png shows (the best separating ones).
MAX_PAIRS_COLUMNS = 6


def _draws_pairs(estimator) -> bool:
    """Whether the family's data panel draws the pair of columns it is given
    (a Gaussian's scatter), not one column (a count family's bars).

    Asked through the family's ``_drawn_columns`` hook: a family that draws
    pairs draws ``(1, 0)`` as given.
    """
    return estimator.n_features_in_ >= 2 and list(estimator._drawn_columns((1, 0))) == [
        1,
        0,
    ]


def figure_columns(
    spec: list[str] | None, header: list[str] | None, n: int
) -> list[int]:
    """``--features``: names or positions (from 1) among the columns used."""
    if spec is None:
        return []
    chosen = []
    for item in spec:
        if header is not None and item in header:
            chosen.append(header.index(item))
        elif item.isdigit() and 1 <= int(item) <= n:
            chosen.append(int(item) - 1)
        else:
            names = f"; the columns are {', '.join(header)}" if header else ""
            raise CLIError(
                f"--features {item!r}: not one of the {plural(n, 'column')} used "
                f"(a name, or a position from 1 to {n}){names}"
            )
    if len(set(chosen)) != len(chosen):
        raise CLIError("--features names a column twice")
    return chosen


def _layout(estimator, X, features: list[int]):
    """The data panel's columns, and the columns of the pairs grid (or None)."""
    from emmix.plotting import separating_pairs

    if not _draws_pairs(estimator):
        return (tuple(features[:1]) or (0,)), None
    if len(features) == 1:
        raise CLIError(
            f"--features: a {type(estimator).__name__} is drawn as pairs of "
            "columns; give two or more"
        )
    candidates = features or list(range(X.shape[1]))
    if len(candidates) == 2:
        return tuple(candidates), None
    ranked = [
        pair
        for pair in separating_pairs(estimator, X)
        if pair[0] in candidates and pair[1] in candidates
    ]
    grid = candidates
    if not features and len(candidates) > MAX_PAIRS_COLUMNS:
        # The columns of the best separating pairs, as many as fit.
        grid = []
        for pair in ranked:
            grid += [j for j in pair if j not in grid]
            if len(grid) >= MAX_PAIRS_COLUMNS:
                break
        grid = sorted(grid[:MAX_PAIRS_COLUMNS])
    return ranked[0], grid


def draw_fit_figure(
    figures: Figures, estimator, X, header, selection, features=()
) -> str | None:
    """Write ``fit.png``: the mixture over its data, convergence, selection.

    The family says which columns its data panel shows (``_drawn_columns``)
    and draws itself. A family drawn as pairs of columns (a Gaussian) shows
    the pair that separates the components best
    (:func:`emmix.plotting.separating_pairs`), or the two ``features``; with
    more columns, a grid of every pair (:func:`emmix.plotting.plot_pairs`)
    is drawn below. Each panel shows the rows with a value in the columns it
    draws.

    Returns
    -------
    note : str or None
        What the figure leaves out, if anything.
    """
    from emmix import plotting

    panel, grid = _layout(estimator, X, list(features))
    n_panels = 3 if selection is not None else 2
    width = 5.2
    if grid is None:
        figure, axes = figures.new(n_panels, width=width)
    else:
        figure = figures.figure_class(
            figsize=(
                max(width * n_panels, 2.3 * len(grid) + 1.5),
                4.6 + 2.2 * len(grid),
            ),
            layout="constrained",
        )
        top, bottom = figure.subfigures(2, 1, height_ratios=[4.6, 2.2 * len(grid)])
        axes = list(top.subplots(1, n_panels, squeeze=False)[0])
    drawn = estimator._drawn_columns(panel)
    shown = ~np.isnan(X[:, drawn]).any(axis=1)
    note = None
    if shown.any():
        plotting.plot_mixture(
            estimator, X[shown], axes[0], features=panel, feature_names=header
        )
        if not shown.all():
            note = (
                f"the data panel leaves out {plural(int((~shown).sum()), 'row')} "
                "with a missing value in the columns it shows"
            )
    else:
        axes[0].text(
            0.5,
            0.5,
            "no row has a value in\nevery column shown",
            ha="center",
            va="center",
            transform=axes[0].transAxes,
        )
        axes[0].set_axis_off()
        note = "no data panel: no row has a value in every column it would show"
    plotting.plot_convergence(estimator, axes[1])
    if _compares(selection):  # several covariance structures
        plotting.plot_model_selection(selection, axes[2])
    elif selection is not None:
        plotting.plot_criterion(selection, axes[2])
    if grid is not None:
        plotting.plot_pairs(
            estimator, X, feature_names=header, features=grid, figure=bottom
        )
        if len(grid) < X.shape[1]:
            left = (
                f"the pairs grid shows {len(grid)} of the {X.shape[1]} columns, "
                "those of the best separating pairs (choose with --features)"
            )
            note = left if note is None else f"{note}; {left}"
    figures.save(figure, "fit.png")
    return note


def _compares(selection) -> bool:
    """Whether a selection compared models over a grid (select_model)."""
    from emmix.model_selection import ModelSelection

    return isinstance(selection, ModelSelection)


def _compares_structures(args) -> bool:
    """Several covariance structures (or ICL): select_model, not select_n_components."""
    several = isinstance(args.covariance_type, list)
    if several and args.model != "gaussian":
        raise CLIError("--covariance-type applies only to --model gaussian")
    if several and args.n_components is not None:
        raise CLIError(
            "several --covariance-type values are compared with K by --select: "
            "drop --n-components, or give one covariance type"
        )
    if (several or args.select == "icl") and args.select == "cv":
        raise CLIError("--select cv compares K for one --covariance-type only")
    return args.n_components is None and (several or args.select == "icl")


def _select_structure_and_k(estimator, X, args, n_samples):
    """Every structure x K = 1..--max-components, ranked by --select."""
    from emmix.model_selection import select_model

    kinds = args.covariance_type
    if not isinstance(kinds, list):
        kinds = [estimator.covariance_type]
    grid = {
        "covariance_type": kinds,
        "n_components": range(1, min(args.max_components, n_samples) + 1),
    }
    return select_model(estimator, X, grid, criterion=args.select, error_score=np.nan)


def fit_command(args) -> int:
    """Run ``emmix fit``; return the exit status."""
    from emmix.model_selection import select_n_components

    out = sys.stdout
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=out))
    # Missing cells are fine: the mixtures integrate them out (proper EM).
    table = read_table_from_args(args)
    X, header = table.X, table.header
    features = figure_columns(column_specs(args.features), header, X.shape[1])
    out_dir = Path(args.out)
    refuse_overwrite(
        [out_dir / name for name in OUTPUT_FILES], [args.data], "--out folder"
    )
    if args.save is not None:
        refuse_overwrite([args.save], [args.data], "--save file")
    n_samples, n_features = X.shape
    n_missing = int(np.isnan(X).sum())
    progress = Progress(out, enabled=not args.quiet)
    estimator = make_estimator(args, progress, table)
    name = type(estimator).__name__
    non_integer = check_whole_numbers(table, args)
    say(
        f"emmix fit: {name} on {args.data} ({plural(n_samples, 'row')} x "
        f"{plural(n_features, 'column')})"
    )
    empty_rows = np.flatnonzero(np.isnan(X).all(axis=1)) if n_missing else []
    if len(empty_rows):
        raise CLIError(
            f"{args.data}: {table.row(int(empty_rows[0]))}: every value is "
            "missing; drop rows with no value"
        )
    if n_samples < 2:
        raise CLIError(
            f"{args.data}: has a single data row; a mixture needs at least 2 rows"
        )
    if non_integer:
        say(f"  warning: {non_integer}")
    if n_missing:
        say(
            f"{plural(n_missing, 'missing value')}: integrated out of the "
            "likelihood (EM with data missing at random)"
        )
    if args.n_components is not None and args.n_components > n_samples:
        raise CLIError(
            f"{args.data}: --n-components {args.n_components} is more than the "
            f"{n_samples} rows of the file"
        )

    selection = None
    compare = _compares_structures(args)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if args.n_components is not None:
                progress.task(f"fitting {name}")
                estimator.set_params(n_components=args.n_components).fit(X)
            elif compare:
                progress.task(f"choosing the structure and K by {args.select}")
                selection = _select_structure_and_k(estimator, X, args, n_samples)
                estimator = selection.best_estimator_
            else:
                max_k = min(args.max_components, n_samples)
                progress.task(f"choosing K by {args.select}")
                try:
                    selection = select_n_components(
                        estimator,
                        X,
                        range(1, max_k + 1),
                        criterion=args.select,
                        cv=min(5, n_samples),
                        error_score=np.nan,
                    )
                except ValueError as exc:
                    if str(exc).startswith("Every candidate"):
                        raise _why_every_k_failed(
                            estimator, table, caught, max_k
                        ) from None
                    raise
                estimator = selection.best_estimator_
    except (ValueError, TypeError) as exc:
        # The estimators' messages say what is wrong with the data.
        raise table.relay(exc) from None
    finally:
        progress.close()

    make_folder(out_dir)
    if _compares(selection):
        say("\n" + selection.summary(5))
    elif selection is not None:
        say(f"\nNumber of components chosen by {args.select.upper()}:")
        if not args.quiet:
            print_selection(selection, out)
    try:
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
            "params": jsonable(estimator.get_params()),
            "fitted": fitted_attributes(estimator),
            "selection": None if selection is None else selection_rows(selection),
            "warnings": sorted({str(w.message) for w in caught}),
        }
        proba = estimator.predict_proba(X)
    except (ValueError, TypeError) as exc:
        raise table.relay(exc) from None
    say(
        f"\nK = {summary['n_components']}: "
        f"log-likelihood {summary['log_likelihood']:.3f} "
        f"({ll_mean:.4f} per row), BIC {summary['bic']:.3f}, "
        f"{summary['n_iter']} iterations, "
        f"{'converged' if summary['converged'] else 'NOT converged'}"
    )
    for line in component_lines(estimator, header):
        say(line)
    for message in summary["warnings"]:
        say(f"  warning: {message}")

    params_path = out_dir / "params.json"
    params_path.write_text(json.dumps(summary, indent=2) + "\n")
    labels_path = out_dir / "labels.csv"
    write_csv(labels_path, *posterior_table(estimator, proba, table))
    written = [str(params_path), str(labels_path)]
    if args.save is not None:
        written.append(str(save_model(estimator, args.save, header)))

    figures = Figures(out_dir)
    note = None
    if figures.available:
        try:
            note = draw_fit_figure(figures, estimator, X, header, selection, features)
        except (ValueError, TypeError) as exc:
            # The fit and its files are done: a figure problem is only a note.
            figures.skipped_reason = f"fit.png could not be drawn ({exc})"
        written += figures.written
    say("\nWrote " + ", ".join(written))
    if note:
        say(f"Figure: {note}")
    if not figures.written:
        say(f"Figures skipped: {figures.skipped_reason}")
    return 0
