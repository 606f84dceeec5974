"""``emmix demo``: each estimator on its classic case, with figures.

The data and fits come from :mod:`emmix.cli.cases`, shared with the gallery;
this module only reports them.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from . import cases
from ._figures import Figures
from ._output import make_folder
from ._report import component_lines, fmt, jsonable, print_selection, selection_rows


def _silent(*args) -> None:
    return None


def _demo_gaussian(figures: Figures, say) -> dict:
    from sklearn.metrics import adjusted_rand_score

    say("1. Gaussian mixture on scikit-learn's iris data (150 flowers x 4 measures)")
    case = cases.gaussian_iris()
    X, selection = case.X, case.selection
    best = selection.best_estimator_
    if say is not _silent:
        print_selection(selection, sys.stdout)
    ari = adjusted_rand_score(case.species, best.predict(X))
    say(
        f"  BIC chooses K = {selection.best_n_components_}: "
        f"log-likelihood {best.score(X) * len(X):.2f}, {best.n_iter_} iterations; "
        f"agreement with the 3 species (adjusted Rand) {ari:.2f}"
    )
    for line in component_lines(best, None):
        say(line)
    if figures.available:
        from emmix import plotting

        figure, axes = figures.new(2, width=5.4)
        plotting.plot_criterion(selection, axes[0])
        plotting.plot_mixture(
            best, X, axes[1], features=(2, 3), feature_names=case.feature_names
        )
        figure.suptitle("Gaussian mixture on iris, K chosen by BIC")
        figures.save(figure, "gaussian_iris.png")
    return {
        "data": "sklearn.datasets.load_iris",
        "n_components": selection.best_n_components_,
        "selection": selection_rows(selection),
        "adjusted_rand_vs_species": ari,
        "weights": best.weights_,
        "means": best.means_,
        "covariances": best.covariances_,
        "log_likelihood": best.score(X) * len(X),
        "n_iter": best.n_iter_,
        "converged": best.converged_,
    }


def _demo_poisson(figures: Figures, say) -> dict:
    case = cases.poisson_counts()
    X, selection = case.X, case.selection
    say(
        f"2. Poisson mixture on {len(X)} generated counts (true rates "
        f"{list(case.true_rates)}, weights {list(case.true_weights)})"
    )
    best = selection.best_estimator_
    if say is not _silent:
        print_selection(selection, sys.stdout)
    order = np.argsort(best.rates_[:, 0])
    say(
        f"  BIC chooses K = {selection.best_n_components_}: rates "
        f"{fmt(best.rates_[order, 0], 2)}, weights {fmt(best.weights_[order], 2)}, "
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
        "true_rates": case.true_rates,
        "true_weights": case.true_weights,
        "n_components": selection.best_n_components_,
        "selection": selection_rows(selection),
        "rates": best.rates_[order],
        "weights": best.weights_[order],
        "log_likelihood": best.score(X) * len(X),
        "n_iter": best.n_iter_,
        "converged": best.converged_,
    }


def _demo_coins(figures: Figures, say) -> dict:
    case = cases.two_coins()
    heads, coins = case.heads, case.model
    n_trials = coins.n_trials
    say(
        f"3. The two-coin problem: {len(heads)} rounds of {n_trials} tosses, heads "
        + ", ".join(str(int(h)) for h in heads[:, 0])
    )
    proba = coins.predict_proba(heads)
    say(
        f"  P(heads): coin A {coins.probs_[0, 0]:.3f}, coin B {coins.probs_[1, 0]:.3f} "
        f"(the textbook answer after 10 iterations: 0.80 and 0.52); "
        f"{coins.n_iter_} iterations, log-likelihood "
        f"{coins.lower_bound_ * len(heads):.4f}"
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
        "n_trials": n_trials,
        "probs": coins.probs_[:, 0],
        "weights": coins.weights_,
        "posterior_coin_A": proba[:, 0],
        "log_likelihood": coins.lower_bound_ * len(heads),
        "n_iter": coins.n_iter_,
        "converged": coins.converged_,
    }


def _demo_missing(figures: Figures, say) -> dict:
    from emmix.impute._normal import naive_regression_fill

    case = cases.missing_bivariate()
    X, X_complete, imputer = case.X, case.X_complete, case.imputer
    n_missing = int(np.isnan(X).sum())
    say(
        f"4. Bivariate normal with missing values: {len(X)} pairs (x, y), "
        f"y missing in {n_missing}"
    )
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


def demo_command(args) -> int:
    """Run ``emmix demo``; return the exit status."""
    out_dir = make_folder(args.out)
    say = _silent if args.quiet else print
    figures = Figures(out_dir)
    started = time.perf_counter()
    say("emmix demo: each estimator on its classic case\n")
    results = {}
    demos = [
        ("gaussian_iris", _demo_gaussian),
        ("poisson_counts", _demo_poisson),
        ("two_coins", _demo_coins),
        ("missing_normal", _demo_missing),
    ]
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    # The demo's problems are tiny: BLAS and OpenMP threads only add start-up
    # and spin-wait costs (tenfold on a busy machine), so use one.
    with threadpool_limits(limits=1):
        for key, run in demos:
            results[key] = jsonable(run(figures, say))
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
