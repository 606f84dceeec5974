"""select_model: every structure x K, ranked like mclust's mclustBIC."""

import builtins
import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from threadpoolctl import threadpool_limits

from emmix import GaussianMixtureEM, PoissonMixture
from emmix.mixture._covariance_structures import STRUCTURES, is_submodel
from emmix.model_selection import ModelSelection, select_model

IRIS = load_iris().data


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(limits=1):  # tiny fits: threads only cost
        yield


def _rows(result):
    """The table as a list of dicts (pandas or not)."""
    table = result.table_
    columns = (
        table if isinstance(table, dict) else {c: table[c].to_numpy() for c in table}
    )
    n = len(next(iter(columns.values())))
    return [{key: columns[key][i] for key in columns} for i in range(n)]


def test_iris_matches_mclust_published_top_models():
    # mclust's summary(mclustBIC(iris[, -5])) and summary(Mclust(...)):
    #   Best BIC values: VEV,2 -561.7285, VEV,3 -562.5514, VVV,2 -574.0178;
    #   VEV,2: log.likelihood -215.726, df 26, BIC -561.7285, ICL -561.7289
    # (mclust's sign convention: 2 log L - p log n, higher is better).
    estimator = GaussianMixtureEM(random_state=0, tol=1e-6, max_iter=1000)
    grid = {
        "covariance_type": ["EII", "VVI", "EEE", "VEV", "VVV"],
        "n_components": [1, 2, 3],
    }
    result = select_model(estimator, IRIS, grid)
    assert isinstance(result, ModelSelection)
    assert result.best_params_ == {"covariance_type": "VEV", "n_components": 2}
    top = result.top(3)
    assert [result.params_[i] for i in top] == [
        {"covariance_type": "VEV", "n_components": 2},
        {"covariance_type": "VEV", "n_components": 3},
        {"covariance_type": "VVV", "n_components": 2},
    ]
    assert -result.scores_[top] == pytest.approx(
        [-561.7285, -562.5514, -574.0178], abs=2e-3
    )
    best = _rows(result)[result.best_index_]
    assert best["log_likelihood"] == pytest.approx(-215.726, abs=1e-3)
    assert best["n_parameters"] == 26
    assert -best["icl"] == pytest.approx(-561.7289, abs=2e-3)
    assert result.best_estimator_.covariance_type == "VEV"
    text = result.summary(3)
    assert "VEV,2" in text and "VEV,3" in text and "VVV,2" in text
    assert "-561.72" in text  # mclust's value, sign flipped


def test_criteria_are_computed_from_the_fitted_models():
    grid = {"covariance_type": ["VII", "EVE"], "n_components": [2, 3]}
    result = select_model(
        GaussianMixtureEM(random_state=0), IRIS, grid, criterion="icl"
    )
    n = IRIS.shape[0]
    for row, model in zip(_rows(result), result.estimators_, strict=True):
        log_likelihood = float(np.sum(model.score_samples(IRIS)))
        p = model._n_parameters()
        assert row["log_likelihood"] == pytest.approx(log_likelihood, rel=1e-12)
        assert row["bic"] == pytest.approx(model.bic(IRIS), rel=1e-12)
        assert row["aic"] == pytest.approx(model.aic(IRIS), rel=1e-12)
        assert row["bic"] == pytest.approx(-2 * log_likelihood + p * math.log(n))
        # ICL: BIC plus twice the entropy of the MAP classification
        z = model.predict_proba(IRIS)
        entropy = -np.sum(np.log(z[np.arange(n), z.argmax(axis=1)]))
        assert row["icl"] == pytest.approx(row["bic"] + 2 * entropy, rel=1e-12)
        assert row["icl"] >= row["bic"]
    np.testing.assert_array_equal(result.scores_, [r["icl"] for r in _rows(result)])
    assert result.best_index_ == int(np.argmin(result.scores_))


def test_nested_structures_never_lose_log_likelihood():
    # With a loose tol and K = 4..6 on iris, fresh fits from one start land
    # on local maxima where a structure loses to one it contains; select_model
    # restarts each from its best submodel's solution.
    estimator = GaussianMixtureEM(random_state=0, tol=1e-3)
    grid = {"covariance_type": list(STRUCTURES), "n_components": [4, 5, 6]}
    fresh = {}
    for name in STRUCTURES:
        for k in (4, 5, 6):
            model = GaussianMixtureEM(k, covariance_type=name, random_state=0, tol=1e-3)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fresh[name, k] = float(np.sum(model.fit(IRIS).score_samples(IRIS)))
    broken = [
        (a, b, k)
        for k in (4, 5, 6)
        for a in STRUCTURES
        for b in STRUCTURES
        if a != b and is_submodel(a, b) and fresh[b, k] < fresh[a, k] - 1e-6
    ]
    assert broken, "fresh fits keep the order here: the test would not test"
    result = select_model(estimator, IRIS, grid)
    rows = {(r["covariance_type"], r["n_components"]): r for r in _rows(result)}
    for k in (4, 5, 6):
        for a in STRUCTURES:
            for b in STRUCTURES:
                if a != b and is_submodel(a, b):
                    special, general = rows[a, k], rows[b, k]
                    assert general["log_likelihood"] >= special[
                        "log_likelihood"
                    ] - 1e-9 * abs(special["log_likelihood"]), (a, b, k)
    # the kept fits are at least as good as the fresh ones
    for (name, k), row in rows.items():
        assert row["log_likelihood"] >= fresh[name, k] - 1e-9 * abs(fresh[name, k])
    assert any(row["start"] != "init" for row in rows.values())


def test_structures_share_starts():
    # random_state=None: one seed is drawn for all fits, so scikit-learn's
    # 'full' and mclust's 'VVV' (the same model) give the same fit.
    grid = {"covariance_type": ["full", "VVV", "diag", "VVI"], "n_components": [2, 3]}
    result = select_model(GaussianMixtureEM(tol=1e-8, max_iter=500), IRIS, grid)
    rows = {(r["covariance_type"], r["n_components"]): r for r in _rows(result)}
    for k in (2, 3):
        for a, b in (("full", "VVV"), ("diag", "VVI")):
            assert rows[a, k]["log_likelihood"] == pytest.approx(
                rows[b, k]["log_likelihood"], rel=1e-9
            )


def test_parallel_equals_sequential():
    grid = {"covariance_type": ["EII", "VEV"], "n_components": [1, 2]}
    estimator = GaussianMixtureEM(random_state=0)
    one = select_model(estimator, IRIS, grid)
    two = select_model(estimator, IRIS, grid, n_jobs=2)
    np.testing.assert_allclose(two.scores_, one.scores_, rtol=1e-12)
    assert two.best_params_ == one.best_params_


def test_integer_weights_are_repeated_rows():
    rng = np.random.RandomState(0)
    X = IRIS[::3]
    weights = rng.randint(1, 3, len(X))
    grid = {"covariance_type": ["VII", "EEE"], "n_components": [1, 2]}
    estimator = GaussianMixtureEM(random_state=0, tol=1e-10, max_iter=500)
    weighted = select_model(estimator, X, grid, sample_weight=weights.astype(float))
    repeated = select_model(estimator, np.repeat(X, weights, axis=0), grid)
    for a, b in zip(_rows(weighted), _rows(repeated), strict=True):
        for key in ("bic", "aic", "log_likelihood"):
            assert a[key] == pytest.approx(b[key], rel=1e-6), key


def test_other_families_are_fitted_once_each():
    rng = np.random.RandomState(0)
    X = np.concatenate([rng.poisson(2, (100, 2)), rng.poisson(9, (100, 2))]).astype(
        float
    )
    result = select_model(
        PoissonMixture(random_state=0), X, {"n_components": [1, 2, 3]}
    )
    assert result.best_params_ == {"n_components": 2}
    assert all(row["start"] == "init" for row in _rows(result))
    assert result._label(0) == "1"


def test_failed_fits_with_error_score_nan():
    X = np.repeat([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], 10, axis=0)
    estimator = GaussianMixtureEM(random_state=0, reg_covar=0.0)
    grid = {"covariance_type": ["VVV"], "n_components": [1, 3]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k-means warns about duplicate points
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            select_model(estimator, X, grid)
        with pytest.warns(UserWarning, match="failed and is scored nan"):
            result = select_model(estimator, X, grid, error_score=np.nan)
    assert result.best_params_ == {"covariance_type": "VVV", "n_components": 1}
    assert np.isnan(result.scores_[1])
    assert result.estimators_[1] is None
    assert result.top(5) == [0]


def test_table_without_pandas(monkeypatch):
    real_import = builtins.__import__

    def fake_import(module, *args, **kwargs):
        if module == "pandas" or module.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(module, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    grid = {"covariance_type": ["EII"], "n_components": [1, 2]}
    result = select_model(
        GaussianMixtureEM(random_state=0), IRIS, grid, criterion="aic"
    )
    table = result.table_
    assert isinstance(table, dict)
    assert list(table) == [
        "covariance_type",
        "n_components",
        "aic",
        "bic",
        "icl",
        "log_likelihood",
        "n_parameters",
        "n_iter",
        "converged",
        "fit_time",
        "start",
    ]
    np.testing.assert_array_equal(table["aic"], result.scores_)


def test_non_converged_fits_warn_once():
    grid = {"covariance_type": ["VEV"], "n_components": [2, 3]}
    with pytest.warns(Warning, match="2 of 2 fits did not converge") as caught:
        result = select_model(GaussianMixtureEM(random_state=0, max_iter=2), IRIS, grid)
    assert len([w for w in caught if "converge" in str(w.message)]) == 1
    assert not any(row["converged"] for row in _rows(result))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"criterion": "cv"}, ValueError, "criterion must be one of"),
        ({"error_score": "skip"}, ValueError, "error_score must be"),
        ({"sample_weight": np.ones(3)}, ValueError, "sample_weight must have shape"),
        ({"param_grid": {"covariance_type": ["BAD"]}}, ValueError, "covariance_type"),
        ({"param_grid": {"covariance_type": "VEV"}}, TypeError, "list"),
        ({"param_grid": []}, ValueError, "no combination"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    arguments = {"param_grid": {"n_components": [1]}, **kwargs}
    grid = arguments.pop("param_grid")
    with pytest.raises(error, match=match):
        select_model(GaussianMixtureEM(), IRIS, grid, **arguments)


def test_not_a_mixture_is_rejected():
    from sklearn.cluster import KMeans

    with pytest.raises(TypeError, match="needs an emmix mixture"):
        select_model(KMeans(), IRIS, {"n_clusters": [2]})


def test_summary_arguments():
    result = select_model(
        GaussianMixtureEM(random_state=0), IRIS, {"n_components": [1, 2]}
    )
    with pytest.raises(ValueError, match="n must be a positive int"):
        result.summary(0)
    assert "Top 2 models by BIC" in result.summary(5)
    assert "ModelSelection(criterion='bic'" in repr(result)


def test_plot_model_selection_draws_one_line_per_structure(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emmix.plotting import plot_model_selection

    grid = {"covariance_type": ["EII", "VEV", "VVV"], "n_components": [3, 1, 2]}
    result = select_model(GaussianMixtureEM(random_state=0), IRIS, grid)
    ax = plt.figure().subplots()
    assert plot_model_selection(result, ax) is ax
    lines = ax.get_lines()
    assert [line.get_label() for line in lines[:3]] == ["EII", "VEV", "VVV"]
    for line, name in zip(lines[:3], ["EII", "VEV", "VVV"], strict=True):
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])  # sorted by K
        rows = [i for i, p in enumerate(result.params_) if p["covariance_type"] == name]
        by_k = sorted(rows, key=lambda i: result.params_[i]["n_components"])
        np.testing.assert_allclose(line.get_ydata(), result.scores_[by_k])
    star = lines[3]
    assert star.get_xdata()[0] == result.best_params_["n_components"]
    assert star.get_ydata()[0] == pytest.approx(result.best_score_)
    assert "lower is better" in ax.get_ylabel()
    ax.figure.savefig(tmp_path / "bic.png")
    no_k = select_model(
        GaussianMixtureEM(random_state=0), IRIS, {"covariance_type": ["EII"]}
    )
    with pytest.raises(ValueError, match="n_components"):
        plot_model_selection(no_k)
    plt.close("all")


# ------------------------------------------------------------ command line
def test_cli_fit_compares_structures(tmp_path, capsys, monkeypatch):
    import json

    from emmix.cli import main

    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = tmp_path / "iris.csv"
    np.savetxt(path, IRIS, delimiter=",")
    out = tmp_path / "out"
    args = [
        "fit",
        str(path),
        "--covariance-type",
        "EII,vev,full",
        "--max-components",
        "3",
    ]
    assert main([*args, "--random-state", "0", "--tol", "1e-6", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Top 5 models by BIC" in text
    assert "VEV,2" in text and "-561.72" in text
    summary = json.loads((out / "params.json").read_text())
    assert summary["params"]["covariance_type"] == "VEV"
    assert summary["n_components"] == 2
    assert len(summary["selection"]) == 9  # 3 structures x K = 1..3
    assert {row["covariance_type"] for row in summary["selection"]} == {
        "EII",
        "VEV",
        "full",
    }


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--covariance-type", "XYZ"], "not a covariance type"),
        (["--covariance-type", "all", "--n-components", "2"], "drop --n-components"),
        (["--covariance-type", "all", "--select", "cv"], "cv compares K"),
        (
            ["--model", "poisson", "--covariance-type", "all"],
            "only to --model gaussian",
        ),
    ],
)
def test_cli_structure_errors(tmp_path, capsys, extra, message):
    from emmix.cli import main

    path = tmp_path / "d.csv"
    np.savetxt(path, IRIS[:30], delimiter=",")
    try:
        status = main(["fit", str(path), *extra, "--out", str(tmp_path / "o")])
    except SystemExit as exc:  # argparse refuses a bad value itself
        status = exc.code
    assert status == 2
    assert message in capsys.readouterr().err
