"""Figures: what each plotting function draws is checked against the model."""

import builtins

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.patches import Ellipse, Rectangle  # noqa: E402
from scipy.integrate import trapezoid  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture  # noqa: E402
from emmix.datasets import make_coin_rounds, make_poisson_mixture  # noqa: E402
from emmix.model_selection import select_n_components  # noqa: E402
from emmix.plotting import (  # noqa: E402
    plot_convergence,
    plot_criterion,
    plot_imputation,
    plot_mixture,
    plot_pairs,
    separating_pairs,
)


@pytest.fixture(autouse=True)
def _one_thread_and_close():
    with threadpool_limits(limits=1):  # tiny fits: threads only cost
        yield
    plt.close("all")


@pytest.fixture
def ax():
    return plt.figure().subplots()


def blobs(n=200, d=2):
    centers = np.zeros((3, d))
    centers[1, 0] = centers[2, 1] = 8.0
    X, _ = make_blobs(n_samples=n, centers=centers, random_state=0)
    return X


def bars(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_convergence_shows_the_lower_bounds(ax, tmp_path):
    X = blobs()
    gm = GaussianMixtureEM(3, random_state=0, init_params="random").fit(X)
    assert plot_convergence(gm, ax) is ax
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, gm.n_iter_ + 1))
    np.testing.assert_allclose(line.get_ydata(), gm.lower_bounds_)
    assert "converged" in ax.get_title()
    ax.figure.savefig(tmp_path / "convergence.png")


def test_criterion_marks_the_chosen_k(ax):
    X = blobs()
    selection = select_n_components(GaussianMixtureEM(random_state=0), X, [4, 1, 2, 3])
    assert plot_criterion(selection, ax) is ax
    curve, star = ax.get_lines()[:2]
    np.testing.assert_array_equal(curve.get_xdata(), [1, 2, 3, 4])  # sorted by K
    np.testing.assert_allclose(curve.get_ydata(), selection.scores_[[1, 2, 3, 0]])
    assert star.get_xdata()[0] == selection.best_n_components_ == 3
    assert "lower is better" in ax.get_ylabel()


def test_criterion_cv_has_error_bars_and_says_higher_is_better(ax):
    X = blobs(n=120)
    selection = select_n_components(
        GaussianMixtureEM(random_state=0), X, [1, 2, 3], criterion="cv", cv=3
    )
    plot_criterion(selection, ax)
    assert "higher is better" in ax.get_ylabel()
    assert ax.containers  # the error bars


def test_gaussian_2d_scatter_with_two_ellipses_per_component(ax):
    X = blobs()
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    plot_mixture(gm, X, ax)
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 6
    centres = sorted(tuple(np.round(e.center, 6)) for e in ellipses[::2])
    assert centres == sorted(tuple(np.round(m, 6)) for m in gm.means_)
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(points.get_offsets(), X)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_ellipse_axes_match_the_covariance(covariance_type, ax):
    X = blobs(n=150, d=3)
    gm = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0).fit(X)
    plot_mixture(gm, X, ax, features=(0, 2), feature_names=["a", "b", "c"])
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a", "c")
    one_sd = [p for p in ax.patches if isinstance(p, Ellipse)][::2]
    for k, ellipse in enumerate(one_sd):
        if covariance_type == "full":
            cov = gm.covariances_[k]
        elif covariance_type == "tied":
            cov = gm.covariances_
        elif covariance_type == "diag":
            cov = np.diag(gm.covariances_[k])
        else:
            cov = np.eye(3) * gm.covariances_[k]
        cov = cov[np.ix_([0, 2], [0, 2])]
        # Full axes of the 1-sd ellipse are twice the root eigenvalues.
        expected = 2 * np.sqrt(np.sort(np.linalg.eigvalsh(cov)))
        np.testing.assert_allclose(
            sorted([ellipse.width, ellipse.height]), expected, rtol=1e-10
        )


def test_gaussian_1d_density_integrates_to_one(ax):
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(0, 1, 300), rng.normal(6, 1.5, 200)])[:, None]
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    plot_mixture(gm, X, ax)
    mixture = next(line for line in ax.get_lines() if line.get_label() == "mixture")
    x, y = mixture.get_xdata(), mixture.get_ydata()
    assert trapezoid(y, x) == pytest.approx(1.0, abs=2e-3)
    np.testing.assert_allclose(y, np.exp(gm.score_samples(x[:, None])), rtol=1e-9)


def test_poisson_counts_bars_are_observed_frequencies(ax):
    X, _ = make_poisson_mixture(400, rates=[2, 12], random_state=0)
    pm = PoissonMixture(2, random_state=0).fit(X)
    plot_mixture(pm, X, ax)
    heights = [b.get_height() for b in bars(ax)]
    np.testing.assert_array_equal(heights, np.bincount(X[:, 0].astype(int)))
    fitted = [line for line in ax.get_lines() if line.get_label() == "fitted mixture"]
    expected = np.exp(pm.score_samples(np.arange(len(heights))[:, None])) * len(X)
    np.testing.assert_allclose(fitted[0].get_ydata(), expected, rtol=1e-9)
    assert ax.get_xlabel() == "count"


def test_coin_fitted_frequencies_sum_to_the_number_of_rounds(ax):
    X, _ = make_coin_rounds(200, n_trials=12, probs=[0.2, 0.7], random_state=0)
    coins = CoinMixture(2, n_trials=12, random_state=0).fit(X)
    plot_mixture(coins, X, ax)
    assert len(bars(ax)) == 13  # 0..12 heads
    fitted = [line for line in ax.get_lines() if line.get_label() == "fitted mixture"]
    assert fitted[0].get_ydata().sum() == pytest.approx(200)
    expected = np.exp(coins.score_samples(np.arange(13)[:, None])) * 200
    np.testing.assert_allclose(fitted[0].get_ydata(), expected, rtol=1e-9)


def test_coins_with_tosses_in_x(ax):
    rng = np.random.RandomState(0)
    tosses = rng.randint(5, 15, size=100)
    heads = rng.binomial(tosses, np.where(rng.rand(100) < 0.5, 0.2, 0.8))
    X = np.column_stack([heads, tosses]).astype(float)
    coins = CoinMixture(2, n_trials="from_X", random_state=0).fit(X)
    plot_mixture(coins, X, ax)
    assert len(bars(ax)) == tosses.max() + 1
    fitted = [line for line in ax.get_lines() if line.get_label() == "fitted mixture"]
    assert fitted[0].get_ydata().sum() == pytest.approx(100)


def test_imputation_marks_filled_rows(ax):
    from emmix.impute import MultivariateNormalImputer

    rng = np.random.RandomState(0)
    X = rng.multivariate_normal([0, 1], [[1, 0.8], [0.8, 1]], size=60)
    X[:15, 1] = np.nan
    X[15:20, 0] = np.nan
    imputer = MultivariateNormalImputer().fit(X)
    assert plot_imputation(imputer, X, ax) is ax
    filled = imputer.transform(X)
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    complete, second, first = collections
    np.testing.assert_allclose(complete.get_offsets(), X[20:])
    np.testing.assert_allclose(first.get_offsets(), filled[:15])
    np.testing.assert_allclose(second.get_offsets(), filled[15:20])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == [
        "complete rows (40)",
        "feature 1 imputed (5)",
        "feature 2 imputed (15)",
    ]
    (ellipse,) = [p for p in ax.patches if isinstance(p, Ellipse)]
    np.testing.assert_allclose(ellipse.center, imputer.mean_)


def test_new_figure_when_no_axes_given():
    X = blobs(n=60)
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    ax = plot_convergence(gm)
    assert ax.figure is not None
    assert plot_mixture(gm, X) is not ax


def test_unknown_estimator_is_rejected(ax):
    X = blobs(n=60)
    with pytest.raises(TypeError, match="does not know how to draw a KMeans"):
        plot_mixture(KMeans(2, n_init=1, random_state=0).fit(X), X, ax)


def test_clear_message_without_matplotlib(monkeypatch):
    gm = GaussianMixtureEM(2, random_state=0).fit(blobs(n=60))
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install 'emmix\[plot\]'"):
        plot_convergence(gm)


def test_non_integer_counts_are_binned_not_dropped(ax):
    X = np.array([[0.0], [1.0], [1.4], [2.0], [2.6], [3.0], [7.0], [8.2], [9.0]])
    pm = PoissonMixture(2, random_state=0).fit(X)
    plot_mixture(pm, X, ax)
    heights = [b.get_height() for b in bars(ax)]
    assert sum(heights) == len(X)  # every row is in a bar
    np.testing.assert_array_equal(heights, np.bincount(np.rint(X[:, 0]).astype(int)))
    assert "3 non-integer values rounded" in ax.get_title()


def test_coin_names_agree_in_report_and_figure(ax):
    X, _ = make_coin_rounds(100, n_trials=10, probs=[0.2, 0.8], random_state=0)
    coins = CoinMixture(2, n_trials=10, random_state=0).fit(X)
    plot_mixture(coins, X, ax)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"coin A", "coin B"} <= set(legend)
    assert not any(text.startswith("component") for text in legend)
    from emmix.cli._report import component_lines

    assert component_lines(coins, None)[0].strip().startswith("coin ")


def test_titles_count_features_from_one(ax):
    X = blobs(d=4)
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    plot_mixture(gm, X, ax, features=(0, 2))
    assert "feature 1 and feature 3 of 4" in ax.get_title()
    assert ax.get_xlabel() == "feature 1"
    ax.clear()
    names = ["a", "b", "c", "d"]
    plot_mixture(gm, X, ax, features=(1, 3), feature_names=names)
    assert "b (column 2) and d (column 4) of 4" in ax.get_title()


def test_separating_pairs_ranks_the_informative_pair_first():
    # Three clusters that differ only in columns 1 and 3 (from 0); columns 0
    # and 2 are the same noise in every cluster.
    rng = np.random.RandomState(0)
    labels = np.repeat([0, 1, 2], 100)
    X = rng.normal(size=(300, 4)) * [3.0, 1.0, 3.0, 1.0]
    X[:, 1] += np.array([0, 6, 0])[labels]
    X[:, 3] += np.array([0, 0, 6])[labels]
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    pairs = separating_pairs(gm, X)
    assert pairs[0] == (1, 3)
    assert pairs[-1] == (0, 2)  # the pure-noise pair last
    assert sorted(pairs) == [(i, j) for i in range(4) for j in range(i + 1, 4)]


@pytest.mark.parametrize("kind", ["classification", "uncertainty", "density"])
def test_pairs_grid(kind):
    X = blobs(d=3)
    gm = GaussianMixtureEM(3, random_state=0).fit(X)
    axes = plot_pairs(gm, X, kind=kind, feature_names=["a", "b", "c"])
    assert axes.shape == (3, 3)
    assert axes[0, 0].get_title() == "a (column 1)"
    assert axes[2, 1].get_xlabel() == "b" and axes[1, 0].get_ylabel() == "b"
    scatter = axes[1, 0].collections[0]
    offsets = np.asarray(scatter.get_offsets())
    if kind == "uncertainty":  # drawn from the most certain row up
        np.testing.assert_allclose(np.sort(offsets, axis=0), np.sort(X[:, :2], axis=0))
    else:
        np.testing.assert_allclose(offsets, X[:, [0, 1]])
    if kind == "classification":
        colors = scatter.get_facecolors()
        labels = gm.predict(X)
        # Rows of one predicted component share one colour, and only they.
        for k in range(3):
            assert len(np.unique(colors[labels == k], axis=0)) == 1
    if kind == "uncertainty":
        sizes = scatter.get_sizes()
        proba = gm.predict_proba(X)
        share = (1 - proba.max(axis=1)) / (1 - 1 / 3)
        np.testing.assert_allclose(np.sort(sizes), np.sort(3 + 40 * share))
    if kind == "density":
        assert axes[1, 0].collections[1:]  # the contour set


def test_pairs_density_is_the_marginal_mixture():
    from scipy.stats import multivariate_normal

    from emmix.plotting import _pair_density

    X = blobs(d=3)
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    gx, gy = np.meshgrid(np.linspace(-3, 9, 5), np.linspace(-3, 9, 4))
    got = _pair_density(gm, 0, 2, gx, gy)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    expected = sum(
        w * multivariate_normal(m[[0, 2]], c[np.ix_([0, 2], [0, 2])]).pdf(points)
        for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_, strict=True)
    )
    np.testing.assert_allclose(got.ravel(), expected, rtol=1e-10)


def test_pairs_rejects_bad_kind_and_families_without_marginals():
    X, _ = make_poisson_mixture(100, rates=[2, 9], random_state=0)
    X = np.column_stack([X, X[::-1]])
    pm = PoissonMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_pairs(pm, X, kind="contours")
    assert plot_pairs(pm, X).shape == (2, 2)
    assert plot_pairs(pm, X, kind="density").shape == (2, 2)

    class NoMarginals(PoissonMixture):
        _supports_missing = False

    with pytest.raises(TypeError, match="integrates missing"):
        plot_pairs(NoMarginals(2, random_state=0).fit(X), X, kind="density")
