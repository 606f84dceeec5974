"""Bad input to every public estimator: one table of cases x estimators.

Each case is a function of the estimator's name returning ``(estimator, X)``
(or a fitted estimator and a method to call), and the table says what each
estimator must do with it: raise a given exception whose message matches a
pattern naming the argument and the offending value, row or column, or
``FITS`` where the input is valid for that estimator (NaN for the imputers,
negative values for the normal models, ...).

Errors at ``fit`` must come before any work starts: the EM engine's entry
point is replaced by a function that fails the test if it is ever reached.
They must also come first: a warning before an error is a test failure.
``DROPS_COLUMN`` is the imputers' answer to a column with no observed value
(as scikit-learn's imputers: not modelled, left out of ``transform``).
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix._em import EMMixin
from emmix.base import BaseMixture
from emmix.impute import MissingBivariateImputer, MultivariateNormalImputer
from emmix.model_selection import aic_scorer, bic_scorer

pd = pytest.importorskip("pandas")

FITS = "fits"
DROPS_COLUMN = "fits; the column without data is not modelled"
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


def with_empty_column():
    return np.column_stack([good_X(), np.full(30, np.nan)])


def masked(n_masked):
    """good_X as a masked array; masked entries hide a wild value (1e6)."""
    X = good_X()
    mask = np.zeros(X.shape, dtype=bool)
    mask[3 : 3 + n_masked, 1] = True
    X[mask] = 1e6
    return np.ma.masked_array(X, mask=mask)


#: Messages for data whose squares leave the floating-point range.
SQUARES_OVERFLOW = (ValueError, r"X in column 0 span .*overflow in float")


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
    # A column with nothing observed: a mixture would invent its parameters.
    "column_all_nan": (
        with_empty_column,
        {
            **{
                m: (ValueError, r"no observed value in column 2 .*np.delete\(X, 2")
                for m in MIXTURES
            },
            **{i: DROPS_COLUMN for i in IMPUTERS},
        },
    ),
    "pandas_column_all_nan": (
        lambda: frame(lambda n: np.full(n, np.nan)),
        {
            **{
                m: (ValueError, r"no observed value in column 1 \('b'\).*drop")
                for m in MIXTURES
            },
            **{i: DROPS_COLUMN for i in IMPUTERS},
        },
    ),
    # Masked entries are missing values, never their hidden data.
    "masked_entries": (lambda: masked(2), {"*": FITS}),
    "masked_array_without_masked_entries": (lambda: masked(0), {"*": FITS}),
    # Counts whose sums overflow: refused, not fitted into NaN.
    "counts_near_1e307": (
        lambda: good_X() * 1e306,
        {
            "PoissonMixture": (
                ValueError,
                r"largest value of X is [\d.]+e\+306 \(row \d+, column \d\).*Rescale",
            ),
            "CoinMixture": (ValueError, r"heads at row 0, column 0 exceeds the 10"),
            "*": SQUARES_OVERFLOW,
        },
    ),
    "counts_near_1e37_float32": (
        lambda: (good_X() * 1e36).astype(np.float32),
        {
            "PoissonMixture": (
                ValueError,
                r"largest value of X is [\d.]+e\+36 .*float32.*Rescale.*float64",
            ),
            "CoinMixture": (ValueError, r"heads at row 0, column 0 exceeds the 10"),
            "*": SQUARES_OVERFLOW,
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


# Data times 1e-160 fit the Gaussian mixture, which warns that reg_covar
# dominates (tested in test_gaussian_warns_when_reg_covar_dominates).
@pytest.mark.filterwarnings("ignore:The values of X in column 0:UserWarning")
@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_bad_input(case, name, monkeypatch):
    X = CASES[case][0]()
    before = X.copy() if hasattr(X, "copy") else X
    outcome = expected(case, name)
    kwargs = {"n_components": 5} if case in FIVE_COMPONENTS and name in MIXTURES else {}
    estimator = make(name, **kwargs)
    if outcome in (FITS, DROPS_COLUMN):
        estimator.fit(X)
        for key, value in vars(estimator).items():
            if key.endswith("_") and isinstance(value, np.ndarray):
                if value.dtype.kind == "f":
                    if outcome == DROPS_COLUMN:  # the last column is empty
                        square = value.ndim == 2 and value.shape[0] == X.shape[1]
                        value = value[:-1, :-1] if square else value[..., :-1]
                    assert np.all(np.isfinite(value)), key
        if outcome == DROPS_COLUMN:
            assert estimator.transform(X).shape == (X.shape[0], X.shape[1] - 1)
        assert_unchanged(X, before)
        return
    exception, pattern = outcome
    monkeypatch.setattr(EMMixin, "_fit_em", never_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error comes first, alone
        with pytest.raises(exception, match=pattern):
            estimator.fit(X)
    assert_unchanged(X, before)


def assert_unchanged(X, before):
    """The input is never modified (masked arrays: data and mask)."""
    if isinstance(before, np.ma.MaskedArray):
        np.testing.assert_array_equal(X.data, before.data)
        np.testing.assert_array_equal(np.ma.getmaskarray(X), np.ma.getmaskarray(before))
    elif isinstance(before, np.ndarray) and before.dtype != object:
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
# case -> (weights, exception, regex naming sample_weight and the value)
WEIGHT_CASES = {
    "negative": (
        np.r_[1.0, -2.0, np.ones(28)],
        ValueError,
        r"sample_weight\[1\] = -2\.0",
    ),
    "nan": (
        np.r_[np.ones(5), np.nan, np.ones(24)],
        ValueError,
        r"sample_weight\[5\] = nan",
    ),
    "inf": (
        np.r_[np.ones(5), np.inf, np.ones(24)],
        ValueError,
        r"sample_weight\[5\] = inf",
    ),
    "wrong_length": (
        np.ones(7),
        ValueError,
        r"sample_weight .* got shape \(7,\) for X with 30",
    ),
    "two_d": (np.ones((30, 1)), ValueError, r"sample_weight .* got shape \(30, 1\)"),
    "all_zero": (np.zeros(30), ValueError, r"sample_weight sums to zero"),
    "strings": (
        np.array(["1"] * 29 + ["x"]),
        ValueError,
        r"sample_weight must hold real numbers, but sample_weight\[0\] = .*'1'",
    ),
    "complex": (
        np.ones(30) + 1j,
        ValueError,
        r"sample_weight must hold real numbers.*complex",
    ),
    "object_with_dict": (
        np.array([1.0] * 29 + [{"a": 1}], dtype=object),
        TypeError,
        r"sample_weight\[29\] = \{'a': 1\} \(type dict\)",
    ),
    "masked": (
        np.ma.masked_array(np.ones(30), mask=np.r_[True, np.zeros(29, bool)]),
        ValueError,
        r"sample_weight is a masked array with masked entries",
    ),
}


@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("case", sorted(WEIGHT_CASES))
def test_bad_sample_weight(case, name, monkeypatch):
    weights, exception, pattern = WEIGHT_CASES[case]
    monkeypatch.setattr(EMMixin, "_fit_em", never_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error comes first, alone
        with pytest.raises(exception, match=pattern):
            make(name).fit(good_X(), sample_weight=weights)


# ------------------------------------------------- parameters of the wrong type
@pytest.mark.parametrize("name", ESTIMATORS)
@pytest.mark.parametrize("param", ["n_components", "max_iter", "n_init"])
def test_booleans_are_not_integers(name, param, monkeypatch):
    estimator = make(name)
    if param not in estimator.get_params():
        pytest.skip(f"{name} has no {param}")
    monkeypatch.setattr(EMMixin, "_fit_em", never_fit)
    estimator.set_params(**{param: True})
    pattern = rf"'{param}' parameter .*not a bool.*Got True"
    with pytest.raises(ValueError, match=pattern):
        estimator.fit(good_X())


def test_n_trials_true_is_refused():
    with pytest.raises(ValueError, match=r"'n_trials' parameter .*Got True"):
        CoinMixture(2, n_trials=True).fit(good_X())


@pytest.mark.parametrize("scorer", [bic_scorer, aic_scorer])
def test_criterion_scorers_need_a_mixture(scorer):
    imputer = MultivariateNormalImputer().fit(good_X())
    name = scorer.__name__
    with pytest.raises(TypeError, match=rf"{name} needs a fitted mixture.*Imputer"):
        scorer(imputer, good_X())


# --------------------------------------------- the model changed since a fit
@pytest.mark.parametrize("name", MIXTURES)
def test_warm_start_after_set_params_starts_afresh(name):
    X = good_X()
    estimator = make(name, warm_start=True).fit(X)
    estimator.set_params(n_components=3)
    with pytest.warns(
        UserWarning,
        match=r"warm_start=True, but n_components is 3 "
        r"where the fitted model has 2.*starts afresh",
    ):
        estimator.fit(X)
    assert estimator.weights_.shape == (3,)
    # The same fit as a fresh estimator's (same seed, same start).
    fresh = make(name, n_components=3).fit(X)
    np.testing.assert_allclose(estimator.weights_, fresh.weights_)
    # Without a change it continues, silently.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        estimator.fit(X)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_warm_start_on_other_columns_starts_afresh(name):
    X = good_X()
    wider = np.column_stack([X, X[::-1, 0]])
    estimator = make(name, warm_start=True).fit(X)
    with pytest.warns(UserWarning, match=r"warm_start=True, but .*starts afresh"):
        estimator.fit(wider)
    assert estimator.n_features_in_ == 3


def test_warm_start_after_covariance_type_change_starts_afresh():
    X = good_X()
    gm = make("GaussianMixtureEM", warm_start=True).fit(X)
    gm.set_params(covariance_type="diag")
    with pytest.warns(UserWarning, match=r"covariance_type is 'diag' where the "):
        gm.fit(X)
    assert gm.covariances_.shape == (2, 2)


@pytest.mark.parametrize("name", MIXTURES)
def test_partial_fit_after_set_params_says_what_changed(name, monkeypatch):
    X = good_X()
    estimator = make(name).partial_fit(X)
    monkeypatch.setattr(EMMixin, "_partial_fit_em", never_fit)
    estimator.set_params(n_components=3)
    with pytest.raises(
        ValueError,
        match=r"partial_fit continues the stream .* "
        r"n_components is 3 where the fitted model has 2.*fit\(X\)",
    ):
        estimator.partial_fit(X)
    estimator.set_params(n_components=2)
    with pytest.raises(ValueError, match=r"X has 3 features, but .* expecting 2"):
        estimator.partial_fit(np.column_stack([X, X[:, 0]]))


# ------------------------------------------------------------ masked arrays
@pytest.mark.parametrize("name", ESTIMATORS)
def test_masked_entries_are_missing_values(name):
    X = masked(3)
    nan = good_X()
    nan[3:6, 1] = np.nan
    a, b = make(name).fit(X), make(name).fit(nan)
    for key, value in vars(b).items():
        if key.endswith("_") and isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(a, key), value, err_msg=key)
    out = a.transform(X) if hasattr(a, "transform") else a.impute(X)
    np.testing.assert_array_equal(
        out, b.transform(nan) if hasattr(b, "transform") else b.impute(nan)
    )
    assert np.all(out < 1e6)  # the hidden values were never data


def test_imputer_masked_entries_take_its_marker():
    X = masked(3)
    marker = good_X()
    marker[3:6, 1] = -1.0
    a = MultivariateNormalImputer(missing_values=-1.0).fit(X)
    b = MultivariateNormalImputer(missing_values=-1.0).fit(marker)
    np.testing.assert_array_equal(a.mean_, b.mean_)
    np.testing.assert_array_equal(a.transform(X), b.transform(marker))


class Exponential(BaseMixture):
    """A family without missing-value support, written with public hooks."""

    _parameter_groups = ("rates",)

    def __init__(self, n_components=1, **params):
        super().__init__(n_components, **params)

    def _component_log_prob(self, X, params, cache=None):
        rates = params["rates"]
        return np.log(rates).sum(axis=1) - X @ rates.T

    def _component_stats(self, X, resp, params, cache=None):
        return {"sum_x": resp.T @ X}

    def _component_mstep(self, stats, params):
        return {"rates": stats["nk"][:, np.newaxis] / stats["sum_x"]}


def test_masked_entries_refused_without_missing_support(monkeypatch):
    X = masked(2) + 1.0
    monkeypatch.setattr(EMMixin, "_fit_em", never_fit)
    with pytest.raises(
        ValueError,
        match=r"masked array with 2 masked entries "
        r"\(the first at row 3, column 1\), but Exponential does not "
        r"support missing values",
    ):
        Exponential(2).fit(X)
    monkeypatch.undo()
    fitted = Exponential(2, random_state=0).fit(masked(0) + 1.0)  # nothing masked
    with pytest.raises(ValueError, match=r"masked array .* Exponential does not"):
        fitted.predict(X)


# --------------------------------------------------- imputers' own marker
def test_imputer_marker_is_not_data():
    X = good_X()
    marked = X.copy()
    marked[2, 1] = -1e300  # would span 1e300 if counted as a value
    nan = X.copy()
    nan[2, 1] = np.nan
    for cls in (MultivariateNormalImputer, MissingBivariateImputer):
        a = cls(missing_values=-1e300).fit(marked)
        b = cls().fit(nan)
        np.testing.assert_array_equal(a.mean_, b.mean_)
        np.testing.assert_array_equal(a.covariance_, b.covariance_)


# ------------------------------------------------------------- tiny scales
def test_gaussian_warns_when_reg_covar_dominates():
    X = good_X() * 1e-150
    with pytest.warns(
        UserWarning,
        match=r"column 0 .* below reg_covar=1e-06.*"
        r"Scale the data .*or lower reg_covar",
    ):
        GaussianMixtureEM(2, random_state=0).fit(X)
    # Scaled data, or reg_covar scaled with it: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianMixtureEM(2, random_state=0).fit(good_X())
        GaussianMixtureEM(2, reg_covar=1e-306, random_state=0).fit(X)
        # A constant column is not a scale problem.
        GaussianMixtureEM(2, random_state=0).fit(
            np.column_stack([good_X(), np.ones(30)])
        )


def test_dask_column_all_nan_is_refused(monkeypatch):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    monkeypatch.setattr(EMMixin, "_fit_em", never_fit)
    X = da.from_array(with_empty_column(), chunks=10)
    with dask.config.set(scheduler="synchronous"):
        for name in MIXTURES:
            with pytest.raises(ValueError, match=r"no observed value in column 2"):
                make(name).fit(X)
