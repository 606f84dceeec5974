"""Bad input to every public estimator: one table of cases x estimators.

Each case is a function of the estimator's name returning ``(estimator, X)``
(or a fitted estimator and a method to call), and the table says what each
estimator must do with it: raise a given exception whose message matches a
pattern naming the argument and the offending value, row or column, or
``FITS`` where the input is valid for that estimator (NaN for the imputers,
negative values for the normal models, ...).

Errors at ``fit`` must come before any work starts: the EM engine's entry
point is replaced by a function that fails the test if it is ever reached.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix._em import EMMixin
from emmix.impute import MissingBivariateImputer, MultivariateNormalImputer

pd = pytest.importorskip("pandas")

FITS = "fits"
MIXTURES = ("GaussianMixtureEM", "PoissonMixture", "CoinMixture")
IMPUTERS = ("MultivariateNormalImputer", "MissingBivariateImputer")
ESTIMATORS = MIXTURES + IMPUTERS


def make(name, **kwargs):
    """A small default instance of each estimator (2 components for mixtures)."""
    if name == "GaussianMixtureEM":
        return GaussianMixtureEM(**{"n_components": 2, "random_state": 0, **kwargs})
    if name == "PoissonMixture":
        return PoissonMixture(**{"n_components": 2, "random_state": 0, **kwargs})
    if name == "CoinMixture":
        kwargs = {"n_components": 2, "n_trials": 10, "random_state": 0, **kwargs}
        return CoinMixture(**kwargs)
    if name == "MultivariateNormalImputer":
        return MultivariateNormalImputer(**kwargs)
    return MissingBivariateImputer(**kwargs)


def good_X(n=30):
    """Counts in [0, 10]: valid input for every estimator (distinct rows)."""
    rng = np.random.RandomState(0)
    return rng.binomial(10, 0.4, size=(n, 2)).astype(np.float64)


def with_cell(value, dtype=np.float64):
    X = good_X().astype(dtype)
    X[3, 1] = value
    return X


def with_row(value):
    X = good_X()
    X[3, :] = value
    return X


def frame(second_column):
    X = good_X()
    return pd.DataFrame({"a": X[:, 0], "b": second_column(len(X))})


# case -> (builder of X, {estimator name or "*": (exception, regex) or FITS})
CASES = {
    # NaN marks a missing value: every estimator fits it (the mixtures
    # integrate it out); a row with nothing observed is refused by mixtures.
    "nan": (lambda: with_cell(np.nan), {"*": FITS}),
    "row_all_nan": (
        lambda: with_row(np.nan),
        {
            **{m: (ValueError, r"Row 3 of X has no observed value") for m in MIXTURES},
            **{i: FITS for i in IMPUTERS},
        },
    ),
    "inf": (
        lambda: with_cell(np.inf),
        {"*": (ValueError, r"X contains infinity at row 3, column 1")},
    ),
    "-inf": (
        lambda: with_cell(-np.inf),
        {"*": (ValueError, r"X contains -infinity at row 3, column 1")},
    ),
    "none_in_object_array": (lambda: with_cell(None, dtype=object), {"*": FITS}),
    "scalar": (lambda: 3.0, {"*": (ValueError, r"X must be a 2-d array.*a scalar")}),
    "1d": (
        lambda: good_X()[:, 0],
        {"*": (ValueError, r"X must be a 2-d .* 1-d array of shape \(30,\).*reshape")},
    ),
    "3d": (
        lambda: good_X()[:, :, np.newaxis],
        {"*": (ValueError, r"X must be a 2-d .* 3-d array of shape \(30, 2, 1\)")},
    ),
    "ragged_list": (
        lambda: [[1.0, 2.0], [3.0], [4.0, 5.0]],
        {"*": (ValueError, r"X must be a 2-d array.*different lengths")},
    ),
    "empty": (
        lambda: np.empty((0, 2)),
        {"*": (ValueError, r"X is empty \(shape \(0, 2\)\).*at least 2 samples")},
    ),
    "no_columns": (
        lambda: np.empty((5, 0)),
        {"*": (ValueError, r"X has no features \(shape \(5, 0\)\)")},
    ),
    "single_sample": (
        lambda: good_X()[:1],
        {"*": (ValueError, r"X has 1 sample \(shape \(1, 2\)\).*at least 2 samples")},
    ),
    "strings": (
        lambda: np.array([["1", "2"], ["3", "x"], ["5", "6"]]),
        {"*": (ValueError, r"non-numeric values.*'x' \(type str\) at row 1, column 1")},
    ),
    "object_array_with_string": (
        lambda: with_cell("oops", dtype=object),
        {"*": (ValueError, r"non-numeric values.*'oops'.*at row 3, column 1")},
    ),
    "object_array_with_dict": (
        lambda: with_cell({"a": 1}, dtype=object),
        {"*": (TypeError, r"non-numeric values.*\{'a': 1\}.*at row 3, column 1")},
    ),
    "complex": (
        lambda: good_X() + 1j,
        {"*": (ValueError, r"needs real numbers.*\(type complex\) at row 0, column 0")},
    ),
    "pandas_string_column": (
        lambda: frame(lambda n: ["x"] * n),
        {"*": (ValueError, r"'x' \(type str\) at row 0, column 1 \('b'\)")},
    ),
    "pandas_categorical_column": (
        lambda: frame(lambda n: pd.Categorical(["lo", "hi"] * (n // 2))),
        {"*": (ValueError, r"'lo' \(type str\) at row 0, column 1 \('b'\)")},
    ),
    "pandas_datetime_column": (
        lambda: frame(lambda n: pd.date_range("2024-01-01", periods=n)),
        {"*": (TypeError, r"Timestamp.*at row 0, column 1 \('b'\)")},
    ),
    "pandas_mixed_numeric_dtypes": (
        lambda: frame(lambda n: np.arange(n) % 7),  # float and int columns
        {"*": FITS},
    ),
    "sparse_matrix": (
        lambda: sp.csr_matrix(good_X()),
        {"*": (TypeError, r"Sparse data was passed for X.*\.toarray\(\)")},
    ),
    "negative_count": (
        lambda: with_cell(-1.0),
        {
            "PoissonMixture": (ValueError, r"Negative values.*X\[3, 1\] = -1\.0"),
            "CoinMixture": (ValueError, r"Negative values.*X\[3, 1\] = -1\.0"),
            "*": FITS,
        },
    ),
    "heads_above_n_trials": (
        lambda: with_cell(11.0),
        {
            "CoinMixture": (
                ValueError,
                r"X\[3, 1\] = 11\.0 heads at row 3, column 1 exceeds the 10\.0 tosses",
            ),
            "*": FITS,
        },
    ),
    "squares_overflow": (
        lambda: good_X() * 1e160,
        {
            "GaussianMixtureEM": (ValueError, r"X in column 0 span .*e\+16.*overflow"),
            **{
                i: (ValueError, r"X in column 0 span .*e\+16.*overflow")
                for i in IMPUTERS
            },
            "CoinMixture": (ValueError, r"X\[0, 0\] = 4e\+160 heads .* exceeds the 10"),
            "PoissonMixture": FITS,  # counts: no squares (tests/test_degenerate.py)
        },
    ),
    "squares_underflow": (
        lambda: good_X() * 1e-160,
        {
            **{
                i: (ValueError, r"X in column 0 span .*e-16.*underflow")
                for i in IMPUTERS
            },
            "*": FITS,  # the mixtures: see tests/test_degenerate.py
        },
    ),
    "more_components_than_samples": (
        lambda: np.array([[0.0, 1.0], [2.0, 5.0], [4.0, 3.0]]),
        {
            **{m: (ValueError, r"n_components = 5, n_samples = 3") for m in MIXTURES},
            **{i: FITS for i in IMPUTERS},
        },
    ),
    "more_components_than_distinct_rows": (
        lambda: np.repeat([[1.0, 2.0], [3.0, 4.0]], 10, axis=0),
        {
            **{
                m: (
                    ValueError,
                    r"n_components=5 is larger than the number of distinct rows of "
                    r"X \(2 among 20",
                )
                for m in MIXTURES
                if m != "GaussianMixtureEM"
            },
            # Fitted with a ConvergenceWarning, as scikit-learn fits it
            # (tests/test_sklearn_compat.py).
            "GaussianMixtureEM": FITS,
            **{i: FITS for i in IMPUTERS},
        },
    ),
}

#: Cases fitted with 5 components rather than 2.
FIVE_COMPONENTS = {"more_components_than_samples", "more_components_than_distinct_rows"}


def expected(case, name):
    table = CASES[case][1]
    return table.get(name, table.get("*"))


def never_fit(self, *args, **kwargs):
    raise AssertionError("the EM engine started although the input is invalid")


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_bad_input(case, name, monkeypatch):
    X = CASES[case][0]()
    before = X.copy() if hasattr(X, "copy") else X
    outcome = expected(case, name)
    kwargs = {"n_components": 5} if case in FIVE_COMPONENTS and name in MIXTURES else {}
    estimator = make(name, **kwargs)
    if outcome == FITS:
        estimator.fit(X)
        for key, value in vars(estimator).items():
            if key.endswith("_") and isinstance(value, np.ndarray):
                if value.dtype.kind == "f":
                    assert np.all(np.isfinite(value)), key
        return
    exception, pattern = outcome
    monkeypatch.setattr(EMMixin, "_fit_em", never_fit)
    with pytest.raises(exception, match=pattern):
        estimator.fit(X)
    if isinstance(before, np.ndarray) and before.dtype != object:
        np.testing.assert_array_equal(X, before)  # never modified, even on error


def test_table_covers_every_estimator_and_case():
    for case in CASES:
        for name in ESTIMATORS:
            assert expected(case, name) is not None, (case, name)


# ----------------------------------------------------- bad *_init arrays
# (estimator, keyword, bad value, regex naming the keyword and both shapes)
INIT_CASES = [
    (
        "GaussianMixtureEM",
        "weights_init",
        [1.0],
        r"'weights'.*\(2,\).*got \(1,\).*weights_init",
    ),
    (
        "GaussianMixtureEM",
        "means_init",
        np.zeros((2, 3)),
        r"'means'.*\(2, 2\).*got \(2, 3\).*means_init",
    ),
    (
        "GaussianMixtureEM",
        "precisions_init",
        np.ones((2, 2)),
        r"'full precision'.*\(2, 2, 2\).*got \(2, 2\).*precisions_init",
    ),
    (
        "GaussianMixtureEM",
        "means_init",
        [[0.0, "a"], [1.0, 1.0]],
        r"'means_init' must be a numeric array",
    ),
    (
        "GaussianMixtureEM",
        "means_init",
        [[0.0, np.nan], [1.0, 1.0]],
        "'means_init'.*NaN",
    ),
    (
        "PoissonMixture",
        "weights_init",
        [0.2, 0.3, 0.5],
        r"'weights'.*\(2,\).*weights_init",
    ),
    ("PoissonMixture", "rates_init", np.ones(2), r"'rates_init'.*\(2, 2\).*got \(2,\)"),
    (
        "CoinMixture",
        "weights_init",
        [[0.5, 0.5]],
        r"'weights'.*\(2,\).*\(1, 2\).*weights_init",
    ),
    (
        "CoinMixture",
        "probs_init",
        np.full((3, 2), 0.5),
        r"'probs_init'.*\(2, 2\).*got \(3, 2\)",
    ),
]


@pytest.mark.parametrize("name, keyword, value, pattern", INIT_CASES)
def test_wrong_init_arrays(name, keyword, value, pattern, monkeypatch):
    monkeypatch.setattr(EMMixin, "_fit_em", never_fit)
    estimator = make(name, **{keyword: value})
    with pytest.raises(ValueError, match=pattern):
        estimator.fit(good_X())


# ------------------------------------------------------ after fit
@pytest.mark.parametrize("name", ESTIMATORS)
def test_wrong_number_of_features_after_fit(name):
    estimator = make(name).fit(good_X())
    method = getattr(estimator, "predict", None) or estimator.transform
    with pytest.raises(
        ValueError, match=re.escape("X has 3 features, but") + ".*expecting 2"
    ):
        method(np.ones((4, 3)))


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("case", ["inf", "1d", "sparse_matrix", "strings"])
def test_bad_input_after_fit(name, case):
    estimator = make(name).fit(good_X())
    outcome = expected(case, name)
    exception, pattern = outcome
    for method in ("predict", "predict_proba", "score_samples", "transform"):
        if hasattr(estimator, method):
            with pytest.raises(exception, match=pattern):
                getattr(estimator, method)(CASES[case][0]())


# --------------------------------------------------------- sample_weight
WEIGHT_CASES = {
    "negative": (np.r_[1.0, -2.0, np.ones(28)], r"sample_weight\[1\] = -2\.0"),
    "nan": (np.r_[np.ones(5), np.nan, np.ones(24)], r"sample_weight\[5\] = nan"),
    "wrong_length": (np.ones(7), r"sample_weight .* got shape \(7,\) for X with 30"),
    "two_d": (np.ones((30, 1)), r"sample_weight .* got shape \(30, 1\)"),
    "all_zero": (np.zeros(30), r"sample_weight sums to zero"),
}


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("case", sorted(WEIGHT_CASES))
def test_bad_sample_weight(case, name, monkeypatch):
    weights, pattern = WEIGHT_CASES[case]
    monkeypatch.setattr(EMMixin, "_fit_em", never_fit)
    with pytest.raises(ValueError, match=pattern):
        make(name).fit(good_X(), sample_weight=weights)
