"""The ``emmix`` command: demo, fit, impute, progress line and bad input."""

import builtins
import csv
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from threadpoolctl import threadpool_limits

from emmix import GaussianMixtureEM, PoissonMixture
from emmix.cli import _progress, main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(limits=1):  # tiny fits: threads only cost
        yield


@pytest.fixture(autouse=True)
def _agg_backend(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


def hide_matplotlib(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def write_blobs(path, header=True, n=240):
    X, _ = make_blobs(n_samples=n, centers=[[0, 0], [10, 0], [0, 10]], random_state=0)
    np.savetxt(path, X, delimiter=",", header="a,b" if header else "", comments="")
    return X


def one_error_line(capsys, path_text):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"emmix: error: {path_text}")
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


# ------------------------------------------------------------------ help
def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "fit", "predict", "score", "impute"):
        assert command in out


@pytest.mark.parametrize(
    "command, words",
    [
        ("demo", ["--out"]),
        (
            "fit",
            [
                "--model",
                "--n-components",
                "--select",
                "--max-components",
                "--covariance-type",
                "--n-trials",
                "--out",
                "--quiet",
                "--index-col",
                "--columns",
                "--drop",
                "--delimiter",
                "--save",
                "--features",
                "--allow-non-integer",
            ],
        ),
        (
            "impute",
            [
                "-o",
                "--output",
                "--n-components",
                "--select",
                "--float-format",
                "--indicator",
                "--drop",
            ],
        ),
        ("predict", ["--model", "-o", "--index-col", "--columns", "--drop"]),
        ("score", ["--model", "-o", "--index-col", "--columns", "--drop"]),
    ],
)
def test_each_command_has_complete_help(command, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in words:
        assert word in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: emmix" in capsys.readouterr().out


# ------------------------------------------------------------------ demo
def test_demo_reports_writes_figures_and_results(tmp_path, capsys):
    out_dir = tmp_path / "demo"
    assert main(["demo", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "BIC chooses K = 2" in out  # iris, full covariances
    assert "BIC chooses K = 3" in out  # the generated Poisson counts
    assert "coin A 0.797, coin B 0.520" in out  # heads 5, 9, 8, 4, 7
    assert "Figures skipped" not in out
    results = json.loads((out_dir / "results.json").read_text())
    assert set(results) == {
        "gaussian_iris",
        "poisson_counts",
        "two_coins",
        "missing_normal",
    }
    assert results["poisson_counts"]["n_components"] == 3
    np.testing.assert_allclose(
        results["poisson_counts"]["rates"], [[2], [8], [20]], rtol=0.1
    )
    np.testing.assert_allclose(results["two_coins"]["probs"], [0.80, 0.52], atol=0.005)
    for name in (
        "gaussian_iris.png",
        "poisson_counts.png",
        "two_coins.png",
        "missing_normal.png",
    ):
        data = (out_dir / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def test_demo_without_matplotlib_still_reports(tmp_path, capsys, monkeypatch):
    hide_matplotlib(monkeypatch)
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "coin A 0.797" in out
    assert "Figures skipped: matplotlib is not installed" in out
    assert "pip install 'emmix[plot]'" in out
    assert (tmp_path / "results.json").exists()
    assert not list(tmp_path.glob("*.png"))


# ------------------------------------------------------------------- fit
def test_fit_chooses_k_and_writes_params_labels_and_figure(tmp_path, capsys):
    X = write_blobs(tmp_path / "blobs.csv")
    out_dir = tmp_path / "out"
    assert main(["fit", str(tmp_path / "blobs.csv"), "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "Number of components chosen by BIC" in out
    assert "K = 3" in out
    params = json.loads((out_dir / "params.json").read_text())
    assert params["n_components"] == 3
    assert params["columns"] == ["a", "b"]
    assert params["selected_by"] == "bic"
    assert [row["n_components"] for row in params["selection"]] == list(range(1, 9))
    # The same optimum as the estimator with the command's defaults. The
    # selection may reach K = 3 from K = 2's fit with a component split, so
    # the components can come in another order: match them by their means.
    reference = GaussianMixtureEM(3, n_init=3, random_state=0, max_iter=500).fit(X)
    means = np.asarray(params["fitted"]["means_"])
    order = [int(np.argmin(np.abs(reference.means_ - m).sum(axis=1))) for m in means]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(means, reference.means_[order], rtol=1e-4, atol=1e-6)
    assert params["log_likelihood"] == pytest.approx(reference.score(X) * len(X))
    with open(out_dir / "labels.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "row",
        "label",
        "component",
        "uncertainty",
        "prob_0",
        "prob_1",
        "prob_2",
    ]
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, len(X) + 1)]
    labels = np.array([int(r[1]) for r in rows[1:]])
    proba = np.array([[float(v) for v in r[4:]] for r in rows[1:]])
    np.testing.assert_array_equal(np.asarray(order)[labels], reference.predict(X))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # The report's names of the components, and 1 - the largest probability.
    assert [r[2] for r in rows[1:]] == [f"component {k + 1}" for k in labels]
    uncertainty = np.array([float(r[3]) for r in rows[1:]])
    np.testing.assert_allclose(uncertainty, 1 - proba.max(axis=1), atol=1e-6)
    assert (out_dir / "fit.png").read_bytes().startswith(PNG_MAGIC)


def test_header_is_optional(tmp_path, capsys):
    write_blobs(tmp_path / "with.csv", header=True)
    write_blobs(tmp_path / "without.csv", header=False)
    for name in ("with", "without"):
        args = ["fit", str(tmp_path / f"{name}.csv"), "--n-components", "3"]
        assert main([*args, "--out", str(tmp_path / name), "--quiet"]) == 0
    assert capsys.readouterr().out == ""  # --quiet
    with_header = json.loads((tmp_path / "with" / "params.json").read_text())
    without = json.loads((tmp_path / "without" / "params.json").read_text())
    assert with_header["columns"] == ["a", "b"] and without["columns"] is None
    assert with_header["fitted"]["means_"] == without["fitted"]["means_"]


def test_fit_poisson_from_npy_with_cv_selection(tmp_path, capsys):
    rng = np.random.RandomState(0)
    counts = np.concatenate([rng.poisson(2, 150), rng.poisson(15, 150)])
    np.save(tmp_path / "counts.npy", counts)  # 1-d: one column
    args = ["fit", str(tmp_path / "counts.npy"), "--model", "poisson"]
    args += ["--select", "cv", "--max-components", "3", "--out", str(tmp_path)]
    assert main(args) == 0
    params = json.loads((tmp_path / "params.json").read_text())
    assert params["model"] == "PoissonMixture"
    assert params["selected_by"] == "cv"
    assert params["n_components"] >= 2
    reference = PoissonMixture(
        params["n_components"], n_init=3, random_state=0, max_iter=500
    ).fit(counts[:, None])
    np.testing.assert_allclose(params["fitted"]["rates_"], reference.rates_)


def test_fit_two_coins(tmp_path, capsys):
    (tmp_path / "coins.csv").write_text("heads\n5\n7\n8\n9\n4\n")
    args = ["fit", str(tmp_path / "coins.csv"), "--model", "coin", "--n-trials", "10"]
    assert main([*args, "--n-components", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "P(heads)" in out
    params = json.loads((tmp_path / "params.json").read_text())
    assert params["params"]["n_trials"] == 10
    assert sorted(np.ravel(params["fitted"]["probs_"])) == pytest.approx(
        [0.5, 0.79], abs=0.02
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--model", "coin"], "--model coin needs --n-trials"),
        (["--model", "coin", "--n-trials", "ten"], "--n-trials must be"),
        (["--model", "poisson", "--covariance-type", "diag"], "--covariance-type"),
        (["--model", "poisson", "--n-trials", "3"], "--n-trials applies only"),
    ],
)
def test_inconsistent_options(extra, message, tmp_path, capsys):
    write_blobs(tmp_path / "d.csv")
    assert main(["fit", str(tmp_path / "d.csv"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_too_many_components_for_the_rows(tmp_path, capsys):
    (tmp_path / "small.csv").write_text("1\n2\n3\n")
    path = tmp_path / "small.csv"
    assert main(["fit", str(path), "--n-components", "5"]) == 2
    assert "more than the 3 rows" in one_error_line(capsys, str(path))


def test_data_the_model_rejects_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "negative.csv"
    path.write_text("1\n2\n-3\n4\n")
    assert main(["fit", str(path), "--model", "poisson", "--n-components", "1"]) == 2
    assert "Negative values" in one_error_line(capsys, str(path))


# -------------------------------------------------------------- bad files
BAD_CSV = {
    "empty.csv": ("", "the file is empty"),
    "blank.csv": ("\n  \n", "the file is empty"),
    "header_only.csv": ("a,b\n", "header line but no data rows"),
    "text.csv": ("1,2\n3,abc\n", "line 2, column 2: 'abc' is not a number"),
    "ragged.csv": ("1,2\n3,4\n5\n", "line 3 has 1 value but the first row has 2"),
    "semicolon.csv": ("1;2\n3;4\n", "seems to use ';' as delimiter"),
    "tabs.csv": ("x\ty\n1\t2\n3\t4\n", "'1\\t2' is not a number; the file"),
    "row_all_missing.csv": ("a,b\n1,2\n,\n", "line 3: every value is missing"),
    "infinite.csv": ("1,2\n3,inf\n", "'inf' is not a finite number"),
}


@pytest.mark.parametrize("name", sorted(BAD_CSV))
def test_bad_csv_is_a_one_line_error(name, tmp_path, capsys):
    content, message = BAD_CSV[name]
    path = tmp_path / name
    path.write_text(content)
    assert main(["fit", str(path), "--out", str(tmp_path / "out")]) == 2
    assert message in one_error_line(capsys, str(path))
    assert not (tmp_path / "out" / "params.json").exists()


def test_tab_delimiter_hint_and_option(tmp_path, capsys):
    path = tmp_path / "tabs.csv"
    X = write_blobs(tmp_path / "tmp.csv", header=False)
    np.savetxt(path, X, delimiter="\t")
    assert main(["fit", str(path)]) == 2
    line = one_error_line(capsys, str(path))
    assert "the file seems to use tabs as delimiter: pass --delimiter '\\t'" in line
    args = ["fit", str(path), "--delimiter", "\\t", "--n-components", "3"]
    assert main([*args, "--out", str(tmp_path), "--quiet"]) == 0


def test_right_delimiter_reads_the_file(tmp_path, capsys):
    path = tmp_path / "semicolon.csv"
    X = write_blobs(tmp_path / "tmp.csv", header=False)
    np.savetxt(path, X, delimiter=";")
    args = ["fit", str(path), "--delimiter", ";", "--n-components", "3"]
    assert main([*args, "--out", str(tmp_path), "--quiet"]) == 0


def test_missing_file_directory_and_binary(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in one_error_line(capsys, str(tmp_path / "nope.csv"))
    assert main(["fit", str(tmp_path)]) == 2
    assert "is a directory" in one_error_line(capsys, str(tmp_path))
    binary = tmp_path / "image.csv"
    binary.write_bytes(PNG_MAGIC + bytes(range(256)))
    assert main(["fit", str(binary)]) == 2
    assert "not a text file" in one_error_line(capsys, str(binary))


def test_unreadable_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "secret.csv"
    path.write_text("1\n2\n")
    # chmod 000 does not stop root (who runs CI), so deny access the way the
    # command checks it.
    monkeypatch.setattr(os, "access", lambda *args: False)
    assert main(["fit", str(path)]) == 2
    assert "permission denied" in one_error_line(capsys, str(path))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_text("1,2\n"), "not a readable .npy file"),
        (lambda p: np.save(p, np.zeros((2, 2, 2))), "shape (2, 2, 2)"),
        (lambda p: np.save(p, np.array(["a", "b"])), "not numbers"),
        (lambda p: np.save(p, np.zeros((0, 3))), "the array is empty"),
        (
            lambda p: np.save(p, np.array([[1.0], [np.nan]])),
            "row 2: every value is missing",
        ),
    ],
)
def test_bad_npy_is_a_one_line_error(make, message, tmp_path, capsys):
    path = tmp_path / "data.npy"
    make(path)
    assert main(["fit", str(path)]) == 2
    assert message in one_error_line(capsys, str(path))


# ----------------------------------------------------------------- impute
def test_impute_fills_and_reports(tmp_path, capsys):
    from emmix.impute import MultivariateNormalImputer

    rng = np.random.RandomState(0)
    X = rng.multivariate_normal(
        [1, 2, 3], [[1, 0.5, 0.2], [0.5, 1, 0.3], [0.2, 0.3, 1]], 80
    )
    X[rng.rand(*X.shape) < 0.15] = np.nan
    X[0] = [1.0, np.nan, 3.0]
    lines = ["u,v,w"] + [
        ",".join("" if np.isnan(v) else repr(float(v)) for v in row) for row in X
    ]
    lines[2] = lines[2].replace(lines[2].split(",")[0], "NA", 1)  # an NA marker
    X[1, 0] = np.nan
    (tmp_path / "holes.csv").write_text("\n".join(lines) + "\n")
    filled_path = tmp_path / "filled.csv"
    assert main(["impute", str(tmp_path / "holes.csv"), "-o", str(filled_path)]) == 0
    out = capsys.readouterr().out
    reference = MultivariateNormalImputer().fit(X)
    with open(filled_path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["u", "v", "w"]
    filled = np.array(rows[1:], dtype=float)
    assert not np.isnan(filled).any()
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(filled[observed], X[observed])
    np.testing.assert_allclose(filled, reference.transform(X), rtol=1e-12)
    assert f"{int(np.isnan(X).sum())} missing values" in out
    assert f"u={reference.mean_[0]:.4g}" in out
    assert "covariance:" in out


def test_impute_needs_an_output(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["impute", str(tmp_path / "x.csv")])
    assert exit_info.value.code == 2
    assert "-o/--output" in capsys.readouterr().err


def test_impute_bad_file(tmp_path, capsys):
    path = tmp_path / "words.csv"
    path.write_text("a,b\n1,x\n")
    assert main(["impute", str(path), "-o", str(tmp_path / "f.csv")]) == 2
    assert "'x' is not a number" in one_error_line(capsys, str(path))


# --------------------------------------------------------------- progress
class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_on_a_terminal(tmp_path, monkeypatch):
    write_blobs(tmp_path / "d.csv")
    monkeypatch.setattr(_progress, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(_progress, "PROGRESS_INTERVAL", 0.0)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert (
        main(
            [
                "fit",
                str(tmp_path / "d.csv"),
                "--max-components",
                "3",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    text = terminal.getvalue()
    assert "\r" in text
    assert "K=3  run 2/3  iteration" in text
    assert "log-likelihood" in text and "per sample" in text


def test_progress_is_silent_with_quiet_or_off_a_terminal(tmp_path, monkeypatch):
    write_blobs(tmp_path / "d.csv")
    monkeypatch.setattr(_progress, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(_progress, "PROGRESS_INTERVAL", 0.0)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    args = ["fit", str(tmp_path / "d.csv"), "--max-components", "2"]
    assert main([*args, "--out", str(tmp_path), "--quiet"]) == 0
    assert terminal.getvalue() == ""
    pipe = io.StringIO()  # not a terminal
    monkeypatch.setattr(sys, "stdout", pipe)
    assert main([*args, "--out", str(tmp_path)]) == 0
    assert "\r" not in pipe.getvalue() and "K = " in pipe.getvalue()


def test_progress_waits_before_showing(monkeypatch):
    terminal = FakeTerminal()
    progress = _progress.Progress(terminal)
    progress.task("fitting")
    gm = GaussianMixtureEM(2)
    progress.start_run(gm)
    progress.iteration_done(gm, -1.5)  # within PROGRESS_DELAY of the start
    assert terminal.getvalue() == ""
    monkeypatch.setattr(_progress, "PROGRESS_DELAY", 0.0)
    progress.iteration_done(gm, -1.25)
    assert (
        terminal.getvalue()
        == "\rfitting  K=2  iteration 2  log-likelihood -1.25 per sample"
    )
    progress.close()
    assert terminal.getvalue().endswith("\r")


# ------------------------------------------------------ the console script
def test_console_script(tmp_path):
    script = shutil.which("emmix", path=str(Path(sys.executable).parent))
    assert script is not None, "the emmix console script is not installed"
    env = {**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [script, "demo", "--out", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "two-coin problem" in done.stdout
    assert "\r" not in done.stdout  # not a terminal: no progress line
    assert (tmp_path / "demo" / "results.json").exists()
    bad = subprocess.run(
        [script, "fit", "absent.csv"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr == "emmix: error: absent.csv: no such file\n"


def test_fit_with_missing_cells_uses_em(tmp_path, capsys):
    X = write_blobs(tmp_path / "tmp.csv", header=False)
    X[::7, 1] = np.nan
    path = tmp_path / "holes.csv"
    np.savetxt(path, X, delimiter=",")  # NaN is written as 'nan'
    args = ["fit", str(path), "--n-components", "3", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"{int(np.isnan(X).sum())} missing values: integrated out" in out
    assert (tmp_path / "o" / "labels.csv").exists()


# ------------------------------------------- never overwrite, real reasons
@pytest.mark.parametrize("name", ["labels.csv", "params.json"])
def test_fit_never_overwrites_its_input(name, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "clash"
    folder.mkdir()
    write_blobs(folder / name)
    before = (folder / name).read_bytes()
    monkeypatch.chdir(tmp_path)
    for data, out in [
        (f"clash/{name}", "clash"),
        (f"./clash/../clash/{name}", str(folder)),  # the same file spelt twice
    ]:
        assert main(["fit", data, "--out", out, "--n-components", "3"]) == 2
        line = one_error_line(capsys, str(Path(out) / name))
        assert f"is the input file {data}" in line
        assert "--out" in line
    assert (folder / name).read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == [name]


def test_fit_refuses_an_output_linked_to_the_input(tmp_path, capsys):
    write_blobs(tmp_path / "data.csv")
    (tmp_path / "out").mkdir()
    os.link(tmp_path / "data.csv", tmp_path / "out" / "labels.csv")  # hard link
    assert (
        main(["fit", str(tmp_path / "data.csv"), "--out", str(tmp_path / "out")]) == 2
    )
    line = one_error_line(capsys, str(tmp_path / "out" / "labels.csv"))
    assert f"is the input file {tmp_path / 'data.csv'}" in line


def test_impute_never_overwrites_its_input(tmp_path, capsys, monkeypatch):
    path = tmp_path / "holes.csv"
    path.write_text("a,b\n1,2\n3,\n5,7\n2,3\n")
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    assert main(["impute", "holes.csv", "-o", "./holes.csv"]) == 2
    line = one_error_line(capsys, "holes.csv")
    assert "is the input file holes.csv" in line and "-o" in line
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "content, extra, message",
    [
        # Header, a blank line: the bad count is data row 3 but file line 5.
        (
            "count\n1\n\n2\n-3\n4\n",
            ["--model", "poisson"],
            "Negative values in data passed to PoissonMixture: -3.0 at line 5, "
            "column 'count'.",
        ),
        (
            "5\n12\n3\n4\n",
            ["--model", "coin", "--n-trials", "10"],
            "12.0 heads at line 2, column 1 exceeds the 10.0 tosses",
        ),
        (
            "heads,tosses\n5,10\n4,3\n",
            ["--model", "coin", "--n-trials", "from_X"],
            "4.0 heads at line 3, column 'heads' exceeds the 3.0 tosses",
        ),
        ("a,b\n1,2\n", [], "has a single data row; a mixture needs at least 2"),
    ],
)
@pytest.mark.parametrize("select", [[], ["--select", "cv"], ["--n-components", "1"]])
def test_data_errors_name_the_file_line_and_column(
    content, extra, message, select, tmp_path, capsys
):
    path = tmp_path / "data.csv"
    path.write_text(content)
    args = ["fit", str(path), *extra, *select, "--out", str(tmp_path / "o")]
    assert main(args) == 2
    line = one_error_line(capsys, str(path))
    assert message in line
    assert "Every candidate" not in line and "error_score" not in line
    assert not (tmp_path / "o").exists()


def test_infinite_value_in_npy_is_named(tmp_path, capsys):
    path = tmp_path / "data.npy"
    np.save(path, np.array([[1.0, 2.0], [3.0, np.inf], [4.0, 5.0]]))
    assert main(["fit", str(path)]) == 2
    assert "row 2, column 2: inf is not a finite number" in one_error_line(
        capsys, str(path)
    )


def test_relayed_errors_count_file_lines_from_one(tmp_path, capsys, monkeypatch):
    from emmix.mixture import GaussianMixtureEM as Gaussian

    def fail(self, X, y=None):
        raise TypeError("Something is wrong at row 2, column 1.\nSecond line.")

    monkeypatch.setattr(Gaussian, "fit", fail)
    path = tmp_path / "data.csv"
    path.write_text("x,y\n\n1,2\n3,4\n\n5,6\n")
    assert main(["fit", str(path), "--n-components", "2"]) == 2
    line = one_error_line(capsys, str(path))
    assert line.endswith("Something is wrong at line 6, column 'y'. Second line.")


def test_every_row_with_a_missing_cell_is_fitted_without_data_panel(tmp_path, capsys):
    path = tmp_path / "holes.csv"
    path.write_text("x,y\n1,\n,2\n3,\n2,\n,5\n1.5,\n,4\n")
    out_dir = tmp_path / "o"
    assert main(["fit", str(path), "--n-components", "2", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "Figure: no data panel" in out
    assert (out_dir / "fit.png").read_bytes().startswith(PNG_MAGIC)
    params = json.loads((out_dir / "params.json").read_text())
    assert params["n_components"] == 2


def test_data_panel_shows_rows_observed_in_its_columns(tmp_path, capsys):
    X = write_blobs(tmp_path / "tmp.csv", header=False)
    X = np.column_stack([X, np.arange(len(X), dtype=float)])
    X[::3, 2] = np.nan  # not drawn: those rows stay in the scatter
    X[1::4, 0] = np.nan  # drawn: those rows leave it
    path = tmp_path / "holes.csv"
    np.savetxt(path, X, delimiter=",")
    args = ["fit", str(path), "--n-components", "3", "--out", str(tmp_path / "o")]
    assert main([*args, "--features", "1,2"]) == 0
    n_left = int(np.isnan(X[:, :2]).any(axis=1).sum())
    assert f"leaves out {n_left} rows with a missing value" in capsys.readouterr().out


# ------------------------------------------------------------ start-up
def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_import_no_heavy_module(option):
    out = run_python(
        "import sys\n"
        "from emmix.cli import main\n"
        "try:\n"
        f"    main([{option!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('numpy', 'scipy', 'sklearn', 'matplotlib', 'emmix.mixture')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
    )
    assert "LOADED []" in out


def test_emmix_imports_estimators_on_first_use():
    out = run_python(
        "import sys\n"
        "import emmix\n"
        "assert 'emmix.mixture' not in sys.modules\n"
        "assert set(emmix.__all__) <= set(dir(emmix))\n"
        "from emmix import GaussianMixtureEM, MultivariateNormalImputer\n"
        "from emmix.mixture import GaussianMixtureEM as G\n"
        "assert GaussianMixtureEM is G is emmix.GaussianMixtureEM\n"
        "assert emmix.impute.MultivariateNormalImputer is MultivariateNormalImputer\n"
        "print(emmix.__version__, all(hasattr(emmix, n) for n in emmix.__all__))\n"
        "try:\n"
        "    emmix.NoSuchThing\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    assert "0.1.0 True" in out
    assert "module 'emmix' has no attribute 'NoSuchThing'" in out


def test_two_coins_case_is_the_maximum_likelihood_estimate():
    from emmix.cli import cases

    case = cases.two_coins()
    heads = case.heads[:, 0].astype(float)
    # Independent: plain EM for two binomial coins picked with equal odds.
    p = np.array([0.6, 0.5])
    for _ in range(2000):
        lik = p[:, None] ** heads * (1 - p[:, None]) ** (10 - heads)
        r = lik / lik.sum(axis=0)
        p = (r @ heads) / (10 * r.sum(axis=1))
    np.testing.assert_allclose(case.model.probs_[:, 0], p, atol=1e-5)
    np.testing.assert_allclose(case.heads[:, 0], [5, 9, 8, 4, 7])


def test_failure_met_only_by_the_selection_is_shown(tmp_path, capsys, monkeypatch):
    from emmix.mixture import GaussianMixtureEM as Gaussian

    real_fit = Gaussian.fit

    def fit(self, X, y=None):
        if self.max_iter != 1:  # the selection's fits fail; a one-step fit works
            raise ValueError("Singular at row 0, column 1")
        return real_fit(self, X, y)

    monkeypatch.setattr(Gaussian, "fit", fit)
    write_blobs(tmp_path / "d.csv", n=30)
    args = ["fit", str(tmp_path / "d.csv"), "--max-components", "2"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys, str(tmp_path / "d.csv"))
    assert line.endswith(
        "no K from 1 to 2 could be fitted; with K = 1: Singular at line 2, column 'b'"
    )


# ------------------------------------------------ a pandas user's session
def write_pandas_iris(path, holes=()):
    """Iris as a pandas user writes it: ``df.to_csv()``, index and species."""
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    df = iris.data.copy()
    df.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    df["species"] = np.asarray(iris.target_names)[iris.target]
    df.index = pd.RangeIndex(100, 250)  # ids that are not the row numbers
    for row_id, columns in holes:
        df.loc[row_id, columns] = np.nan
    df.to_csv(path)
    return df


def read_csv_rows(path):
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_pandas_file_text_column_is_refused_with_a_drop_hint(tmp_path, capsys):
    write_pandas_iris(tmp_path / "iris.csv")
    assert main(["fit", str(tmp_path / "iris.csv")]) == 2
    line = one_error_line(capsys, str(tmp_path / "iris.csv"))
    assert "column 6 ('species'): 'setosa' is not a number" in line
    assert "--drop species" in line


@pytest.mark.parametrize(
    "options",
    [
        ["--drop", "species"],
        ["--drop", "6"],
        ["--columns", "sepal_length,sepal_width,petal_length,petal_width"],
        ["--columns", "2,3,4,5"],
        ["--index-col", "1", "--drop", "species"],
    ],
)
def test_pandas_file_index_and_columns(options, tmp_path, capsys):
    df = write_pandas_iris(tmp_path / "iris.csv")
    out_dir = tmp_path / "out"
    args = ["fit", str(tmp_path / "iris.csv"), "--n-components", "3"]
    assert main([*args, *options, "--out", str(out_dir), "--quiet"]) == 0
    params = json.loads((out_dir / "params.json").read_text())
    X = df.iloc[:, :4].to_numpy()
    assert params["columns"] == list(df.columns[:4])
    reference = GaussianMixtureEM(3, n_init=3, random_state=0, max_iter=500).fit(X)
    np.testing.assert_allclose(params["fitted"]["means_"], reference.means_)
    rows = read_csv_rows(out_dir / "labels.csv")
    assert rows[0][:4] == ["", "label", "component", "uncertainty"]
    assert [r[0] for r in rows[1:]] == [str(i) for i in df.index]  # pandas's ids


def test_unnamed_dataframe_header_and_other_delimiter(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    X = write_blobs(tmp_path / "b.csv")
    pd.DataFrame(X).to_csv(tmp_path / "unnamed.csv", sep=";")  # header ";0;1"
    args = ["fit", str(tmp_path / "unnamed.csv"), "--delimiter", ";"]
    assert main([*args, "--n-components", "3", "--out", str(tmp_path / "o")]) == 0
    params = json.loads((tmp_path / "o" / "params.json").read_text())
    assert params["columns"] == ["0", "1"] and params["n_samples"] == len(X)


@pytest.mark.parametrize(
    "options, message",
    [
        (["--drop", "petals"], "--drop 'petals': no such column; the columns are"),
        (["--columns", "9"], "--columns 9: the file has 6 columns"),
        (["--columns", "2,2"], "--columns names a column twice"),
        (["--drop", "1,2,3,4,5,6"], "no column is left"),
    ],
)
def test_column_options_errors(options, message, tmp_path, capsys):
    write_pandas_iris(tmp_path / "iris.csv")
    assert main(["fit", str(tmp_path / "iris.csv"), *options]) == 2
    assert message in capsys.readouterr().err


def mixture_posteriors(weights, means, covariances, X):
    """p(k | x) from scipy's normal densities: independent of emmix."""
    from scipy.stats import multivariate_normal

    log = np.column_stack(
        [
            np.log(w) + multivariate_normal.logpdf(X, m, c)
            for w, m, c in zip(weights, means, covariances, strict=True)
        ]
    )
    log_total = np.logaddexp.reduce(log, axis=1)
    return np.exp(log - log_total[:, None]), log_total


def test_save_predict_and_score_a_pandas_file(tmp_path, capsys):
    pytest.importorskip("skops")
    df = write_pandas_iris(tmp_path / "iris.csv")
    model = tmp_path / "model.skops"
    args = ["fit", str(tmp_path / "iris.csv"), "--drop", "species"]
    args += ["--n-components", "3", "--save", str(model), "--out", str(tmp_path)]
    assert main(args) == 0
    # New rows, columns in another order and an extra text column: matched
    # by name.
    new = df.iloc[::7][["species", "petal_width", "petal_length"]].join(
        df.iloc[::7][["sepal_width", "sepal_length"]]
    )
    new.to_csv(tmp_path / "new.csv", index_label="plant")
    out = tmp_path / "predictions.csv"
    cmd = ["predict", "--model", str(model), str(tmp_path / "new.csv"), "-o", str(out)]
    assert main([*cmd, "--index-col", "plant"]) == 0
    params = json.loads((tmp_path / "params.json").read_text())["fitted"]
    X = new[["sepal_length", "sepal_width", "petal_length", "petal_width"]]
    expected, log_density = mixture_posteriors(
        params["weights_"], params["means_"], params["covariances_"], X.to_numpy()
    )
    rows = read_csv_rows(out)
    assert rows[0] == ["plant", "label", "component", "uncertainty"] + [
        f"prob_{k}" for k in range(3)
    ]
    assert [r[0] for r in rows[1:]] == [str(i) for i in new.index]
    proba = np.array([[float(v) for v in r[4:]] for r in rows[1:]])
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    assert [int(r[1]) for r in rows[1:]] == list(expected.argmax(axis=1))
    uncertainty = np.array([float(r[3]) for r in rows[1:]])
    np.testing.assert_allclose(uncertainty, 1 - expected.max(axis=1), atol=1e-5)
    assert "Wrote" in capsys.readouterr().out

    scores = tmp_path / "scores.csv"
    cmd = ["score", "--model", str(model), str(tmp_path / "new.csv"), "-o", str(scores)]
    assert main([*cmd, "--index-col", "plant"]) == 0
    rows = read_csv_rows(scores)
    assert rows[0] == ["plant", "log_likelihood"]
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], log_density, rtol=1e-5)
    assert "lowest (least typical rows)" in capsys.readouterr().out


def test_predict_refuses_a_file_without_the_model_columns(tmp_path, capsys):
    pytest.importorskip("skops")
    df = write_pandas_iris(tmp_path / "iris.csv")
    model = tmp_path / "m.skops"
    args = ["fit", str(tmp_path / "iris.csv"), "--drop", "species", "--quiet"]
    assert main([*args, "--n-components", "2", "--save", str(model)]) == 0
    df.drop(columns="petal_width").to_csv(tmp_path / "short.csv")
    cmd = ["predict", "--model", str(model), str(tmp_path / "short.csv")]
    assert main([*cmd, "-o", str(tmp_path / "p.csv")]) == 2
    line = one_error_line(capsys, str(tmp_path / "short.csv"))
    assert "has no column 'petal_width'" in line


def test_predict_refuses_a_file_that_is_not_an_emmix_model(tmp_path, capsys):
    sio = pytest.importorskip("skops.io")
    from sklearn.preprocessing import StandardScaler

    write_blobs(tmp_path / "d.csv")
    sio.dump(StandardScaler().fit([[0.0], [1.0]]), tmp_path / "other.skops")
    (tmp_path / "junk.skops").write_text("not a model")
    for name in ("other.skops", "junk.skops"):
        cmd = ["predict", "--model", str(tmp_path / name), str(tmp_path / "d.csv")]
        assert main([*cmd, "-o", str(tmp_path / "p.csv")]) == 2
        line = one_error_line(capsys, str(tmp_path / name))
        assert "StandardScaler" in line or "not a skops model file" in line
    assert not (tmp_path / "p.csv").exists()


def test_save_without_skops_is_one_line(tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "skops" or name.startswith("skops."):
            raise ImportError("No module named 'skops'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    write_blobs(tmp_path / "d.csv")
    args = ["fit", str(tmp_path / "d.csv"), "--n-components", "3", "--quiet"]
    assert main([*args, "--save", str(tmp_path / "m.skops")]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("emmix: error:") and "pip install skops" in line


def conditional_mean_fill(weights, means, covariances, row):
    """sum_k p(k | x_obs) E[x_miss | x_obs, k], from the closed form."""
    from scipy.stats import multivariate_normal

    o = ~np.isnan(row)
    m = ~o
    log_w, fills = [], []
    for w, mean, cov in zip(weights, means, covariances, strict=True):
        cov = np.asarray(cov)
        log_w.append(
            np.log(w) + multivariate_normal.logpdf(row[o], mean[o], cov[o][:, o])
        )
        gain = cov[m][:, o] @ np.linalg.inv(cov[o][:, o])
        fills.append(np.asarray(mean)[m] + gain @ (row[o] - np.asarray(mean)[o]))
    post = np.exp(np.array(log_w) - np.logaddexp.reduce(log_w))
    return post @ np.array(fills)


def test_impute_with_a_mixture_keeps_the_file_format(tmp_path, capsys):
    holes = [(100, ["petal_length", "petal_width"]), (160, ["sepal_width"])]
    holes += [(220, ["petal_length"])]
    df = write_pandas_iris(tmp_path / "holes.csv", holes)
    out = tmp_path / "filled.csv"
    args = ["impute", str(tmp_path / "holes.csv"), "-o", str(out), "--drop"]
    assert main([*args, "species", "--n-components", "3", "--indicator"]) == 0
    text = capsys.readouterr().out
    assert "Gaussian mixture (K = 3 given" in text
    rows = read_csv_rows(out)
    assert rows[0] == [
        "",
        *df.columns,
        "sepal_width_filled",
        "petal_length_filled",
        "petal_width_filled",
    ]
    original = read_csv_rows(tmp_path / "holes.csv")
    X = df.iloc[:, :4].to_numpy()
    reference = GaussianMixtureEM(3, n_init=3, random_state=0, max_iter=500).fit(X)
    by_id = {r[0]: r for r in rows[1:]}
    for before in original[1:]:
        after = by_id[before[0]]
        for j, cell in enumerate(before):
            if cell:  # observed cells and species exactly as written
                assert after[j] == cell
    for row_id, columns in holes:
        row = X[row_id - 100]
        expected = conditional_mean_fill(
            reference.weights_, reference.means_, reference.covariances_, row
        )
        after = by_id[str(row_id)]
        filled = [after[1 + list(df.columns).index(c)] for c in columns]
        assert all(len(v.split(".")[1]) == 1 for v in filled)  # one decimal
        np.testing.assert_allclose([float(v) for v in filled], expected, atol=0.051)
    flags = {r[0]: r[-3:] for r in rows[1:]}
    assert flags["100"] == ["0", "1", "1"] and flags["160"] == ["1", "0", "0"]
    assert flags["101"] == ["0", "0", "0"]


def test_impute_with_a_mixture_fills_setosa_from_setosa(tmp_path, capsys):
    # The case: one normal fills a setosa row's petals halfway to the
    # other species; the mixture with those of setosa.
    df = write_pandas_iris(tmp_path / "h.csv", [(100, ["petal_length", "petal_width"])])
    assert df.loc[100, "species"] == "setosa"
    base = ["impute", str(tmp_path / "h.csv"), "--drop", "species", "--quiet"]
    assert main([*base, "-o", str(tmp_path / "one.csv")]) == 0
    assert main([*base, "-o", str(tmp_path / "mix.csv"), "--select", "bic"]) == 0
    one = read_csv_rows(tmp_path / "one.csv")[1]
    mix = read_csv_rows(tmp_path / "mix.csv")[1]
    truth = np.array([1.4, 0.2])  # what was removed
    error_one = np.abs(np.array(one[3:5], dtype=float) - truth)
    error_mix = np.abs(np.array(mix[3:5], dtype=float) - truth)
    assert (error_mix <= 0.15).all() and (error_one > 2 * error_mix).all()


def test_impute_float_format_and_npy(tmp_path, capsys):
    X = write_blobs(tmp_path / "b.csv")
    X[::10, 1] = np.nan
    np.save(tmp_path / "b.npy", X)
    out = tmp_path / "f.csv"
    args = ["impute", str(tmp_path / "b.npy"), "-o", str(out), "--quiet"]
    assert main([*args, "--float-format", "%.2f", "--n-components", "3"]) == 0
    rows = read_csv_rows(out)
    assert len(rows) == len(X)
    filled = [rows[i][1] for i in range(0, len(X), 10)]
    assert all(len(v.split(".")[1]) == 2 for v in filled)
    assert main([*args, "--float-format", "%q"]) == 2
    assert "--float-format" in capsys.readouterr().err


def test_count_models_refuse_non_integer_data(tmp_path, capsys):
    write_pandas_iris(tmp_path / "iris.csv")
    args = ["fit", str(tmp_path / "iris.csv"), "--drop", "species"]
    args += ["--model", "poisson", "--n-components", "2", "--out", str(tmp_path / "o")]
    assert main(args) == 2
    line = one_error_line(capsys, str(tmp_path / "iris.csv"))
    assert "line 2, column 'sepal_length': 5.1 is not a whole number" in line
    assert "--allow-non-integer" in line
    assert main([*args, "--allow-non-integer"]) == 0
    assert "not whole numbers" in capsys.readouterr().out
    coin = ["fit", str(tmp_path / "iris.csv"), "--drop", "species", "--model", "coin"]
    assert main([*coin, "--n-trials", "10"]) == 2
    assert "is not a whole number" in capsys.readouterr().err


def test_fit_figure_features_option(tmp_path, capsys):
    write_pandas_iris(tmp_path / "iris.csv")
    args = ["fit", str(tmp_path / "iris.csv"), "--drop", "species", "--quiet"]
    args += ["--n-components", "3", "--out", str(tmp_path / "o")]
    for features in ("petal_length,petal_width", "1,2,4"):
        assert main([*args, "--features", features]) == 0
        assert (tmp_path / "o" / "fit.png").read_bytes().startswith(PNG_MAGIC)
    assert main([*args, "--features", "petals"]) == 2
    assert "--features 'petals'" in capsys.readouterr().err
    assert main([*args, "--features", "3"]) == 2
    assert "give two or more" in capsys.readouterr().err


def test_text_column_without_header_names_its_position(tmp_path, capsys):
    (tmp_path / "t.csv").write_text("1.0,2.0,a\n1.5,2.5,b\n0.5,1.0,a\n")
    assert main(["fit", str(tmp_path / "t.csv")]) == 2
    line = one_error_line(capsys, str(tmp_path / "t.csv"))
    assert "line 1, column 3: 'a' is not a number" in line
    assert "--drop 3" in line


def test_npy_columns_by_position(tmp_path, capsys):
    X = write_blobs(tmp_path / "b.csv")
    np.save(tmp_path / "b.npy", np.column_stack([X[:, 0], np.ones(len(X)), X[:, 1]]))
    args = ["fit", str(tmp_path / "b.npy"), "--n-components", "3", "--quiet"]
    assert main([*args, "--drop", "2", "--out", str(tmp_path / "o")]) == 0
    params = json.loads((tmp_path / "o" / "params.json").read_text())
    reference = GaussianMixtureEM(3, n_init=3, random_state=0, max_iter=500).fit(X)
    np.testing.assert_allclose(params["fitted"]["means_"], reference.means_)
    assert main([*args, "--columns", "a"]) == 2
    assert "has no header line" in capsys.readouterr().err


def test_labels_show_no_internal_floor(tmp_path, capsys):
    # Blobs 10 sd apart: most probabilities of the other components are far
    # below 1e-12, and the engine floors them at 1e-150.
    write_blobs(tmp_path / "b.csv")
    args = ["fit", str(tmp_path / "b.csv"), "--n-components", "3", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 0
    cells = [c for r in read_csv_rows(tmp_path / "o" / "labels.csv")[1:] for c in r]
    assert "0" in cells
    assert not any("e-1" in c and float(c) < 1e-12 for c in cells if "e-" in c)


def test_impute_indicator_without_header(tmp_path, capsys):
    (tmp_path / "h.csv").write_text("1.0,2.0\n2.0,\n3.0,6.5\n4.0,8.0\n,9.5\n")
    out = tmp_path / "f.csv"
    args = ["impute", str(tmp_path / "h.csv"), "-o", str(out), "--quiet"]
    assert main([*args, "--indicator"]) == 0
    rows = read_csv_rows(out)
    assert [r[2:] for r in rows] == [
        ["0", "0"],
        ["0", "1"],
        ["0", "0"],
        ["0", "0"],
        ["1", "0"],
    ]
    assert rows[0][:2] == ["1.0", "2.0"] and rows[2][:2] == ["3.0", "6.5"]
    assert len(rows[1][1].split(".")[1]) == 1  # the column's one decimal


# ------------------------------------------------ the new families' models
def test_fit_student_t_matches_the_estimator(tmp_path, capsys):
    from emmix import StudentTMixture

    rng = np.random.RandomState(0)
    X = np.vstack([rng.standard_t(4, (150, 2)) + c for c in ([0, 0], [8, 0])])
    np.savetxt(tmp_path / "t.csv", X, delimiter=",", header="a,b", comments="")
    out_dir = tmp_path / "out"
    argv = ["fit", str(tmp_path / "t.csv"), "--model", "student-t"]
    assert main([*argv, "--n-components", "2", "--out", str(out_dir)]) == 0
    params = json.loads((out_dir / "params.json").read_text())
    reference = StudentTMixture(2, n_init=3, random_state=0, max_iter=500).fit(X)
    assert params["log_likelihood"] == pytest.approx(
        reference.score(X) * len(X), rel=1e-6
    )
    assert len(params["fitted"]["dofs_"]) == 2
    assert main([*argv, "--covariance-type", "VEV"]) == 2
    assert "student-t takes --covariance-type full, tied" in capsys.readouterr().err


def test_fit_and_predict_categorical_codes(tmp_path, capsys):
    from emmix import CategoricalMixture
    from emmix.datasets import make_latent_class

    pytest.importorskip("skops")
    X = np.asarray(make_latent_class(300, random_state=0)[0], dtype=float)
    np.savetxt(tmp_path / "answers.csv", X, delimiter=",", fmt="%d")
    model = tmp_path / "lca.skops"
    argv = ["fit", str(tmp_path / "answers.csv"), "--model", "categorical"]
    argv += ["--n-components", "3", "--out", str(tmp_path / "out")]
    assert main([*argv, "--save", str(model)]) == 0
    assert "class 1:" in capsys.readouterr().out
    params = json.loads((tmp_path / "out" / "params.json").read_text())
    reference = CategoricalMixture(3, n_init=3, random_state=0, max_iter=500).fit(X)
    assert params["log_likelihood"] == pytest.approx(
        reference.score(X) * len(X), rel=1e-6
    )
    predictions = tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(model),
                str(tmp_path / "answers.csv"),
                "-o",
                str(predictions),
            ]
        )
        == 0
    )
    with open(predictions, newline="") as handle:
        rows = list(csv.reader(handle))
    labels = np.array([int(r[1]) for r in rows[1:]])
    np.testing.assert_array_equal(labels, reference.predict(X))


def _mixed_table(tmp_path):
    rng = np.random.default_rng(0)
    z = rng.integers(0, 3, 400)
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    gauss = centres[z] + rng.normal(size=(400, 2))
    visits = rng.poisson(np.array([1.0, 6.0, 14.0])[z])
    answer = (z + (rng.random(400) < 0.15)) % 3
    X = np.column_stack([gauss, visits, answer])
    path = tmp_path / "mixed.csv"
    np.savetxt(path, X, delimiter=",", header="x,y,visits,answer", comments="")
    return path, X


def test_fit_mixed_types(tmp_path, capsys):
    from emmix import MixedTypeMixture

    path, X = _mixed_table(tmp_path)
    groups = "gaussian:x,y;poisson:3;categorical:answer"
    argv = ["fit", str(path), "--model", "mixed", "--groups", groups]
    argv += ["--covariance-type", "diag", "--out", str(tmp_path / "out")]
    assert main([*argv, "--n-components", "3"]) == 0
    out = capsys.readouterr().out
    assert "MixedTypeMixture" in out and "poisson: rates" in out
    params = json.loads((tmp_path / "out" / "params.json").read_text())
    columns = [
        ("gaussian", [0, 1], {"covariance_type": "diag"}),
        ("poisson", [2], {}),
        ("categorical", [3], {}),
    ]
    reference = MixedTypeMixture(
        3, columns=columns, n_init=3, random_state=0, max_iter=500
    ).fit(X)
    assert params["log_likelihood"] == pytest.approx(
        reference.score(X) * len(X), rel=1e-6
    )
    if importlib.util.find_spec("skops") is not None:  # saved, predicted
        model, predictions = tmp_path / "mixed.skops", tmp_path / "p.csv"
        argv_save = [*argv[:-1], str(tmp_path / "out2"), "--n-components", "3"]
        assert main([*argv_save, "--save", str(model)]) == 0
        argv_predict = ["predict", "--model", str(model), str(path)]
        assert main([*argv_predict, "-o", str(predictions)]) == 0
        with open(predictions, newline="") as handle:
            labels = [int(row[1]) for row in list(csv.reader(handle))[1:]]
        np.testing.assert_array_equal(labels, reference.predict(X))
    # K chosen by BIC: every K fits (none "failed"), and 3 wins.
    assert main([*argv[:-2], "--out", str(tmp_path / "sel")]) == 0
    selection = json.loads((tmp_path / "sel" / "params.json").read_text())
    assert selection["n_components"] == 3
    assert not any("failed" in w for w in selection["warnings"])


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        (None, "--model mixed needs --groups"),
        ("gaussian:x,y;poisson:visits", "leaves 1 column of the 4 columns used"),
        ("gauss:x", "write FAMILY:COLUMNS with FAMILY one of"),
        ("gaussian:x,y;poisson:y;categorical:answer", "column 'y' is in the gaussian"),
        ("gaussian:x,z", "'z' is not one of the 4 columns used"),
        ("gaussian:1,2;coin:3;categorical:4", "a coin group needs --n-trials"),
    ],
)
def test_fit_mixed_types_bad_groups(tmp_path, capsys, groups, message):
    path, _ = _mixed_table(tmp_path)
    argv = ["fit", str(path), "--model", "mixed", "--n-components", "2"]
    if groups is not None:
        argv += ["--groups", groups]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_groups_only_with_mixed(tmp_path, capsys):
    path, _ = _mixed_table(tmp_path)
    argv = ["fit", str(path), "--groups", "gaussian:1", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "--groups applies only to --model mixed" in capsys.readouterr().err
