"""Figures for fitted emmix estimators (needs matplotlib: ``pip install emmix[plot]``).

Every function draws on the Axes it is given (or on a new figure's Axes) and
returns that Axes, so figures can be composed and saved as the caller likes.
matplotlib is imported only when a function is called: the rest of emmix never
needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:  # matplotlib is optional: only for the annotations
    from matplotlib.axes import Axes

__all__ = [
    "plot_convergence",
    "plot_criterion",
    "plot_imputation",
    "plot_mixture",
    "plot_model_selection",
    "plot_pairs",
    "separating_pairs",
]

_MISSING_MATPLOTLIB = (
    "emmix.plotting needs matplotlib, which is not installed. Install the plot "
    "extra: pip install 'emmix[plot]' (or pip install matplotlib)."
)

# Observed data in neutral grey, the fitted model in colour.
_DATA_COLOR = "0.75"
_MODEL_COLOR = "black"


def _new_axes(ax):
    """``ax`` itself, or the Axes of a new figure (importing pyplot only then)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(_MISSING_MATPLOTLIB) from exc
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    return ax


def _colors(n: int) -> list:
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


# ----------------------------------------------------------- convergence
def plot_convergence(estimator, ax: Axes | None = None) -> Axes:
    """Mean log-likelihood per sample at each EM iteration of the kept run.

    Parameters
    ----------
    estimator : fitted estimator
        Any emmix estimator (it has ``lower_bounds_``).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _new_axes(ax)
    check_is_fitted(estimator, "lower_bounds_")
    bounds = np.asarray(estimator.lower_bounds_, dtype=np.float64)
    iterations = np.arange(1, bounds.size + 1)
    ax.plot(iterations, bounds, marker="o", markersize=3, color=_MODEL_COLOR)
    status = "converged" if getattr(estimator, "converged_", False) else "not converged"
    ax.set_title(
        f"{type(estimator).__name__}: {bounds.size} iterations, {status}",
        fontsize="medium",
    )
    ax.set_xlabel("EM iteration")
    ax.set_ylabel("mean log-likelihood per sample")
    if bounds.size:
        ax.annotate(
            f"{bounds[-1]:.4f}",
            xy=(iterations[-1], bounds[-1]),
            xytext=(-4, -14),
            textcoords="offset points",
            ha="right",
            fontsize="small",
        )
    # Integer ticks: iterations are counts. No offset ("-1.086e1 + 0.003"):
    # the log-likelihood values themselves are what a reader compares.
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.ticklabel_format(axis="y", useOffset=False)
    ax.grid(alpha=0.3)
    return ax


# -------------------------------------------------------------- criterion
_CRITERION_LABELS = {
    "bic": "BIC on training data (lower is better)",
    "aic": "AIC on training data (lower is better)",
    "cv": "mean held-out log-likelihood\nper sample (higher is better)",
}


def plot_criterion(selection, ax: Axes | None = None) -> Axes:
    """The selection criterion against the number of components.

    Parameters
    ----------
    selection : ComponentSelection
        The result of :func:`emmix.model_selection.select_n_components`.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _new_axes(ax)
    ks = np.asarray(selection.n_components_)
    scores = np.asarray(selection.scores_, dtype=np.float64)
    order = np.argsort(ks)
    spread = None
    table = selection.table_
    if selection.criterion == "cv":
        spread = np.asarray(table["cv_std"], dtype=np.float64)[order]
    if spread is not None:
        ax.errorbar(
            ks[order],
            scores[order],
            yerr=spread,
            marker="o",
            color=_MODEL_COLOR,
            capsize=3,
            label="mean ± sd over folds",
        )
        ax.legend(loc="lower right", fontsize="small")
    else:
        ax.plot(ks[order], scores[order], marker="o", color=_MODEL_COLOR)
    best = selection.best_n_components_
    ax.plot(
        [best],
        [scores[selection.best_index_]],
        marker="*",
        markersize=16,
        color="tab:red",
        linestyle="none",
        zorder=3,
    )
    ax.axvline(best, color="tab:red", alpha=0.3, linestyle="--")
    ax.set_xticks(ks[order])
    ax.set_xlabel("number of components K")
    ax.set_ylabel(_CRITERION_LABELS[selection.criterion])
    ax.set_title(f"chosen: K = {best}", fontsize="medium")
    ax.grid(alpha=0.3)
    return ax


_MODEL_CRITERION_LABELS = {
    "bic": "BIC (lower is better;\nmclust plots -BIC)",
    "icl": "ICL (lower is better;\nmclust plots -ICL)",
    "aic": "AIC (lower is better)",
}

_MARKERS = "osD^v<>pPX*hd83"


def plot_model_selection(result, ax: Axes | None = None) -> Axes:
    """The criterion against K, one line per covariance structure (mclust's BIC plot).

    Parameters
    ----------
    result : ModelSelection
        The result of :func:`emmix.model_selection.select_model`, over a grid
        with ``n_components`` (the x-axis); every other parameter combination
        (the covariance structure, typically) is one line.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    ax : matplotlib Axes

    Notes
    -----
    emmix's criteria are "lower is better", so the best model is the lowest
    point (marked by a star); mclust draws ``-BIC``, upside down.
    """
    ax = _new_axes(ax)
    params = result.params_
    if not all("n_components" in p for p in params):
        raise ValueError(
            "plot_model_selection draws the criterion against n_components: "
            "the grid of select_model must include 'n_components'."
        )
    lines: dict[tuple, list[int]] = {}
    for i, p in enumerate(params):
        key = tuple((name, p[name]) for name in sorted(p) if name != "n_components")
        lines.setdefault(key, []).append(i)
    scores = np.asarray(result.scores_, dtype=np.float64)
    import matplotlib as mpl

    cmap = mpl.colormaps["tab20" if len(lines) > 10 else "tab10"]
    for n, (key, rows) in enumerate(lines.items()):
        ks = np.array([params[i]["n_components"] for i in rows])
        order = np.argsort(ks)
        label = ",".join(str(value) for _, value in key) or "model"
        ax.plot(
            ks[order],
            scores[rows][order],
            marker=_MARKERS[n % len(_MARKERS)],
            markersize=5,
            color=cmap(n % cmap.N),
            label=label,
        )
    best = result.best_index_
    ax.plot(
        [params[best]["n_components"]],
        [scores[best]],
        marker="*",
        markersize=18,
        markerfacecolor="none",
        markeredgecolor="tab:red",
        linestyle="none",
        zorder=3,
    )
    ks = sorted({p["n_components"] for p in params})
    ax.set_xticks(ks)
    ax.set_xlabel("number of components K")
    ax.set_ylabel(_MODEL_CRITERION_LABELS[result.criterion])
    ax.set_title(
        f"best: {result._label(best)} ({result.criterion.upper()} {scores[best]:.1f})",
        fontsize="medium",
    )
    if len(lines) > 1:
        ax.legend(
            fontsize="x-small",
            ncols=2 if len(lines) > 7 else 1,
            loc="upper right",
            title="structure",
            title_fontsize="x-small",
        )
    ax.grid(alpha=0.3)
    return ax


# ---------------------------------------------------------------- mixture
def _full_covariances(estimator) -> np.ndarray:
    """Covariances as an array (n_components, d, d), whatever the covariance type."""
    from .mixture._covariance_structures import full_covariances

    k, d = np.shape(estimator.means_)
    kind = getattr(estimator, "covariance_type", "full")
    return np.asarray(
        full_covariances(estimator.covariances_, kind, k, d), dtype=np.float64
    )


def _ellipse(ax, mean, cov, color, n_std: float, **kwargs):
    """Draw the ``n_std`` contour of a 2-d Gaussian."""
    from matplotlib.patches import Ellipse

    values, vectors = np.linalg.eigh(cov)
    values = np.clip(values, 0.0, None)
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    width, height = 2.0 * n_std * np.sqrt(values[::-1])
    ax.add_patch(
        Ellipse(
            mean,
            width,
            height,
            angle=angle,
            facecolor="none",
            edgecolor=color,
            **kwargs,
        )
    )


def draw_gaussian_components(estimator, X, features, ax, names):
    """The drawing of Gaussian families: 1-d densities, or 2-d ellipses."""
    if X.shape[1] == 1:
        _plot_gaussian_1d(estimator, X, ax, names)
    else:
        _plot_gaussian_2d(estimator, X, tuple(features), ax, names)


def _plot_gaussian_1d(estimator, X, ax, names):
    x = X[:, 0]
    ax.hist(
        x,
        bins="auto",
        density=True,
        color=_DATA_COLOR,
        edgecolor="white",
        label="data",
    )
    span = x.max() - x.min()
    grid = np.linspace(x.min() - 0.1 * span, x.max() + 0.1 * span, 400)
    means = np.asarray(estimator.means_)[:, 0]
    sds = np.sqrt(_full_covariances(estimator)[:, 0, 0])
    total = np.zeros_like(grid)
    for k, (w, m, s, c) in enumerate(
        zip(estimator.weights_, means, sds, _colors(len(means)), strict=True)
    ):
        density = w * stats.norm.pdf(grid, m, s)
        total += density
        # Shaded, so a component stays visible where it equals the mixture.
        ax.fill_between(grid, density, color=c, alpha=0.3, linewidth=0)
        ax.plot(
            grid, density, color=c, linestyle="--", label=estimator._component_label(k)
        )
    ax.plot(grid, total, color=_MODEL_COLOR, linewidth=2, label="mixture")
    ax.set_xlabel(_feature_name(estimator, 0, names))
    ax.set_ylabel("density")
    ax.legend(fontsize="small")


def _feature_name(estimator, j: int, names=None) -> str:
    """Column ``j``'s name: given, seen at fit (a DataFrame's), or
    ``feature j+1`` (counted from 1, as a reader counts columns)."""
    if names is None:
        names = getattr(estimator, "feature_names_in_", None)
    return str(names[j]) if names is not None else f"feature {j + 1}"


def _feature_title(estimator, j: int, names=None) -> str:
    """Column ``j`` in a title: ``"petal_width (column 4)"`` or ``"feature 4"``."""
    name = _feature_name(estimator, j, names)
    return name if name == f"feature {j + 1}" else f"{name} (column {j + 1})"


#: Most points a scatter shows; beyond that the ellipses drown in ink.
MAX_SCATTER_POINTS = 5000


def _plot_gaussian_2d(estimator, X, features, ax, names):
    i, j = features
    n_total = X.shape[0]
    if n_total > MAX_SCATTER_POINTS:
        # A fixed random subset, so the same data always give the same figure.
        rows = np.random.default_rng(0).choice(n_total, MAX_SCATTER_POINTS, False)
        X = X[np.sort(rows)]
    labels = estimator.predict(X)
    k = len(estimator.weights_)
    colors = _colors(k)
    point_colors = [colors[label] for label in labels]
    ax.scatter(X[:, i], X[:, j], c=point_colors, s=12, alpha=0.5, linewidths=0)
    covariances = _full_covariances(estimator)[:, [i, j]][:, :, [i, j]]
    means = np.asarray(estimator.means_)[:, [i, j]]
    for c in range(k):
        # 1 and 2 standard deviations: ~39% and ~86% of a 2-d Gaussian's mass.
        # Drawn above the points (zorder), with a white halo to stand out.
        from matplotlib import patheffects

        halo = [patheffects.withStroke(linewidth=4, foreground="white")]
        for n_std, width, style in ((1.0, 2.5, "-"), (2.0, 1.5, "--")):
            _ellipse(
                ax,
                means[c],
                covariances[c],
                colors[c],
                n_std,
                lw=width,
                ls=style,
                zorder=3,
                path_effects=halo,
            )
        ax.plot(
            *means[c],
            marker="X",
            color=colors[c],
            markersize=10,
            mec="black",
            zorder=4,
        )
        ax.annotate(
            f"{estimator._component_label(c)}: w={estimator.weights_[c]:.2f}",
            means[c],
            xytext=(6, 6),
            textcoords="offset points",
            fontsize="small",
            fontweight="bold",
            zorder=5,
            bbox={
                "boxstyle": "round,pad=0.2",
                "fc": "white",
                "ec": "none",
                "alpha": 0.7,
            },
        )
    ax.set_xlabel(_feature_name(estimator, i, names))
    ax.set_ylabel(_feature_name(estimator, j, names))
    notes = []
    if X.shape[1] != 2:
        notes.append(
            f"{_feature_title(estimator, i, names)} and "
            f"{_feature_title(estimator, j, names)} of {X.shape[1]}"
        )
    if n_total > X.shape[0]:
        notes.append(f"{X.shape[0]} of {n_total} points")
    note = f"\n({'; '.join(notes)})" if notes else ""
    ax.set_title(f"{k} components, 1 and 2 sd contours{note}", fontsize="medium")


def draw_count_components(estimator, X, feature, ax, names):
    """Observed frequencies of one count feature against the fitted ones.

    The drawing of count families (Poisson, coins): the family's
    ``_count_marginal(X, feature)`` gives the values, the observed counts and
    each component's expected frequency of each value; ``_count_kind`` names
    what is counted.
    """
    values, counts, expected = estimator._count_marginal(X, feature)
    # Each row counts at its nearest whole value: a non-integer row (fitted
    # with the command's --allow-non-integer) is not silently left out.
    binned = np.rint(counts[~np.isnan(counts)])
    observed = np.array([np.sum(binned == v) for v in values])
    n_rounded = int(np.sum(binned != counts[~np.isnan(counts)]))
    ax.bar(values, observed, color=_DATA_COLOR, width=0.85, label="observed")
    colors = _colors(expected.shape[0])
    for k, row in enumerate(expected):
        ax.plot(
            values,
            row,
            color=colors[k],
            linestyle="--",
            linewidth=1.2,
            label=estimator._component_label(k),
        )
    ax.plot(
        values,
        expected.sum(axis=0),
        color=_MODEL_COLOR,
        marker="o",
        markersize=4,
        linewidth=1.5,
        label="fitted mixture",
    )
    kind = estimator._count_kind
    unnamed = names is None and getattr(estimator, "feature_names_in_", None) is None
    if unnamed and expected.shape[0] and estimator._n_count_features() == 1:
        ax.set_xlabel(kind)  # one anonymous column: nothing to name
    else:
        name = _feature_name(estimator, feature, names)
        ax.set_xlabel(name if name == kind else f"{kind} ({name})")
    ax.set_ylabel("number of rows")
    if values.size <= 25:
        ax.set_xticks(values)
    ax.legend(fontsize="small")
    rounded = f"\n({n_rounded} non-integer values rounded)" if n_rounded else ""
    ax.set_title(
        f"observed vs fitted frequencies, {X.shape[0]} rows{rounded}",
        fontsize="medium",
    )


def plot_mixture(
    estimator,
    X: ArrayLike,
    ax: Axes | None = None,
    *,
    features: tuple[int, int] = (0, 1),
    feature_names: Sequence[str] | None = None,
) -> Axes:
    """Draw a fitted mixture over its data.

    * Gaussian mixture on 1 feature: histogram and the weighted component
      densities with their sum;
    * Gaussian mixture on 2 or more features: scatter coloured by predicted
      component with the 1 and 2 standard deviation ellipses (of the two
      ``features`` shown);
    * count mixtures (Poisson, coins): bar chart of the observed frequency of
      each count against the fitted expected frequencies (first of
      ``features``).

    Parameters
    ----------
    estimator : fitted mixture
        A fitted :class:`~emmix.GaussianMixtureEM`, :class:`~emmix.PoissonMixture`
        or :class:`~emmix.CoinMixture`.
    X : array-like of shape (n_samples, n_features)
        The data to show (normally the training data).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    features : tuple of int, default=(0, 1)
        Columns to show when there are more than the plot can hold.
    feature_names : sequence of str, default=None
        Names of all the columns of ``X``, for the axis labels; by default the
        names seen at fit (a DataFrame's columns) or ``feature j``.

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _new_axes(ax)
    check_is_fitted(estimator)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, np.newaxis]
    # The family draws itself (its ``_plot_components`` hook), with the
    # drawing functions of this module.
    draw = getattr(estimator, "_plot_components", None)
    try:
        if draw is None:
            raise NotImplementedError
        draw(X, ax, tuple(features), feature_names)
    except NotImplementedError:
        raise TypeError(
            f"plot_mixture does not know how to draw a {type(estimator).__name__}: "
            "its family does not define _plot_components (see emmix.base)."
        ) from None
    ax.grid(alpha=0.3)
    return ax


# ------------------------------------------------------------- imputation
def plot_imputation(
    imputer,
    X: ArrayLike,
    ax: Axes | None = None,
    *,
    features: tuple[int, int] = (0, 1),
    feature_names: Sequence[str] | None = None,
) -> Axes:
    """Scatter of the data with the imputed values marked.

    Complete rows are grey dots; rows that had a missing value are drawn at
    their filled-in position, as coloured crosses. When the imputer exposes a
    fitted mean and covariance (``mean_``, ``covariance_``), the 2 standard
    deviation ellipse of the fitted normal distribution is drawn too.

    Parameters
    ----------
    imputer : fitted imputer
        Any fitted transformer that fills NaN entries (for example
        ``emmix.impute.MultivariateNormalImputer``).
    X : array-like of shape (n_samples, n_features)
        Data with missing values as NaN (normally the training data).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    features : tuple of int, default=(0, 1)
        The two columns to show.
    feature_names : sequence of str, default=None
        Names of all the columns of ``X``, for the labels; by default the
        names seen at fit (a DataFrame's columns) or ``feature j``.

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _new_axes(ax)
    X = np.asarray(X, dtype=np.float64)
    filled = np.asarray(imputer.transform(X), dtype=np.float64)
    i, j = features
    name_i = _feature_name(imputer, i, feature_names)
    name_j = _feature_name(imputer, j, feature_names)
    missing = np.isnan(X[:, [i, j]])
    complete = ~missing.any(axis=1)
    ax.scatter(
        X[complete, i],
        X[complete, j],
        s=14,
        color=_DATA_COLOR,
        edgecolors="0.5",
        linewidths=0.4,
        label=f"complete rows ({int(complete.sum())})",
    )
    groups = [
        (missing[:, 0] & ~missing[:, 1], "tab:blue", f"{name_i} imputed"),
        (~missing[:, 0] & missing[:, 1], "tab:orange", f"{name_j} imputed"),
        (missing[:, 0] & missing[:, 1], "tab:red", "both imputed"),
    ]
    for rows, color, label in groups:
        if rows.any():
            ax.scatter(
                filled[rows, i],
                filled[rows, j],
                s=30,
                marker="x",
                color=color,
                label=f"{label} ({int(rows.sum())})",
            )
    mean = getattr(imputer, "mean_", None)
    cov = getattr(imputer, "covariance_", None)
    if mean is not None and cov is not None:
        mean = np.asarray(mean, dtype=np.float64)[[i, j]]
        cov = np.asarray(cov, dtype=np.float64)[[i, j]][:, [i, j]]
        _ellipse(
            ax,
            mean,
            cov,
            _MODEL_COLOR,
            2.0,
            linewidth=1.5,
            ls="--",
            label="fitted normal, 2 sd",
        )
        ax.plot(*mean, marker="+", color=_MODEL_COLOR, markersize=12)
    ax.set_xlabel(name_i)
    ax.set_ylabel(name_j)
    ax.set_title(
        f"{type(imputer).__name__}: {int((~complete).sum())} rows filled in",
        fontsize="medium",
    )
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return ax


# ------------------------------------------------------------------ pairs
_PAIR_KINDS = ("classification", "uncertainty", "density")


def separating_pairs(estimator, X: ArrayLike) -> list[tuple[int, int]]:
    """Every pair of columns, the one that separates the components best first.

    For each pair ``(i, j)`` the rows' component probabilities ``p(k | x)``
    give within-component and between-component scatter matrices ``W`` and
    ``B`` of the two columns (Fisher's criterion); pairs are ranked by
    ``trace(W^-1 B)``, largest first. It needs only ``predict_proba``, so it
    ranks the pairs of any family. Rows with a missing value in a pair do
    not count for that pair.

    Parameters
    ----------
    estimator : fitted mixture
    X : array-like of shape (n_samples, n_features)

    Returns
    -------
    pairs : list of (int, int)
        The ``n_features * (n_features - 1) / 2`` pairs ``i < j`` (from 0).
    """
    check_is_fitted(estimator)
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    pairs = [(i, j) for i in range(X.shape[1]) for j in range(i + 1, X.shape[1])]
    return sorted(pairs, key=lambda pair: -_fisher_criterion(X[:, pair], resp))


def _fisher_criterion(Z: np.ndarray, resp: np.ndarray) -> float:
    """``trace(W^-1 B)`` of the columns ``Z`` under soft assignments ``resp``."""
    rows = ~np.isnan(Z).any(axis=1)
    Z, resp = Z[rows], resp[rows]
    nk = resp.sum(axis=0)
    if Z.shape[0] < 2 or np.count_nonzero(nk > 0) < 2:
        return 0.0
    keep = nk > 0
    resp, nk = resp[:, keep], nk[keep]
    means = (resp.T @ Z) / nk[:, np.newaxis]
    centred = Z[:, np.newaxis, :] - means[np.newaxis]  # (n, K, 2)
    within = np.einsum("nk,nki,nkj->ij", resp, centred, centred) / Z.shape[0]
    between_dev = means - Z.mean(axis=0)
    between = np.einsum("k,ki,kj->ij", nk, between_dev, between_dev) / Z.shape[0]
    # A tiny ridge: a constant column must not make the criterion infinite.
    ridge = 1e-9 * max(float(np.trace(within)), 1e-300) * np.eye(2)
    try:
        return float(np.trace(np.linalg.solve(within + ridge, between)))
    except np.linalg.LinAlgError:
        return 0.0


def _pair_density(estimator, i: int, j: int, grid_x, grid_y) -> np.ndarray:
    """The fitted mixture's marginal density of columns ``i, j`` on a grid.

    Rows observed in ``i`` and ``j`` only: a family that integrates missing
    values out of its likelihood gives, through ``score_samples``, exactly
    the marginal of the pair (for a Gaussian mixture, the mixture of the
    components' 2-d marginals). No family's attributes are read.
    """
    if not getattr(estimator, "_supports_missing", False):
        raise TypeError(
            f"plot_pairs(kind='density') needs a mixture that integrates missing "
            f"values out (its marginals); a {type(estimator).__name__} does not. "
            "Use kind='classification' or 'uncertainty'."
        )
    points = np.full((grid_x.size, estimator.n_features_in_), np.nan)
    points[:, i] = grid_x.ravel()
    points[:, j] = grid_y.ravel()
    return np.exp(estimator.score_samples(points)).reshape(grid_x.shape)


def plot_pairs(
    estimator,
    X: ArrayLike,
    *,
    kind: str = "classification",
    feature_names: Sequence[str] | None = None,
    features: Sequence[int] | None = None,
    figure=None,
):
    """A grid of every pair of features, as mclust draws a mixture.

    Below and above the diagonal, one panel per pair of features (row
    feature on the y axis), with the rows observed in both:

    * ``kind="classification"``: points coloured by predicted component;
    * ``kind="uncertainty"``: points sized and shaded by the uncertainty
      ``1 - max_k p(k | x)`` (large and dark: the row could belong to
      another component; the largest possible is ``1 - 1/K``);
    * ``kind="density"``: contours of the fitted mixture's marginal density
      of the pair, over the data in grey (mixtures that integrate missing
      values out; for counts the contours interpolate the probabilities of
      whole numbers).

    The diagonal shows each feature's name and histogram. Beyond 5000 rows
    the scatters show a fixed random subset of 5000.

    Parameters
    ----------
    estimator : fitted mixture
        Any fitted emmix mixture.
    X : array-like of shape (n_samples, n_features)
        The data to show (normally the training data).
    kind : {"classification", "uncertainty", "density"}, default="classification"
        What the off-diagonal panels show.
    feature_names : sequence of str, default=None
        Names of all the columns of ``X``; by default the names seen at fit
        or ``feature j`` (counted from 1).
    features : sequence of int, default=None
        The columns to show (from 0), in this order; by default all.
    figure : matplotlib Figure or SubFigure, default=None
        Where to draw; a new figure if None.

    Returns
    -------
    axes : ndarray of matplotlib Axes, shape (n_shown, n_shown)
    """
    if kind not in _PAIR_KINDS:
        raise ValueError(
            f"kind must be one of {', '.join(map(repr, _PAIR_KINDS))}; got {kind!r}"
        )
    _new_axes(object())  # only to raise the install hint without matplotlib
    check_is_fitted(estimator)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(
            f"plot_pairs needs X with at least 2 columns; got shape {X.shape}"
        )
    features = list(range(X.shape[1])) if features is None else list(features)
    for j in features:
        if not 0 <= int(j) < X.shape[1]:
            raise ValueError(
                f"features: column {j} is not a column of X (0 to {X.shape[1] - 1})"
            )
    m = len(features)
    if figure is None:
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=(2.3 * m + 0.6, 2.3 * m), layout="constrained")
    axes = figure.subplots(m, m, squeeze=False)
    n_components = int(estimator.n_components)
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    labels = np.argmax(proba, axis=1)
    uncertainty = np.sort(proba, axis=1)[:, :-1].sum(axis=1)
    colors = _colors(n_components)
    names = [_feature_name(estimator, int(j), feature_names) for j in features]
    # The scatters show at most MAX_SCATTER_POINTS rows (a fixed random
    # subset: the same data give the same figure); the histograms show all.
    drawn = np.arange(X.shape[0])
    if X.shape[0] > MAX_SCATTER_POINTS:
        rng = np.random.default_rng(0)
        drawn = np.sort(rng.choice(X.shape[0], MAX_SCATTER_POINTS, replace=False))
    for a, j in enumerate(features):  # row: feature on the y axis
        for b, i in enumerate(features):  # column: feature on the x axis
            ax = axes[a, b]
            if a == b:
                values = X[:, i][~np.isnan(X[:, i])]
                bins = np.histogram_bin_edges(values, bins="auto")
                ax.hist(
                    values,
                    bins=bins if bins.size <= 41 else 40,  # readable at this size
                    color=_DATA_COLOR,
                    edgecolor="white",
                )
                ax.set_yticks([])
                ax.set_title(
                    _feature_title(estimator, int(i), feature_names), fontsize="small"
                )
            else:
                _pair_panel(
                    ax,
                    estimator,
                    X[drawn],
                    i,
                    j,
                    kind,
                    labels[drawn],
                    uncertainty[drawn],
                    colors,
                )
            if a == m - 1:
                ax.set_xlabel(names[b], fontsize="small")
            else:
                ax.tick_params(labelbottom=False)
            if b == 0 and a != 0:
                ax.set_ylabel(names[a], fontsize="small")
            elif b != a:
                ax.tick_params(labelleft=False)
            ax.tick_params(labelsize="x-small")
    handles = [
        _legend_marker(colors[k], estimator._component_label(k))
        for k in range(n_components)
    ]
    if kind == "classification":
        figure.legend(handles=handles, loc="outside right upper", fontsize="small")
    what = {
        "classification": "points coloured by predicted component",
        "uncertainty": "larger, darker points: more uncertain (1 - max probability)",
        "density": "contours of the fitted marginal density of each pair",
    }[kind]
    if drawn.size < X.shape[0]:
        what += f" ({drawn.size} of {X.shape[0]} rows)"
    figure.suptitle(
        f"{type(estimator).__name__}, {n_components} components: {what}",
        fontsize="medium",
    )
    return axes


def _legend_marker(color, label):
    from matplotlib.lines import Line2D

    return Line2D([], [], marker="o", linestyle="none", color=color, label=label)


def _padded_range(values, n: int = 80) -> np.ndarray:
    """``n`` points over the values' range and a tenth more on each side, not
    below 0 for non-negative data (counts have no density there)."""
    pad = 0.1 * np.ptp(values) + 1e-9
    low = values.min() - pad
    if values.min() >= 0:
        low = max(low, 0.0)
    return np.linspace(low, values.max() + pad, n)


def _pair_panel(ax, estimator, X, i, j, kind, labels, uncertainty, colors):
    """One off-diagonal panel of :func:`plot_pairs`: column ``i`` against ``j``."""
    rows = ~np.isnan(X[:, [i, j]]).any(axis=1)
    if not rows.any():
        return  # no row is observed in both columns
    x, y = X[rows, i], X[rows, j]
    if kind == "classification":
        ax.scatter(
            x, y, c=[colors[k] for k in labels[rows]], s=8, alpha=0.7, linewidths=0
        )
    elif kind == "uncertainty":
        top = max(1.0 - 1.0 / max(int(estimator.n_components), 1), 1e-12)
        share = np.clip(uncertainty[rows] / top, 0.0, 1.0)
        order = np.argsort(share)  # the uncertain rows drawn last, on top
        ax.scatter(
            x[order],
            y[order],
            s=3 + 40 * share[order],
            c=share[order],
            cmap="Greys",
            vmin=-0.2,  # the most certain rows stay visible in light grey
            vmax=1.0,
            linewidths=0,
        )
    else:
        ax.scatter(x, y, s=5, color=_DATA_COLOR, linewidths=0)
        grid_x, grid_y = np.meshgrid(_padded_range(x), _padded_range(y))
        density = _pair_density(estimator, i, j, grid_x, grid_y)
        ax.contour(
            grid_x, grid_y, density, levels=8, colors=_MODEL_COLOR, linewidths=0.7
        )
