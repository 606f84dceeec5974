"""pytest plugin: scikit-learn's own mixture tests, run on GaussianMixtureEM.

Loaded with ``-p sklearn_suite_plugin`` by ``tests/test_sklearn_suite.py``,
which runs pytest in a subprocess on the test modules installed with
scikit-learn (nothing of them is copied here). Before those modules are
imported, ``sklearn.mixture.GaussianMixture`` is replaced by
:class:`emmix.GaussianMixtureEM`, so every test, including the estimators
their ``parametrize`` lists build at import, exercises ours.

The only tests not run are listed in :data:`EXCEPTIONS`, each with its
reason; the outcome of every test is written as JSON to the file named by
the environment variable ``EMMIX_SKLEARN_REPORT``.
"""

from __future__ import annotations

import json
import os

import pytest

#: Test function name -> why it is not run against GaussianMixtureEM.
EXCEPTIONS = {
    "test_gaussian_mixture_precisions_init": (
        "calls scikit-learn's private functions _estimate_gaussian_parameters "
        "and _compute_precision_cholesky, and GaussianMixture's private methods "
        "_set_parameters and _initialize"
    ),
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": (
        "patches scikit-learn's private function _estimate_gaussian_parameters"
    ),
    "test_gaussian_mixture_raises_where_array_api_not_implemented": (
        "expects NotImplementedError for init_params='kmeans'/'k-means++' under "
        "array_api_dispatch, which GaussianMixtureEM supports; "
        "tests/test_array_api.py checks those starts give the numpy path's numbers"
    ),
}

PREFIX = "emmix exception: "


def pytest_configure(config):
    # Before any test module is collected (so imported): importing this
    # module alone, as tests/test_sklearn_suite.py does, patches nothing.
    import sklearn.mixture

    from emmix import GaussianMixtureEM

    sklearn.mixture.GaussianMixture = GaussianMixtureEM


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = EXCEPTIONS.get(item.originalname)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=PREFIX + reason))


_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = report.outcome
        if outcome == "skipped":
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            outcome = "exception" if PREFIX in reason else "skipped"
        _outcomes[report.nodeid.split("::", 1)[-1]] = outcome
    elif report.outcome == "failed":  # teardown errors
        _outcomes[report.nodeid.split("::", 1)[-1]] = "failed"


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("EMMIX_SKLEARN_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(_outcomes, f, indent=0, sort_keys=True)
