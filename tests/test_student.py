"""StudentTMixture against scipy, direct optimisation and the Gaussian limit."""

import doctest
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats
from scipy.special import digamma, gammaln, logsumexp
from sklearn.exceptions import ConvergenceWarning

import emmix
from emmix import GaussianMixtureEM, StudentTMixture
from emmix._conditional_gaussian import missing_patterns
from emmix.datasets import make_t_mixture
from emmix.mixture._student import (
    distinct_patterns,
    log_gamma_ratio,
    log_minus_digamma,
    t_missing_log_prob,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
MEANS3 = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])


# ------------------------------------------------------------------ helpers
def full_scales(covariances, covariance_type, k, d):
    """Scale matrices as (k, d, d), written out independently of emmix."""
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return c
    if covariance_type == "tied":
        return np.stack([c] * k)
    if covariance_type == "diag":
        return np.stack([np.diag(row) for row in c])
    return np.stack([v * np.eye(d) for v in c])


def scipy_log_joint(X, weights, means, scales, dofs):
    """``log pi_k + log t_k(x)`` with scipy.stats.multivariate_t, shape (n, k)."""
    return np.stack(
        [
            np.log(w) + stats.multivariate_t(m, s, df=nu).logpdf(X).reshape(-1)
            for w, m, s, nu in zip(weights, means, scales, dofs, strict=True)
        ],
        axis=1,
    )


def model_log_joint(model, X):
    k, d = model.means_.shape
    scales = full_scales(model.covariances_, model.covariance_type, k, d)
    return scipy_log_joint(X, model.weights_, model.means_, scales, model.dofs_)


def precisions_for(covariance_type, k, d, scale=1.0):
    return {
        "full": np.stack([np.eye(d) / scale] * k),
        "tied": np.eye(d) / scale,
        "diag": np.full((k, d), 1.0 / scale),
        "spherical": np.full(k, 1.0 / scale),
    }[covariance_type]


def rough_start(X, covariance_type, k=3, random_state=1):
    """An explicit, deliberately rough start shared by the fits compared."""
    rng = np.random.RandomState(random_state)
    d = X.shape[1]
    return {
        "weights_init": np.full(k, 1.0 / k),
        "means_init": X[rng.choice(len(X), k, replace=False)],
        "precisions_init": precisions_for(covariance_type, k, d, X.var(0).mean()),
    }


def fit_quiet(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


def t_data(n=600, d=3, random_state=0, dofs=(3.0, 5.0, 8.0)):
    rng = np.random.RandomState(random_state)
    means = rng.normal(scale=4.0, size=(3, d))
    scales = []
    for _ in range(3):
        A = rng.normal(size=(d, d)) * 0.5 + np.eye(d)
        scales.append(A @ A.T)
    return make_t_mixture(
        n, means, np.array(scales), dofs=dofs, random_state=random_state
    )


def match(found, truth):
    """Index of the fitted component nearest to each true location."""
    return [int(np.argmin(((found - mu) ** 2).sum(axis=1))) for mu in truth]


# ------------------------------------------------------------ log-densities
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_equals_scipy_multivariate_t(covariance_type):
    X, _ = t_data()
    model = fit_quiet(
        StudentTMixture(3, covariance_type=covariance_type, random_state=0), X
    )
    assert not np.allclose(model.dofs_, model.dofs_[0])  # per component
    reference = logsumexp(model_log_joint(model, X), axis=1)
    assert_allclose(model.score_samples(X), reference, rtol=1e-10)
    resp = np.exp(model_log_joint(model, X) - reference[:, np.newaxis])
    assert_allclose(model.predict_proba(X), resp, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dof", [0.7, 2.0, 30.0, 1e4])
def test_score_samples_fixed_dof_equals_scipy(dof):
    X, _ = t_data(n=300, d=2, random_state=4)
    model = fit_quiet(StudentTMixture(2, dof=dof, max_iter=5, random_state=0), X)
    assert_allclose(model.dofs_, dof)
    reference = logsumexp(model_log_joint(model, X), axis=1)
    assert_allclose(model.score_samples(X), reference, rtol=1e-10)


def test_special_function_series_match_exact_identities():
    y = np.array([0.01, 0.7, 3.0, 40.0, 99.0, 99.6, 100.0, 100.5, 150.0, 400.0, 1e5])
    # Integer a: Gamma(y + n) / Gamma(y) = y (y + 1) ... (y + n - 1), exactly.
    # (Below the switch the gammaln difference itself is good to about
    # eps * y log y, 1e-13 at y = 100.)
    for n in (1, 2, 8, 32):
        exact = np.sum([np.log1p(j / y) for j in range(n)], axis=0)
        assert_allclose(log_gamma_ratio(y, n), exact, rtol=1e-12, atol=1e-13)
    # Half-integer a (odd d), through Gamma(z + 1) = z Gamma(z), across the
    # switch to the series at y = 100.
    for a in (0.5, 1.5, 7.5):
        step = log_gamma_ratio(y, a + 1) - log_gamma_ratio(y, a)
        assert_allclose(step, np.log1p(a / y), rtol=1e-11, atol=1e-13)
        shift = log_gamma_ratio(y + 1, a) - log_gamma_ratio(y, a)
        exact = np.log1p(a / y) - a * np.log1p(1 / y)
        assert_allclose(shift, exact, rtol=1e-9, atol=1e-13)
    # psi(y + 1) = psi(y) + 1 / y, across the switch too.
    step = log_minus_digamma(y + 1) - log_minus_digamma(y)
    assert_allclose(step, np.log1p(1 / y) - 1 / y, rtol=1e-9, atol=1e-15)
    assert_allclose(
        log_minus_digamma(y[y <= 100]), np.log(y[y <= 100]) - digamma(y[y <= 100])
    )
    # Large arguments: the leading terms a(a-1)/(2y) and 1/(2y).
    big = np.array([1e6, 1e9])
    assert_allclose(log_gamma_ratio(big, 1.5), 1.5 * 0.5 / (2 * big), rtol=1e-5)
    assert_allclose(log_minus_digamma(big), 0.5 / big, rtol=1e-5)


# --------------------------------------------------------------- recovery
def test_recovers_t_mixture():
    X, _ = make_t_mixture(
        3000, MEANS3, dofs=4.0, weights=[0.5, 0.3, 0.2], random_state=0
    )
    model = StudentTMixture(3, tol=1e-6, max_iter=500, random_state=0).fit(X)
    order = match(model.means_, MEANS3)
    assert sorted(order) == [0, 1, 2]
    assert_allclose(model.means_[order], MEANS3, atol=0.1)
    assert_allclose(model.weights_[order], [0.5, 0.3, 0.2], atol=0.03)
    assert np.all((model.dofs_ > 3.0) & (model.dofs_ < 6.0)), model.dofs_
    for k in order:
        assert_allclose(model.covariances_[k], np.eye(2), atol=0.15)
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12)


def test_means_robust_to_outliers_where_gaussian_moves():
    rng = np.random.RandomState(1)
    X, _ = make_t_mixture(950, MEANS3, dofs=4.0, random_state=1)
    X = np.vstack([X, rng.uniform(-60, 60, size=(50, 2))])  # 5% far outliers
    start = {
        "weights_init": np.full(3, 1 / 3),
        "means_init": MEANS3,
        "precisions_init": precisions_for("full", 3, 2),
    }
    t = StudentTMixture(3, max_iter=500, **start).fit(X)
    gauss = GaussianMixtureEM(3, max_iter=500, **start).fit(X)
    t_error = np.abs(t.means_[match(t.means_, MEANS3)] - MEANS3).max()
    gauss_error = np.abs(gauss.means_[match(gauss.means_, MEANS3)] - MEANS3).max()
    assert t_error < 0.3, t_error
    assert gauss_error > 1.0, gauss_error


# -------------------------------------------------------------- the start
def test_profiled_start_dof_is_the_t_mle_at_a_fixed_location():
    from emmix.mixture._student import profile_dofs

    x = stats.t(df=3.0, loc=1.0, scale=2.0).rvs(size=2000, random_state=0)
    # scipy's maximum-likelihood t with the location held at 1.
    df, _, _ = stats.t.fit(x, floc=1.0)
    variance = x.var()
    delta = ((x - 1.0) ** 2 / variance)[:, np.newaxis]
    found = profile_dofs(delta, np.ones((len(x), 1)), 1, shared=False)
    assert_allclose(found, [df], rtol=1e-4)


@pytest.mark.parametrize("dofs, low, high", [(3.0, 2.0, 5.0), (1e6, 30.0, 1e6)])
def test_start_dof_comes_from_the_data(dofs, low, high):
    X, _ = make_t_mixture(3000, MEANS3, dofs=dofs, random_state=18)
    model = fit_quiet(
        StudentTMixture(
            3,
            max_iter=0,
            weights_init=np.full(3, 1 / 3),
            means_init=MEANS3,
            precisions_init=precisions_for("full", 3, 2),
        ),
        X,
    )
    assert np.all((model.dofs_ >= low) & (model.dofs_ <= high)), model.dofs_


# ----------------------------------------------------------- the M-step
def one_em_step(X, covariance_type, dof, start, **kwargs):
    """Parameters after exactly one E- and M-step from ``start``."""
    model = StudentTMixture(
        len(start["weights_init"]),
        covariance_type=covariance_type,
        dof=dof,
        max_iter=1,
        tol=0.0,
        reg_covar=0.0,
        accelerate=None,
        **start,
        **kwargs,
    )
    return fit_quiet(model, X)


def estep_by_hand(X, weights, means, scales, dofs):
    """r, u and E[log u] of every row and component, straight from the formulas."""
    d = X.shape[1]
    log_joint = scipy_log_joint(X, weights, means, scales, dofs)
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    delta = np.stack(
        [
            np.einsum("ni,ij,nj->n", X - m, np.linalg.inv(s), X - m)
            for m, s in zip(means, scales, strict=True)
        ],
        axis=1,
    )
    u = (dofs + d) / (dofs + delta)
    elog_u = digamma((dofs + d) / 2) - np.log((dofs + delta) / 2)
    return resp, u, elog_u


def expected_complete_loglik_dof(nu, resp, u, elog_u):
    """The terms of Q that depend on nu: sum_i r_i E[log Gamma(u; nu/2, nu/2)]."""
    half = nu / 2
    per_row = half * np.log(half) - gammaln(half) + (half - 1) * elog_u - half * u
    return np.sum(resp * per_row)


@pytest.mark.parametrize("dof", ["per_component", "shared"])
def test_dof_mstep_maximises_expected_complete_loglik(dof):
    X, _ = t_data(n=400, d=2, random_state=2)
    k = 3
    start = rough_start(X, "full", k)
    dofs0 = np.array([4.0, 4.0, 4.0]) if dof == "shared" else np.array([2.0, 7.0, 20.0])
    model = one_em_step(X, "full", dof, {**start, "dofs_init": dofs0})
    scales0 = np.linalg.inv(start["precisions_init"])
    resp, u, elog_u = estep_by_hand(
        X, start["weights_init"], start["means_init"], scales0, dofs0
    )

    def best_nu(columns):
        def negative(log_nu):
            return -expected_complete_loglik_dof(
                np.exp(log_nu), resp[:, columns], u[:, columns], elog_u[:, columns]
            )

        found = optimize.minimize_scalar(
            negative,
            bounds=(np.log(0.01), np.log(1e4)),
            method="bounded",
            options={"xatol": 1e-10},
        )
        return np.exp(found.x)

    if dof == "shared":
        expected = np.full(k, best_nu(slice(None)))
    else:
        expected = np.array([best_nu([j]) for j in range(k)])
    assert_allclose(model.dofs_, expected, rtol=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_location_and_scale_mstep_closed_forms(covariance_type):
    X, _ = t_data(n=400, d=3, random_state=5)
    k, d = 3, 3
    start = rough_start(X, covariance_type, k)
    dofs0 = np.array([3.0, 6.0, 12.0])
    model = one_em_step(
        X, covariance_type, "per_component", {**start, "dofs_init": dofs0}
    )
    scales0 = full_scales(
        1.0 / start["precisions_init"]
        if covariance_type in ("diag", "spherical")
        else np.linalg.inv(start["precisions_init"]),
        covariance_type,
        k,
        d,
    )
    resp, u, _ = estep_by_hand(
        X, start["weights_init"], start["means_init"], scales0, dofs0
    )
    w = resp * u
    means = (w.T @ X) / w.sum(axis=0)[:, np.newaxis]
    nk = resp.sum(axis=0)
    scatter = np.stack(
        [(w[:, j, None] * (X - means[j])).T @ (X - means[j]) for j in range(k)]
    )
    expected = {
        "full": scatter / nk[:, None, None],
        "tied": scatter.sum(axis=0) / nk.sum(),
        "diag": np.stack([np.diag(s) for s in scatter]) / nk[:, None],
        "spherical": np.trace(scatter, axis1=1, axis2=2) / (d * nk),
    }[covariance_type]
    assert_allclose(model.means_, means, rtol=1e-10)
    assert_allclose(model.covariances_, expected, rtol=1e-9)
    assert_allclose(model.weights_, nk / len(X), rtol=1e-10)


# --------------------------------------------- the optimum of the likelihood
def _chol2(a, b, c):
    L = np.array([[np.exp(a), 0.0], [b, np.exp(c)]])
    return L @ L.T


def test_loglik_equals_direct_optimisation_one_component_2d():
    X, _ = make_t_mixture(
        150,
        [[1.0, -2.0]],
        scales=[[[2.0, 0.6], [0.6, 1.0]]],
        dofs=3.0,
        random_state=3,
    )
    model = StudentTMixture(1, tol=1e-13, max_iter=20000, reg_covar=0.0).fit(X)

    def nll(theta):
        scale = _chol2(*theta[2:5])
        return (
            -stats.multivariate_t(theta[:2], scale, df=np.exp(theta[5])).logpdf(X).sum()
        )

    L = np.linalg.cholesky(np.cov(X.T))
    theta = np.r_[X.mean(0), np.log(L[0, 0]), L[1, 0], np.log(L[1, 1]), np.log(5.0)]
    found = optimize.minimize(nll, theta, method="BFGS", options={"gtol": 1e-9})
    found = optimize.minimize(
        nll,
        found.x,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
    )
    ours = model.score(X) * len(X)
    assert_allclose(ours, -found.fun, rtol=1e-8)
    assert_allclose(model.dofs_[0], np.exp(found.x[5]), rtol=1e-4)
    assert_allclose(model.means_[0], found.x[:2], atol=1e-4)


@pytest.mark.parametrize("dof", ["per_component", "shared"])
def test_loglik_equals_direct_optimisation_two_components_1d(dof):
    X, _ = make_t_mixture(
        200,
        [[-3.0], [3.0]],
        scales=[[[1.0]], [[2.0]]],
        dofs=[2.5, 6.0],
        weights=[0.4, 0.6],
        random_state=7,
    )
    model = StudentTMixture(
        2, dof=dof, tol=1e-13, max_iter=20000, reg_covar=0.0, random_state=0
    ).fit(X)
    shared = dof == "shared"

    def nll(theta):
        w = 1.0 / (1.0 + np.exp(-theta[0]))
        nus = np.exp(theta[5:6] if shared else theta[5:7])
        nus = np.broadcast_to(nus, (2,))
        comps = [
            np.log(p) + stats.t.logpdf(X[:, 0], df=nu, loc=m, scale=np.exp(ls))
            for p, m, ls, nu in zip(
                (w, 1 - w), theta[1:3], theta[3:5], nus, strict=True
            )
        ]
        return -logsumexp(np.stack(comps, axis=1), axis=1).sum()

    theta = np.r_[0.0, -2.0, 2.0, 0.0, 0.0, np.log(5.0), np.log(5.0)]
    theta = theta[:6] if shared else theta
    found = optimize.minimize(nll, theta, method="BFGS", options={"gtol": 1e-9})
    found = optimize.minimize(
        nll,
        found.x,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 40000},
    )
    ours = model.score(X) * len(X)
    assert_allclose(ours, -found.fun, rtol=1e-6)
    assert ours >= -found.fun - 1e-6 * abs(found.fun)


# ------------------------------------------------------- Gaussian limit
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_huge_fixed_dof_matches_gaussian_from_same_start(covariance_type):
    X, _ = t_data(n=500, d=2, random_state=6, dofs=(30.0, 30.0, 30.0))
    start = rough_start(X, covariance_type)
    common = dict(
        covariance_type=covariance_type, max_iter=30, tol=0.0, accelerate=None, **start
    )
    t = fit_quiet(StudentTMixture(3, dof=1e6, **common), X)
    gauss = fit_quiet(GaussianMixtureEM(3, **common), X)
    assert_allclose(t.dofs_, 1e6)
    for name in ("weights_", "means_", "covariances_"):
        assert_allclose(getattr(t, name), getattr(gauss, name), rtol=1e-4, atol=1e-6)
    assert_allclose(t.lower_bounds_, gauss.lower_bounds_, rtol=1e-5)
    assert_allclose(t.score_samples(X), gauss.score_samples(X), rtol=1e-5)


# ------------------------------------------------------- engine features
def test_integer_sample_weight_equals_repeated_rows():
    X, _ = t_data(n=200, d=2, random_state=8)
    weight = np.random.RandomState(0).randint(0, 4, size=len(X))
    start = {**rough_start(X, "full"), "dofs_init": [5.0, 5.0, 5.0]}
    kwargs = dict(tol=1e-8, max_iter=50, accelerate=None, **start)
    weighted = fit_quiet(StudentTMixture(3, **kwargs), X, sample_weight=weight)
    repeated = fit_quiet(StudentTMixture(3, **kwargs), np.repeat(X, weight, axis=0))
    for name in ("weights_", "means_", "covariances_", "dofs_"):
        assert_allclose(getattr(weighted, name), getattr(repeated, name), rtol=1e-9)
    assert_allclose(weighted.lower_bounds_, repeated.lower_bounds_, rtol=1e-10)


def test_chunked_equals_one_chunk():
    from sklearn import config_context

    X, _ = t_data(n=3000, d=2, random_state=9)
    start = {**rough_start(X, "full"), "dofs_init": [5.0, 5.0, 5.0]}
    one = fit_quiet(StudentTMixture(3, max_iter=20, **start), X)
    with config_context(working_memory=0.01):  # many small chunks
        many = fit_quiet(StudentTMixture(3, max_iter=20, **start), X)
    for name in ("means_", "covariances_", "dofs_"):
        assert_allclose(getattr(one, name), getattr(many, name), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_squarem_reaches_the_same_optimum(covariance_type):
    X, _ = t_data(n=400, d=2, random_state=10)
    start = rough_start(X, covariance_type)
    kwargs = dict(covariance_type=covariance_type, tol=1e-10, max_iter=3000, **start)
    plain = fit_quiet(StudentTMixture(3, accelerate=None, **kwargs), X)
    fast = fit_quiet(StudentTMixture(3, accelerate="squarem", **kwargs), X)
    assert_allclose(fast.lower_bound_, plain.lower_bound_, rtol=1e-7)
    assert_allclose(fast.means_, plain.means_, atol=1e-3)
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-12)


def test_fixed_params_hold_dofs_and_means():
    X, _ = t_data(n=300, d=2, random_state=11)
    start = rough_start(X, "full")
    model = fit_quiet(
        StudentTMixture(
            3, fixed_params={"dofs", "means"}, dofs_init=[2.0, 5.0, 9.0], **start
        ),
        X,
    )
    assert_allclose(model.dofs_, [2.0, 5.0, 9.0])
    assert_allclose(model.means_, start["means_init"])
    assert np.all(np.diff(model.lower_bounds_) >= -1e-12)


@pytest.mark.parametrize(
    "dof, n_dof_params", [("per_component", 3), ("shared", 1), (4.0, 0)]
)
def test_bic_counts_the_degrees_of_freedom(dof, n_dof_params):
    X, _ = t_data(n=300, d=2, random_state=12)
    model = fit_quiet(StudentTMixture(3, dof=dof, random_state=0), X)
    if dof == "shared":
        assert np.all(model.dofs_ == model.dofs_[0])
    n_params = 2 + 3 * 2 + 3 * 3 + n_dof_params
    loglik = logsumexp(model_log_joint(model, X), axis=1).sum()
    assert_allclose(model.bic(X), -2 * loglik + n_params * np.log(len(X)), rtol=1e-10)


def test_partial_fit_runs_on_a_stream():
    X, _ = make_t_mixture(4000, MEANS3, dofs=4.0, random_state=13)
    model = StudentTMixture(3, random_state=0)
    for batch in np.array_split(X, 20):
        model.partial_fit(batch)
    order = match(model.means_, MEANS3)
    assert_allclose(model.means_[order], MEANS3, atol=0.3)
    assert np.all(np.isfinite(model.dofs_)) and np.all(model.dofs_ > 1.0)


def test_sample_draws_from_the_fitted_t():
    model = StudentTMixture(
        1,
        dof=3.0,
        weights_init=[1.0],
        means_init=[[2.0]],
        precisions_init=[[[0.25]]],
        max_iter=0,
        random_state=0,
    ).fit(np.array([[0.0], [1.0]]))
    X, y = model.sample(4000)
    assert X.shape == (4000, 1) and np.all(y == 0)
    found = stats.kstest(X[:, 0], stats.t(df=3.0, loc=2.0, scale=2.0).cdf)
    assert found.pvalue > 0.01


def test_float32_stays_float32():
    X, _ = t_data(n=300, d=2, random_state=14)
    model = StudentTMixture(2, random_state=0).fit(X.astype(np.float32))
    assert model.means_.dtype == np.float32
    assert model.score_samples(X.astype(np.float32)).dtype == np.float32
    assert np.all(np.isfinite(model.dofs_))


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "params, match_text",
    [
        ({"dof": "bogus"}, "dof"),
        ({"dof": -1.0}, "dof"),
        ({"dof": 0.0}, "dof"),
        ({"dof": 3.0, "dofs_init": [3.0, 3.0]}, "dofs_init"),
        ({"dofs_init": [3.0, -1.0]}, r"dofs_init\[1\]"),
        ({"dofs_init": [3.0]}, "dofs_init"),
        ({"dof": "shared", "dofs_init": [3.0, 4.0]}, "shared"),
        ({"fixed_params": {"nu"}}, "nu"),
    ],
)
def test_bad_parameters_are_named(params, match_text):
    X, _ = t_data(n=50, d=2)
    with pytest.raises(ValueError, match=match_text):
        StudentTMixture(2, **params).fit(X)


# ------------------------------------------------------------ missing values
def with_holes(X, rate=0.25, random_state=0):
    """X with about ``rate`` of its rows missing one or more (not all) entries."""
    rng = np.random.RandomState(random_state)
    X = np.array(X, dtype=np.float64, copy=True)
    d = X.shape[1]
    for i in np.flatnonzero(rng.rand(len(X)) < rate):
        n_missing = rng.randint(1, d)
        X[i, rng.choice(d, n_missing, replace=False)] = np.nan
    return X


def scipy_log_joint_missing(X, weights, means, scales, dofs):
    """``log pi_k + log t_k(x_o)`` on each row's observed block, with scipy."""
    out = np.empty((len(X), len(weights)))
    observed = ~np.isnan(X)
    for pattern in np.unique(observed, axis=0):
        rows = np.flatnonzero((observed == pattern).all(axis=1))
        o = pattern
        for k, (w, m, s, nu) in enumerate(
            zip(weights, means, scales, dofs, strict=True)
        ):
            dist = stats.multivariate_t(m[o], s[np.ix_(o, o)], df=nu)
            out[rows, k] = np.log(w) + dist.logpdf(X[np.ix_(rows, o)]).reshape(-1)
    return out


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_score_samples_with_nan_equals_scipy_marginal_t(covariance_type):
    X, _ = t_data(n=300, d=3, random_state=15)
    Xm = with_holes(X)
    model = fit_quiet(
        StudentTMixture(3, covariance_type=covariance_type, random_state=0), Xm
    )
    k, d = model.means_.shape
    scales = full_scales(model.covariances_, covariance_type, k, d)
    log_joint = scipy_log_joint_missing(
        Xm, model.weights_, model.means_, scales, model.dofs_
    )
    reference = logsumexp(log_joint, axis=1)
    assert_allclose(model.score_samples(Xm), reference, rtol=1e-10)
    # impute: the posterior-weighted conditional means of the missing entries
    resp = np.exp(log_joint - reference[:, np.newaxis])
    filled = model.impute(Xm)
    for i in np.flatnonzero(np.isnan(Xm).any(axis=1))[:20]:
        o = ~np.isnan(Xm[i])
        expected = sum(
            resp[i, j]
            * (
                model.means_[j, ~o]
                + scales[j][np.ix_(~o, o)]
                @ np.linalg.solve(
                    scales[j][np.ix_(o, o)], Xm[i, o] - model.means_[j, o]
                )
            )
            for j in range(k)
        )
        assert_allclose(filled[i, ~o], expected, rtol=1e-9)
        assert_allclose(filled[i, o], Xm[i, o])


def test_distinct_patterns_map_back_to_every_row():
    mask = np.isnan(with_holes(np.ones((200, 4)), rate=0.6, random_state=3))
    masks, inverse, groups = distinct_patterns(mask)
    assert len(np.unique(masks, axis=0)) == len(masks)
    np.testing.assert_array_equal(masks[inverse], mask)
    # The kernel's grouping of those patterns covers each incomplete one once.
    rows = np.sort(np.concatenate([g.rows for g in groups.groups]))
    np.testing.assert_array_equal(rows, np.flatnonzero(masks.any(axis=1)))


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_missing_rows_distances_and_densities_per_pattern(covariance_type):
    """Distances of the observed blocks and their t log-densities, by numpy and
    scipy row by row, whatever the number of rows sharing a pattern."""
    X, _ = t_data(n=400, d=4, random_state=21)
    Xm = with_holes(X, rate=0.8, random_state=4)
    Xm = Xm[np.isnan(Xm).any(axis=1)]
    model = fit_quiet(
        StudentTMixture(3, covariance_type=covariance_type, random_state=0), X
    )
    mask = np.isnan(Xm)
    log_prob, delta, n_observed, _ = t_missing_log_prob(
        Xm,
        mask,
        model.means_,
        model.covariances_,
        model.precisions_cholesky_,
        model.dofs_,
        covariance_type,
        missing_patterns(mask),
    )
    scales = full_scales(model.covariances_, covariance_type, 3, 4)
    for i in range(len(Xm)):
        o = ~mask[i]
        assert n_observed[i] == o.sum()
        for k in range(3):
            r = Xm[i, o] - model.means_[k, o]
            s_oo = scales[k][np.ix_(o, o)]
            assert_allclose(delta[i, k], r @ np.linalg.solve(s_oo, r), rtol=1e-10)
            dist = stats.multivariate_t(model.means_[k, o], s_oo, df=model.dofs_[k])
            assert_allclose(log_prob[i, k], dist.logpdf(Xm[i, o]), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_em_step_with_nan_equals_closed_forms(covariance_type):
    X, _ = t_data(n=300, d=3, random_state=16)
    Xm = with_holes(X, rate=0.4, random_state=1)
    k, d = 3, 3
    start = rough_start(X, covariance_type, k)
    dofs0 = np.array([3.0, 6.0, 12.0])
    model = one_em_step(
        Xm, covariance_type, "per_component", {**start, "dofs_init": dofs0}
    )
    precisions = np.asarray(start["precisions_init"])
    scales0 = full_scales(
        1.0 / precisions
        if covariance_type in ("diag", "spherical")
        else np.linalg.inv(precisions),
        covariance_type,
        k,
        d,
    )
    means0 = start["means_init"]
    log_joint = scipy_log_joint_missing(
        Xm, start["weights_init"], means0, scales0, dofs0
    )
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    # Per row and component: u, E[log u], the filled row and C (in a d x d).
    n = len(Xm)
    u = np.empty((n, k))
    elog_u = np.empty((n, k))
    xhat = np.empty((n, k, d))
    cond = np.zeros((n, k, d, d))
    for i, row in enumerate(Xm):
        o = ~np.isnan(row)
        for j in range(k):
            s, m = scales0[j], means0[j]
            diff = row[o] - m[o]
            delta = diff @ np.linalg.solve(s[np.ix_(o, o)], diff)
            p = o.sum()
            u[i, j] = (dofs0[j] + p) / (dofs0[j] + delta)
            elog_u[i, j] = digamma((dofs0[j] + p) / 2) - np.log((dofs0[j] + delta) / 2)
            gain = s[np.ix_(~o, o)] @ np.linalg.inv(s[np.ix_(o, o)])
            xhat[i, j, o] = row[o]
            xhat[i, j, ~o] = m[~o] + gain @ diff
            cond[i, j][np.ix_(~o, ~o)] = s[np.ix_(~o, ~o)] - gain @ s[np.ix_(o, ~o)]
    w = resp * u
    means = np.einsum("nk,nkd->kd", w, xhat) / w.sum(axis=0)[:, np.newaxis]
    nk = resp.sum(axis=0)
    centred = xhat - means[np.newaxis]
    scatter = np.einsum("nk,nkd,nke->kde", w, centred, centred) + np.einsum(
        "nk,nkde->kde", resp, cond
    )
    expected = {
        "full": scatter / nk[:, None, None],
        "tied": scatter.sum(axis=0) / nk.sum(),
        "diag": np.stack([np.diag(c) for c in scatter]) / nk[:, None],
        "spherical": np.trace(scatter, axis1=1, axis2=2) / (d * nk),
    }[covariance_type]
    assert_allclose(model.means_, means, rtol=1e-10)
    assert_allclose(model.covariances_, expected, rtol=1e-9)
    for j in range(k):
        found = optimize.minimize_scalar(
            lambda log_nu, j=j: (
                -expected_complete_loglik_dof(
                    np.exp(log_nu), resp[:, j], u[:, j], elog_u[:, j]
                )
            ),
            bounds=(np.log(0.01), np.log(1e4)),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert_allclose(model.dofs_[j], np.exp(found.x), rtol=1e-6)


def test_loglik_with_nan_equals_direct_optimisation():
    X, _ = make_t_mixture(
        200,
        [[1.0, -2.0, 0.5]],
        scales=[[[2.0, 0.6, 0.2], [0.6, 1.0, -0.3], [0.2, -0.3, 1.5]]],
        dofs=3.0,
        random_state=17,
    )
    Xm = with_holes(X, rate=0.4, random_state=2)
    model = StudentTMixture(1, tol=1e-13, max_iter=20000, reg_covar=0.0).fit(Xm)
    rows, cols = np.tril_indices(3)

    def nll(theta):
        L = np.zeros((3, 3))
        L[rows, cols] = theta[3:9]
        L[np.diag_indices(3)] = np.exp(np.diag(L))
        joint = scipy_log_joint_missing(
            Xm, [1.0], [theta[:3]], [L @ L.T], [np.exp(theta[9])]
        )
        return -joint.sum()

    complete = X[~np.isnan(Xm).any(axis=1)]
    L0 = np.linalg.cholesky(np.cov(complete.T))
    L0[np.diag_indices(3)] = np.log(np.diag(L0))
    theta = np.r_[complete.mean(0), L0[rows, cols], np.log(5.0)]
    found = optimize.minimize(nll, theta, method="BFGS", options={"gtol": 1e-7})
    ours = model.score(Xm) * len(Xm)
    assert_allclose(ours, -found.fun, rtol=1e-7)
    assert_allclose(model.dofs_[0], np.exp(found.x[9]), rtol=1e-3)


def test_docstring_examples():
    result = doctest.testmod(
        emmix.mixture._student, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------- inference
def test_standard_errors_match_a_direct_hessian():
    from emmix.inference import standard_errors

    x = stats.t(df=4.0, loc=1.0, scale=2.0).rvs(size=400, random_state=3)
    X = x[:, np.newaxis]
    model = StudentTMixture(
        1, reg_covar=0.0, tol=1e-12, max_iter=20000, stopping="aitken"
    ).fit(X)
    found = standard_errors(model, X)
    theta = np.array([model.means_[0, 0], model.covariances_[0, 0, 0], model.dofs_[0]])

    def loglik(t):
        return stats.t.logpdf(x, df=t[2], loc=t[0], scale=np.sqrt(t[1])).sum()

    steps = 1e-4 * np.abs(theta)
    hessian = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            ei, ej = np.eye(3)[i] * steps[i], np.eye(3)[j] * steps[j]
            hessian[i, j] = (
                loglik(theta + ei + ej)
                - loglik(theta + ei - ej)
                - loglik(theta - ei + ej)
                + loglik(theta - ei - ej)
            ) / (4 * steps[i] * steps[j])
    expected = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    assert_allclose(found["means_"][0, 0], expected[0], rtol=1e-3)
    assert_allclose(found["covariances_"][0, 0, 0], expected[1], rtol=1e-3)
    assert_allclose(found["dofs_"][0], expected[2], rtol=1e-3)


def test_standard_errors_of_a_shared_dof_are_equal():
    from emmix.inference import standard_errors

    X, _ = make_t_mixture(600, MEANS3, dofs=4.0, random_state=19)
    model = StudentTMixture(3, dof="shared", random_state=0, tol=1e-10).fit(X)
    found = standard_errors(model, X)
    assert np.all(np.isfinite(found["dofs_"])) and np.all(found["dofs_"] > 0)
    assert_allclose(found["dofs_"], found["dofs_"][0])


# ------------------------------------------------------------ the generator
def test_make_t_mixture_draws_t_rows():
    X, y = make_t_mixture(
        4000,
        [[0.0], [50.0]],
        scales=[[[1.0]], [[4.0]]],
        dofs=[3.0, 10.0],
        weights=[0.25, 0.75],
        random_state=0,
    )
    assert X.shape == (4000, 1) and set(np.unique(y)) == {0, 1}
    assert abs(np.mean(y == 0) - 0.25) < 0.03
    first = stats.kstest(X[y == 0, 0], stats.t(df=3.0).cdf)
    second = stats.kstest(X[y == 1, 0], stats.t(df=10.0, loc=50.0, scale=2.0).cdf)
    assert first.pvalue > 0.01 and second.pvalue > 0.01
    again, _ = make_t_mixture(
        4000,
        [[0.0], [50.0]],
        scales=[[[1.0]], [[4.0]]],
        dofs=[3.0, 10.0],
        weights=[0.25, 0.75],
        random_state=0,
    )
    assert np.array_equal(X, again)


@pytest.mark.parametrize(
    "kwargs, text",
    [
        ({"dofs": 0.0}, "dofs"),
        ({"dofs": [1.0, 2.0, 3.0]}, r"dofs must be a float or have shape \(2,\)"),
        ({"scales": np.ones((2, 2, 2))}, r"scales\[0\]"),
        ({"scales": np.ones((3, 2, 2))}, "scales must have shape"),
        ({"n_samples": 0}, "n_samples"),
    ],
)
def test_make_t_mixture_bad_input(kwargs, text):
    with pytest.raises(ValueError, match=text):
        make_t_mixture(**kwargs)


# ---------------------------------------------------------------- drawing
@pytest.mark.parametrize("n_features", [1, 2])
def test_plot_mixture_draws_t_components(n_features):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emmix.plotting import plot_mixture

    means = np.array([[0.0, 0.0], [6.0, 0.0], [12.0, 6.0]])[:, :n_features]
    X, _ = make_t_mixture(300, means, dofs=4.0, random_state=20)
    model = StudentTMixture(3, random_state=0).fit(X)
    fig, ax = plt.subplots()
    try:
        plot_mixture(model, X, ax)
        assert ax.get_xlabel()
        if n_features == 1:
            # the drawn mixture density is the model's, from scipy's t
            line = ax.get_lines()[-1]
            grid, density = line.get_data()
            expected = np.exp(model.score_samples(grid[:, np.newaxis]))
            assert_allclose(density, expected, rtol=1e-9)
    finally:
        plt.close(fig)
    assert "dof" in model._describe_component(0)
