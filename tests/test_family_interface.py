"""The public family interface (emmix.base) as a user meets it.

A family written with public imports only (an exponential mixture, as in the
gallery) gets the engine's parameters, BIC, Dask and the conformance check;
missing hooks, undeclared missing values and non-additive statistics are
caught with messages that name them.
"""

import ast
import pickle
from pathlib import Path

import numpy as np
import pytest
from _families import ExponentialMixture
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

import emmix
from emmix.base import BaseMixture
from emmix.utils.estimator_checks import check_em_family


class MeanStatsExponential(ExponentialMixture):
    """Broken on purpose: statistics averaged over the chunk, not summed."""

    def _component_stats(self, X, resp, params, cache=None):
        return {"sum_x": resp.T @ X / X.shape[0]}

    def _component_mstep(self, stats, params):
        nk = stats["nk"][:, np.newaxis] / stats["nk"].sum()
        return {"rates": np.maximum(nk / stats["sum_x"], self.rate_floor)}


@pytest.fixture(scope="module")
def waiting_times():
    rng = np.random.RandomState(0)
    return np.concatenate([rng.exponential(1.0, 300), rng.exponential(10.0, 150)])[
        :, np.newaxis
    ]


def test_user_family_passes_both_checks(waiting_times):
    check_estimator(ExponentialMixture())
    check_em_family(ExponentialMixture(n_components=2), waiting_times)


def test_conformance_check_catches_statistics_that_are_not_sums(waiting_times):
    with pytest.raises(AssertionError, match="statistics are sums over rows"):
        check_em_family(MeanStatsExponential(n_components=2), waiting_times)


def test_conformance_check_needs_a_mixture():
    from emmix.impute import MultivariateNormalImputer

    with pytest.raises(TypeError, match="BaseMixture"):
        check_em_family(MultivariateNormalImputer(), np.ones((4, 2)))


def test_user_family_reaches_the_direct_optimum(waiting_times):
    X = waiting_times
    model = ExponentialMixture(2, tol=1e-12, max_iter=10_000, random_state=0).fit(X)

    def negative_log_likelihood(theta):
        weight, rates = expit(theta[0]), np.exp(theta[1:])
        log_p = np.log(rates) - X * rates + np.log([weight, 1 - weight])
        return -logsumexp(log_p, axis=1).sum()

    best = min(
        (
            minimize(
                negative_log_likelihood,
                start,
                method="Nelder-Mead",
                options={"xatol": 1e-12, "fatol": 1e-12, "maxiter": 20_000},
            )
            for start in ([0.0, 0.0, -2.0], [1.0, 0.5, -3.0])
        ),
        key=lambda r: r.fun,
    )
    np.testing.assert_allclose(model.score(X) * len(X), -best.fun, rtol=1e-9)
    order = np.argsort(model.rates_[:, 0])
    direct = np.sort(np.exp(best.x[1:]))
    np.testing.assert_allclose(model.rates_[order, 0], direct, rtol=1e-4)


def test_engine_parameters_are_declared_once():
    est = ExponentialMixture(3, tol=1e-5, accelerate="squarem", rate_floor=1e-3)
    params = est.get_params()
    for name in (
        "tol",
        "max_iter",
        "n_init",
        "random_state",
        "warm_start",
        "verbose",
        "verbose_interval",
        "fixed_params",
        "accelerate",
        "learning_decay",
        "learning_offset",
        "init_params",
        "weights_init",
        "assignment",
    ):
        assert name in params
    assert params["tol"] == 1e-5 and params["rate_floor"] == 1e-3
    assert clone(est).get_params() == params
    assert "tol=1e-05" in repr(est)
    with pytest.raises(TypeError, match="unexpected keyword argument 'tolerance'"):
        ExponentialMixture(tolerance=1.0)
    # The shipped families use the same declaration.
    gm = emmix.GaussianMixtureEM()
    assert set(params) - {"rate_floor"} <= set(gm.get_params())


def test_invalid_engine_parameter_named(waiting_times):
    with pytest.raises(ValueError, match="'max_iter' parameter"):
        ExponentialMixture(max_iter=-1).fit(waiting_times)


def test_missing_hook_is_named():
    class NoStats(BaseMixture):
        _parameter_groups = ("rates",)

        def _component_log_prob(self, X, params, cache=None):
            return np.zeros((X.shape[0], self.n_components))

        def _component_mstep(self, stats, params):
            return {}

    with pytest.raises(TypeError, match="_component_stats"):
        NoStats()


def test_missing_values_are_opt_in(waiting_times):
    X = np.vstack([waiting_times, [[np.nan]]])
    with pytest.raises(ValueError, match="NaN"):
        ExponentialMixture(2).fit(X)
    model = ExponentialMixture(2, random_state=0).fit(waiting_times)
    with pytest.raises(NotImplementedError, match="does not support missing"):
        model.impute(X)
    assert not model.__sklearn_tags__().input_tags.allow_nan


def test_negative_values_refused_before_any_work(waiting_times):
    X = waiting_times.copy()
    X[3, 0] = -1.0
    with pytest.raises(ValueError, match=r"Negative values.*row 3"):
        ExponentialMixture(2).fit(X)


def test_bic_counts_come_from_the_groups(waiting_times):
    X = np.hstack([waiting_times, waiting_times[::-1]])
    model = ExponentialMixture(3, random_state=0).fit(X)
    assert model._n_parameters() == (3 - 1) + 3 * 2
    start = model.rates_.copy()
    held = ExponentialMixture(3, random_state=0, fixed_params={"rates"})
    held._initial_params = lambda X: {"rates": start}
    held.fit(X)
    assert held._n_parameters() == 3 - 1
    np.testing.assert_array_equal(held.rates_, start)
    n = X.shape[0]
    expected = -2 * held.score(X) * n + 2 * np.log(n)
    assert held.bic(X) == pytest.approx(expected)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_user_family_on_dask_equals_in_memory(waiting_times):
    da = pytest.importorskip("dask.array")
    rates = np.array([[1.0], [0.1]])
    start = {"weights_init": [0.5, 0.5]}
    on_dask = ExponentialMixture(2, tol=0.0, max_iter=15, **start)
    on_dask._initial_params = lambda X: {"rates": rates}
    on_dask.fit(da.from_array(waiting_times, chunks=100))
    in_memory = ExponentialMixture(2, tol=0.0, max_iter=15, **start)
    in_memory._initial_params = lambda X: {"rates": rates}
    in_memory.fit(waiting_times)
    np.testing.assert_allclose(on_dask.rates_, in_memory.rates_, rtol=1e-10)
    np.testing.assert_allclose(on_dask.weights_, in_memory.weights_, rtol=1e-10)


def test_user_family_samples_and_pickles(waiting_times):
    model = ExponentialMixture(2, random_state=0).fit(waiting_times)
    X, y = model.sample(50)
    assert X.shape == (50, 1) and np.all(X >= 0) and set(y) <= {0, 1}
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        copy.predict(waiting_times), model.predict(waiting_times)
    )


def test_plot_mixture_asks_the_family(waiting_times):
    pytest.importorskip("matplotlib")
    from emmix.plotting import plot_mixture

    model = ExponentialMixture(2, random_state=0).fit(waiting_times)
    with pytest.raises(TypeError, match="_plot_components"):
        plot_mixture(model, waiting_times)


def test_cli_and_plots_do_not_switch_on_fitted_attributes():
    root = Path(emmix.__file__).parent
    for path in [root / "plotting.py", *sorted((root / "cli").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "hasattr":
                attribute = node.args[1]
                assert not (
                    isinstance(attribute, ast.Constant)
                    and str(attribute.value).endswith("_")
                ), f"{path.name}:{node.lineno} switches on a fitted attribute"


def _imports(root: Path) -> dict[str, set[str]]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = ["emmix", *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            continue  # package faces only re-export
        modules[".".join(parts)] = path
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = name.split(".")[: len(name.split(".")) - node.level]
                target = ".".join([*base, node.module] if node.module else base)
                if not node.level:
                    target = node.module or ""
                candidates = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            deps |= {c for c in candidates if c in modules and c != name}
        graph[name] = deps
    return graph


def test_no_import_circle():
    graph = _imports(Path(emmix.__file__).parent)
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])
