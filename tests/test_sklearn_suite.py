"""scikit-learn's own GaussianMixture tests pass with GaussianMixtureEM in its place.

The test modules shipped inside the installed scikit-learn
(``sklearn/mixture/tests/test_gaussian_mixture.py`` and ``test_mixture.py``)
are run by pytest in a subprocess, with float32 tests on
(``SKLEARN_RUN_FLOAT32_TESTS=1``) and the Array API tests on
(``SCIPY_ARRAY_API=1``; they run for array-api-strict, and for PyTorch where
it is installed). ``tests/sklearn_suite_plugin.py`` puts GaussianMixtureEM in
place of ``sklearn.mixture.GaussianMixture`` before the modules are imported,
and lists the few tests not run, each with its reason. Nothing of
scikit-learn's tests is copied into this repository.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn_suite_plugin import EXCEPTIONS

MODULES = (
    "sklearn.mixture.tests.test_gaussian_mixture",
    "sklearn.mixture.tests.test_mixture",
)
HERE = Path(__file__).resolve().parent


def _installed_test_files():
    files = []
    for name in MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is None or spec.origin is None:
            return None
        files.append(spec.origin)
    return files


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    files = _installed_test_files()
    if files is None:
        pytest.skip("scikit-learn's mixture test modules are not installed")
    tmp = tmp_path_factory.mktemp("sklearn_suite")
    report = tmp / "outcomes.json"
    env = dict(os.environ)
    env.update(
        SKLEARN_RUN_FLOAT32_TESTS="1",
        SCIPY_ARRAY_API="1",
        EMMIX_SKLEARN_REPORT=str(report),
        PYTHONPATH=os.pathsep.join(
            [str(HERE), str(HERE.parent), env.get("PYTHONPATH", "")]
        ),
    )
    # Run from an empty folder: no ini file of ours applies, and scikit-learn's
    # own conftest (its fixtures global_dtype, global_random_seed) is found.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "sklearn_suite_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rfE",
            *files,
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    outcomes = json.loads(report.read_text()) if report.exists() else {}
    return result, outcomes


def test_sklearn_suite_passes(suite):
    result, outcomes = suite
    failed = sorted(name for name, outcome in outcomes.items() if outcome == "failed")
    counts = {
        kind: sum(outcome == kind for outcome in outcomes.values())
        for kind in ("passed", "failed", "skipped", "exception")
    }
    print(f"scikit-learn's mixture tests on GaussianMixtureEM: {counts}")
    assert outcomes, result.stdout[-4000:] + result.stderr[-4000:]
    assert not failed, f"{failed}\n{result.stdout[-6000:]}"
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert counts["passed"] > 50


def test_every_exception_is_met(suite):
    """Each listed exception names a test that exists (none goes stale)."""
    _, outcomes = suite
    met = {name.split("[")[0] for name, kind in outcomes.items() if kind == "exception"}
    assert met == set(EXCEPTIONS)


def test_array_api_tests_ran(suite):
    """With array-api-strict installed, the Array API tests really run."""
    pytest.importorskip("array_api_strict")
    _, outcomes = suite
    ran = [
        name
        for name, kind in outcomes.items()
        if "array_api_compliance" in name and "array_api_strict" in name
    ]
    assert ran and all(outcomes[name] == "passed" for name in ran)
