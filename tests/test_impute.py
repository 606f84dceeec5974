"""Tests of emmix.impute: EM imputation of normal data with missing values.

Reference numbers come from computations that share no code with emmix: the
observed-data log-likelihood evaluated row by row with ``scipy.stats``, its
direct maximisation with ``scipy.optimize``, Anderson's (1957) closed form for
the monotone bivariate case, plain numpy sample moments, and the textbook
conditional-normal formulas solved row by row.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats
from sklearn import clone, config_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

import emmix
from emmix._em import iter_chunks
from emmix.datasets import make_missing_normal
from emmix.impute import MissingBivariateImputer, MultivariateNormalImputer
from emmix.impute._normal import _row_bytes, naive_regression_fill

# Tutorial case: means 1.85 and 1, sds 1 and 0.75, correlation 0.82.
TRUE_MEAN = np.array([1.85, 1.0])
TRUE_STD = np.array([1.0, 0.75])
TRUE_CORR = 0.82

TIGHT = {"tol": 0.0, "max_iter": 400, "reg_covar": 0.0}  # run to machine precision
no_convergence_warning = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


# ------------------------------------------------------------ references
def observed_loglik(X, mean, cov):
    """Observed-data log-likelihood, row by row with scipy.stats (reference)."""
    total = 0.0
    for row in X:
        obs = ~np.isnan(row)
        if obs.any():
            total += stats.multivariate_normal.logpdf(
                row[obs], mean[obs], cov[np.ix_(obs, obs)]
            )
    return total


def conditional_mean_rowwise(X, mean, cov):
    """E[x_m | x_o] for each row by the textbook formula (reference)."""
    out = X.copy()
    for i, row in enumerate(X):
        m = np.isnan(row)
        o = ~m
        if not m.any():
            continue
        if not o.any():
            out[i] = mean
            continue
        coef = np.linalg.solve(cov[np.ix_(o, o)], row[o] - mean[o])
        out[i, m] = mean[m] + cov[np.ix_(m, o)] @ coef
    return out


def anderson_monotone(X):
    """Closed-form MLE for (x, y) with x always observed, y sometimes missing."""
    x, y = X[:, 0], X[:, 1]
    cc = ~np.isnan(y)
    mean_x, var_x = x.mean(), x.var()
    xc, yc = x[cc], y[cc]
    slope = np.mean((xc - xc.mean()) * (yc - yc.mean())) / xc.var()
    intercept = yc.mean() - slope * xc.mean()
    resid_var = yc.var() - slope**2 * xc.var()
    mean = np.array([mean_x, intercept + slope * mean_x])
    cov_xy = slope * var_x
    cov = np.array([[var_x, cov_xy], [cov_xy, resid_var + slope**2 * var_x]])
    return mean, cov, resid_var


def mcar_data(n=200, d=4, rate=0.3, seed=0, corr=0.6):
    return make_missing_normal(
        n,
        mean=np.linspace(-1, 2, d),
        std=np.linspace(0.5, 2, d),
        correlation=corr,
        missing_rate=rate,
        pattern="mcar",
        random_state=seed,
    )


# ------------------------------------------------------- estimates are MLE
def test_mle_matches_direct_maximisation():
    """EM's estimates maximise the observed-data likelihood (scipy.optimize)."""
    X, _ = mcar_data(n=30, d=3, rate=0.3, seed=1)
    d = X.shape[1]
    tril = np.tril_indices(d)

    def unpack(theta):
        L = np.zeros((d, d))
        L[tril] = theta[d:]
        L[np.diag_indices(d)] = np.exp(L[np.diag_indices(d)])
        return theta[:d], L @ L.T

    def negloglik(theta):
        mean, cov = unpack(theta)
        return -observed_loglik(X, mean, cov)

    start_cov = np.diag(np.nanvar(X, axis=0))
    L0 = np.linalg.cholesky(start_cov)
    L0[np.diag_indices(d)] = np.log(np.diag(L0))
    theta0 = np.concatenate([np.nanmean(X, axis=0), L0[tril]])
    res = optimize.minimize(negloglik, theta0, method="BFGS", options={"gtol": 1e-9})
    mean_opt, cov_opt = unpack(res.x)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imp = MultivariateNormalImputer(**TIGHT).fit(X)
    assert_close = np.testing.assert_allclose
    assert_close(imp.mean_, mean_opt, atol=1e-4)
    assert_close(imp.covariance_, cov_opt, atol=1e-4)
    # EM's optimum is at least as good as the optimiser's.
    ll_em = observed_loglik(X, imp.mean_, imp.covariance_)
    assert ll_em >= -res.fun - 1e-9
    # score is the observed-data log-likelihood per sample.
    assert_close(imp.score(X), ll_em / len(X), rtol=1e-12)


@no_convergence_warning
def test_monotone_bivariate_matches_anderson_closed_form():
    X, _ = make_missing_normal(random_state=0)
    mean, cov, _ = anderson_monotone(X)
    imp = MissingBivariateImputer(**TIGHT).fit(X)
    np.testing.assert_allclose(imp.mean_, mean, rtol=1e-12)
    np.testing.assert_allclose(imp.covariance_, cov, rtol=1e-12)
    np.testing.assert_allclose(imp.std_, np.sqrt(np.diag(cov)), rtol=1e-12)
    np.testing.assert_allclose(
        imp.correlation_[0, 1], cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]), rtol=1e-12
    )


def test_no_missing_gives_sample_moments():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) @ rng.normal(size=(3, 3)) + [10.0, -3.0, 0.5]
    imp = MultivariateNormalImputer(reg_covar=0.0).fit(X)
    np.testing.assert_allclose(imp.mean_, X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(
        imp.covariance_, np.cov(X, rowvar=False, bias=True), rtol=1e-12
    )
    # Iteration 1 scores the start, 2 the MLE (reached in one M-step), 3 the
    # MLE again: no change, converged.
    assert imp.converged_ and imp.n_iter_ == 3
    w = rng.uniform(0.1, 2.0, size=len(X))
    imp = MultivariateNormalImputer(reg_covar=0.0).fit(X, sample_weight=w)
    np.testing.assert_allclose(imp.mean_, np.average(X, axis=0, weights=w))
    np.testing.assert_allclose(
        imp.covariance_, np.cov(X, rowvar=False, aweights=w, bias=True), rtol=1e-12
    )


def test_default_reg_covar_is_relative_and_tiny():
    """reg_covar adds reg_covar * observed variance to each diagonal entry."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2)) * [1e-3, 1e3]
    imp = MultivariateNormalImputer(reg_covar=0.5).fit(X)
    expected = np.cov(X, rowvar=False, bias=True)
    expected[np.diag_indices(2)] *= 1.5
    np.testing.assert_allclose(imp.covariance_, expected, rtol=1e-12)


def test_em_fixed_point_identities():
    """At convergence mu = mean of E[x] and Sigma = mean of E[(x-mu)(x-mu)^T]."""
    X, _ = mcar_data(n=100, d=3, rate=0.4, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imp = MultivariateNormalImputer(**TIGHT).fit(X)
    filled = imp.transform(X)
    np.testing.assert_allclose(filled.mean(axis=0), imp.mean_, atol=1e-12)
    # Conditional covariances, row by row (reference formula).
    second = np.zeros((3, 3))
    for row, full in zip(X, filled, strict=True):
        m = np.isnan(row)
        o = ~m
        c = full - imp.mean_
        second += np.outer(c, c)
        if m.any():
            S = imp.covariance_
            second[np.ix_(m, m)] += S[np.ix_(m, m)] - S[np.ix_(m, o)] @ np.linalg.solve(
                S[np.ix_(o, o)], S[np.ix_(o, m)]
            )
    np.testing.assert_allclose(second / len(X), imp.covariance_, atol=1e-12)


# ----------------------------------------------------------- invariants
@pytest.mark.parametrize("reg_covar", [0.0, 1e-6, 0.1])
def test_log_likelihood_never_decreases(reg_covar):
    X, _ = mcar_data(n=150, d=5, rate=0.5, seed=2, corr=0.8)
    w = np.random.default_rng(0).uniform(0.2, 3, size=len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imp = MultivariateNormalImputer(tol=0, max_iter=60, reg_covar=reg_covar)
        imp.fit(X, sample_weight=w)
    bounds = np.array(imp.lower_bounds_)
    assert len(bounds) == 60
    # Rounding of a sum over rows allows ~1e-15 relative wobble at the plateau.
    assert np.all(np.diff(bounds) >= -1e-12), np.diff(bounds).min()
    assert bounds[-1] - bounds[0] > 0.1  # it did climb


def test_lower_bound_is_observed_loglik_without_regularisation():
    X, _ = mcar_data(n=60, d=3, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imp = MultivariateNormalImputer(reg_covar=0.0, max_iter=1).fit(X)
    # lower_bounds_[0] is the log-likelihood of the start (observed means and
    # variances, no correlation).
    start_cov = np.diag(np.nanvar(X, axis=0))
    # Per sample over the rows with an observed value (the others carry none).
    n_informative = np.sum(~np.isnan(X).all(axis=1))
    assert n_informative < len(X)
    ref = observed_loglik(X, np.nanmean(X, axis=0), start_cov) / n_informative
    np.testing.assert_allclose(imp.lower_bounds_[0], ref, rtol=1e-12)


def test_chunked_equals_one_shot():
    X, _ = mcar_data(n=300, d=4, seed=5)
    one = MultivariateNormalImputer().fit(X)
    with config_context(working_memory=0.0005):
        # Make sure the setting does split this data into several chunks.
        assert len(list(iter_chunks(len(X), _row_bytes(4, 4)))) > 5
        chunked = MultivariateNormalImputer().fit(X)
        Xt_chunked = chunked.transform(X)
        score_chunked = chunked.score(X)
    assert chunked.n_iter_ == one.n_iter_
    np.testing.assert_allclose(chunked.lower_bounds_, one.lower_bounds_, rtol=1e-13)
    np.testing.assert_allclose(chunked.covariance_, one.covariance_, rtol=1e-12)
    np.testing.assert_allclose(Xt_chunked, one.transform(X), rtol=1e-12)
    np.testing.assert_allclose(score_chunked, one.score(X), rtol=1e-13)


def test_statistics_of_split_rows_add_up():
    """E-step statistics of X[:k] plus X[k:] equal those of X (pomegranate's test)."""
    X, _ = mcar_data(n=50, d=3, seed=16)
    imp = MultivariateNormalImputer(max_iter=2, tol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imp.fit(X)
    informative = ~np.isnan(X).all(axis=1)
    Xi, w = X[informative], np.linspace(0.5, 2, informative.sum())
    whole, ll = imp._em_estep(Xi, w, imp._params)
    first, ll1 = imp._em_estep(Xi[:7], w[:7], imp._params)
    second, ll2 = imp._em_estep(Xi[7:], w[7:], imp._params)
    np.testing.assert_allclose(ll1 + ll2, ll, rtol=1e-13)
    for key in whole:
        np.testing.assert_allclose(first[key] + second[key], whole[key], rtol=1e-12)


def test_integer_weights_equal_repeated_rows():
    X, _ = mcar_data(n=80, d=3, seed=6)
    w = np.random.default_rng(1).integers(0, 4, size=len(X))
    weighted = MultivariateNormalImputer().fit(X, sample_weight=w)
    repeated = MultivariateNormalImputer().fit(np.repeat(X, w, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_allclose(weighted.mean_, repeated.mean_, rtol=1e-12)
    np.testing.assert_allclose(weighted.covariance_, repeated.covariance_, rtol=1e-11)
    np.testing.assert_allclose(
        weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-12
    )


def test_transform_keeps_observed_values_and_input():
    X, _ = mcar_data(n=100, d=4, seed=7)
    X_before = X.copy()
    imp = MultivariateNormalImputer().fit(X)
    Xt = imp.transform(X)
    np.testing.assert_array_equal(X, X_before)  # input untouched
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(Xt[observed], X[observed])  # bit-exact
    assert not np.isnan(Xt).any()
    np.testing.assert_allclose(
        Xt, conditional_mean_rowwise(X, imp.mean_, imp.covariance_), rtol=1e-10
    )
    # Far from the origin observed values still come back bit-exact.
    Xt_far = MultivariateNormalImputer().fit_transform(X + 1e9)
    np.testing.assert_array_equal(Xt_far[observed], (X + 1e9)[observed])


def test_far_from_origin_keeps_precision():
    X, _ = mcar_data(n=200, d=3, seed=8)
    near = MultivariateNormalImputer(tol=1e-10).fit(X)
    far = MultivariateNormalImputer(tol=1e-10).fit(X + 1e6)
    np.testing.assert_allclose(far.covariance_, near.covariance_, rtol=1e-7)
    np.testing.assert_allclose(far.mean_ - 1e6, near.mean_, atol=1e-8)


def test_float32_stays_float32():
    X, _ = mcar_data(n=50, d=3, seed=9)
    X32 = X.astype(np.float32)
    imp = MultivariateNormalImputer().fit(X32)
    assert imp.transform(X32).dtype == np.float32
    np.testing.assert_allclose(
        imp.transform(X32), MultivariateNormalImputer().fit_transform(X), rtol=1e-4
    )


def test_numeric_missing_marker():
    X, _ = mcar_data(n=60, d=3, seed=10)
    X_marked = np.where(np.isnan(X), -1.0, X)
    a = MultivariateNormalImputer(missing_values=-1).fit(X_marked)
    b = MultivariateNormalImputer().fit(X)
    np.testing.assert_allclose(a.transform(X_marked), b.transform(X))
    assert not a.__sklearn_tags__().input_tags.allow_nan
    with pytest.raises(ValueError, match=r"contains NaN at row .*missing_values=-1"):
        a.fit(X)


# ------------------------------------------------------- sklearn plumbing
def test_pipeline_and_grid_search():
    rng = np.random.default_rng(0)
    X_full = rng.normal(size=(120, 4)) @ rng.normal(size=(4, 4))
    y = X_full @ [1.0, -2.0, 0.5, 3.0] + rng.normal(scale=0.1, size=120)
    X = X_full.copy()
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    pipe = make_pipeline(MultivariateNormalImputer(), LinearRegression())
    scores = cross_val_score(pipe, X, y, cv=3)
    # Conditional means use the correlation between columns, the column means
    # do not: EM imputation predicts y better.
    mean_pipe = make_pipeline(SimpleImputer(), LinearRegression())
    assert np.mean(scores) > np.mean(cross_val_score(mean_pipe, X, y, cv=3)) + 0.05
    search = GridSearchCV(
        pipe, {"multivariatenormalimputer__reg_covar": [1e-6, 1e-1]}, cv=3
    ).fit(X, y)
    assert search.best_score_ > 0.5
    # Alone, the imputer is scored by held-out log-likelihood.
    search = GridSearchCV(MultivariateNormalImputer(), {"reg_covar": [1e-6, 10.0]})
    search.fit(X)
    assert search.best_params_ == {"reg_covar": 1e-6}


def test_pandas_names_indicator_and_empty_features():
    X, _ = mcar_data(n=60, d=3, seed=11)
    X[:, 1] = np.nan  # an empty column
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    imp = MultivariateNormalImputer(add_indicator=True).set_output(transform="pandas")
    out = imp.fit_transform(df)
    assert list(out.columns) == [
        "a",
        "c",
        "missingindicator_a",
        "missingindicator_b",
        "missingindicator_c",
    ]
    assert imp.feature_names_in_.tolist() == ["a", "b", "c"]
    assert np.isnan(imp.mean_[1]) and np.isnan(imp.covariance_[1]).all()
    np.testing.assert_array_equal(out["missingindicator_a"], np.isnan(X[:, 0]))
    keep = MultivariateNormalImputer(keep_empty_features=True).fit(df)
    Xt = keep.transform(df)
    assert Xt.shape == (60, 3) and np.all(Xt[:, 1] == 0.0)
    assert keep.get_feature_names_out().tolist() == ["a", "b", "c"]
    X_new = X[:2].copy()
    X_new[0, 1] = 5.0  # observed now: kept, as scikit-learn's imputers do
    Xt_new = keep.transform(pd.DataFrame(X_new, columns=df.columns))
    np.testing.assert_array_equal(Xt_new[:, 1], [5.0, 0.0])
    # The modelled columns are imputed as without the empty column.
    alone = MultivariateNormalImputer().fit(X[:, [0, 2]])
    np.testing.assert_allclose(Xt[:, [0, 2]], alone.transform(X[:, [0, 2]]))


def test_all_missing_rows_are_imputed_with_the_mean_and_do_not_change_the_fit():
    X, _ = mcar_data(n=80, d=3, seed=12)
    X_more = np.vstack([X, np.full((5, 3), np.nan)])
    a = MultivariateNormalImputer().fit(X)
    b = MultivariateNormalImputer().fit(X_more)
    np.testing.assert_allclose(b.covariance_, a.covariance_)
    np.testing.assert_allclose(b.transform(X_more)[-5:], np.tile(a.mean_, (5, 1)))
    assert b.score_samples(X_more)[-1] == 0.0


def test_warm_start_continues():
    X, _ = mcar_data(n=100, d=3, rate=0.4, seed=13)
    imp = MultivariateNormalImputer(warm_start=True, tol=1e-8).fit(X)
    first = imp.n_iter_
    imp.fit(X)
    assert first > 3 and imp.n_iter_ <= 2
    with pytest.warns(UserWarning, match="starts afresh"):
        imp.fit(X[:, :2])  # other columns: a fresh start, no error
    assert imp.mean_.shape == (2,)


def test_sample_posterior_draws_from_the_conditional():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 0.6, 0.3], [0.6, 2.0, 0.5], [0.3, 0.5, 1.5]])
    X = rng.multivariate_normal([0, 1, 2], cov, size=500)
    X[::3, 1:] = np.nan
    imp = MultivariateNormalImputer(sample_posterior=True, random_state=0).fit(X)
    # Many copies of one row with x0 = 1 observed: draws of (x1, x2) | x0.
    rows = np.tile([[1.0, np.nan, np.nan]], (20000, 1))
    draws = imp.transform(rows)
    assert np.all(draws[:, 0] == 1.0)
    S, mu = imp.covariance_, imp.mean_
    cond_mean = mu[1:] + S[1:, :1] @ np.linalg.solve(S[:1, :1], [1.0 - mu[0]])
    cond_cov = S[1:, 1:] - S[1:, :1] @ np.linalg.solve(S[:1, :1], S[:1, 1:])
    se = np.sqrt(np.diag(cond_cov) / len(rows))
    assert np.all(np.abs(draws[:, 1:].mean(axis=0) - cond_mean) < 5 * se)
    # Standard error of a sample covariance: sqrt((s_ii s_jj + s_ij^2) / n).
    d = np.diag(cond_cov)
    se_cov = np.sqrt((np.outer(d, d) + cond_cov**2) / len(rows))
    assert np.all(np.abs(np.cov(draws[:, 1:], rowvar=False) - cond_cov) < 5 * se_cov)
    # An integer seed gives the same draws on each call; the mean is not drawn.
    np.testing.assert_array_equal(imp.transform(rows[:10]), imp.transform(rows[:10]))
    plain = clone(imp).set_params(sample_posterior=False).fit(X).transform(rows[:1])
    np.testing.assert_allclose(plain[0, 1:], cond_mean)


# ------------------------------------------------------------- errors
def test_errors_name_the_problem():
    X, _ = mcar_data(n=30, d=3, seed=14)
    imp = MultivariateNormalImputer()
    X_inf = X.copy()
    X_inf[4, 2] = np.inf
    with pytest.raises(ValueError, match=r"infinity at row 4, column 2"):
        imp.fit(X_inf)
    X_obj = X.astype(object)
    X_obj[3, 1] = "abc"
    with pytest.raises(ValueError, match=r"non-numeric.*'abc'.*row 3, column 1"):
        imp.fit(X_obj)
    with pytest.raises(ValueError, match="Every entry of X is missing"):
        imp.fit(np.full((5, 2), np.nan))
    X_const = X.copy()
    X_const[:, 1] = 7.0
    X_const[::4, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"column 1 has 22 observed values and they are all equal.*Drop",
    ):
        imp.fit(X_const)
    X_single = X.copy()
    X_single[1:, 2] = np.nan
    X_single[0, 2] = 1.0
    with pytest.raises(ValueError, match=r"column 2 has 1 observed value"):
        imp.fit(X_single)
    X_dup = np.hstack([X, 2.0 * X[:, :1] + 1.0])
    with pytest.raises(
        ValueError, match=r"column 3 is \(numerically\) a linear.*reg_covar"
    ):
        MultivariateNormalImputer(reg_covar=0.0).fit(X_dup)
    MultivariateNormalImputer().fit(X_dup)  # the default regularisation copes
    df = pd.DataFrame(X_dup, columns=["a", "b", "c", "twice_a"])
    with pytest.raises(ValueError, match=r"column 3 \('twice_a'\)"):
        MultivariateNormalImputer(reg_covar=0.0).fit(df)
    with pytest.raises(ValueError, match="sample_weight 0"):
        imp.fit(np.vstack([X, [[np.nan] * 3]]), sample_weight=[0.0] * 30 + [1.0])
    with pytest.raises(ValueError, match="1 sample"):
        imp.fit(X[:1])


def test_unidentified_pair_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[:20, 1] = np.nan
    X[20:, 2] = np.nan
    with pytest.warns(UserWarning, match="column 1 and column 2 are never observed"):
        MultivariateNormalImputer().fit(X)


def test_bivariate_correlation_matrix_any_width():
    X, _ = mcar_data(n=30, d=3, seed=15)
    imp = MissingBivariateImputer().fit(X)
    cov = imp.covariance_
    expected = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    np.testing.assert_allclose(imp.correlation_, expected, rtol=1e-12)
    np.testing.assert_allclose(np.diag(imp.correlation_), 1.0)
    with pytest.raises(ValueError, match="features"):
        imp.transform(X[:, :2])


def test_bivariate_is_the_two_column_case():
    """The invariants scikit-learn's checks would test, on two-column data."""
    X, _ = make_missing_normal(60, pattern="mcar", missing_rate=0.2, random_state=1)
    biv = MissingBivariateImputer().fit(X)
    mvn = MultivariateNormalImputer().fit(X)
    np.testing.assert_array_equal(biv.covariance_, mvn.covariance_)
    np.testing.assert_array_equal(biv.transform(X), mvn.transform(X))
    np.testing.assert_allclose(biv.std_**2, np.diag(biv.covariance_))
    # idempotent fit, clone, pickle, row-order and subset invariance, dtypes
    np.testing.assert_array_equal(clone(biv).fit(X).transform(X), biv.transform(X))
    restored = pickle.loads(pickle.dumps(biv))
    np.testing.assert_array_equal(restored.transform(X), biv.transform(X))
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(biv.transform(X[perm]), biv.transform(X)[perm])
    np.testing.assert_allclose(biv.transform(X[:7]), biv.transform(X)[:7])
    assert biv.transform(X.astype(np.float32)).dtype == np.float32
    assert biv.n_iter_ >= 1 and biv.n_features_in_ == 2


# ------------------------------------------------- the tutorial's bias
def test_naive_fill_in_is_biased_and_em_is_not():
    # One dataset: EM adds the residual variance of every filled value, which
    # the naive fill-in leaves out (exact algebra, Anderson's closed form).
    X, _ = make_missing_normal(random_state=0)
    em = MissingBivariateImputer(**TIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em.fit(X)
    naive = naive_regression_fill(X)
    _, _, resid_var = anderson_monotone(X)
    np.testing.assert_allclose(naive["mean"], em.mean_, rtol=1e-12)
    np.testing.assert_allclose(
        em.covariance_[1, 1] - naive["covariance"][1, 1], 0.5 * resid_var, rtol=1e-10
    )
    assert naive["correlation"] > em.correlation_[0, 1]

    # Large sample: EM recovers the population values, the naive fill-in
    # gives var(y) * (1 - p (1 - rho^2)) with p = 1/2 the missing fraction.
    X, _ = make_missing_normal(20000, random_state=1)
    em = MissingBivariateImputer().fit(X)
    naive = naive_regression_fill(X)
    shrink = 1 - 0.5 * (1 - TRUE_CORR**2)
    np.testing.assert_allclose(em.std_, TRUE_STD, rtol=0.02)
    np.testing.assert_allclose(em.correlation_[0, 1], TRUE_CORR, atol=0.01)
    np.testing.assert_allclose(
        naive["covariance"][1, 1], TRUE_STD[1] ** 2 * shrink, rtol=0.03
    )
    np.testing.assert_allclose(
        naive["correlation"], TRUE_CORR / np.sqrt(shrink), atol=0.01
    )
    assert naive["correlation"] > TRUE_CORR + 0.05


# --------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(8, 40),
    d=st.integers(1, 4),
    rate=st.floats(0.0, 0.4),
)
def test_property_imputation_is_the_conditional_mean(seed, n, d, rate):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d)) + 2 * np.eye(d)
    X = rng.normal(size=(n, d)) @ A + rng.normal(scale=5, size=d)
    X[rng.uniform(size=X.shape) < rate] = np.nan
    observed = ~np.isnan(X)
    # Columns need two distinct observed values (else a clear ValueError).
    if np.any(observed.sum(axis=0) < 2):
        with pytest.raises(ValueError):
            MultivariateNormalImputer().fit(X)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence / unidentified pairs
        imp = MultivariateNormalImputer(max_iter=30).fit(X)
    Xt = imp.transform(X)
    np.testing.assert_array_equal(Xt[observed], X[observed])
    np.testing.assert_allclose(
        Xt,
        conditional_mean_rowwise(X, imp.mean_, imp.covariance_),
        rtol=1e-7,
        atol=1e-7,
    )
    assert np.all(np.diff(imp.lower_bounds_) >= -1e-10)
    np.testing.assert_allclose(
        imp.score(X) * n, observed_loglik(X, imp.mean_, imp.covariance_), rtol=1e-9
    )


def test_dataset_generator():
    X, X_full = make_missing_normal(random_state=0)
    assert X.shape == (40, 2)
    assert np.isnan(X[20:, 1]).all() and not np.isnan(X[:20]).any()
    np.testing.assert_array_equal(X[:20], X_full[:20])
    X, X_full = make_missing_normal(
        5000,
        mean=[0, 0, 0],
        std=[1, 2, 3],
        correlation=0.5,
        pattern="mcar",
        missing_rate=0.25,
        random_state=0,
    )
    assert abs(np.isnan(X).mean() - 0.25) < 0.02
    np.testing.assert_allclose(np.corrcoef(X_full.T)[0, 2], 0.5, atol=0.05)
    with pytest.raises(ValueError, match="positive definite"):
        make_missing_normal(correlation=1.5)


def test_exported():
    assert emmix.MultivariateNormalImputer is MultivariateNormalImputer
    assert "MissingBivariateImputer" in emmix.__all__
