"""emmix.inference: standard errors, the bootstrap and the bootstrap LRT.

Standard errors are checked against closed forms and against the inverse
Hessian of the log-likelihood written here with scipy.stats and
differentiated by its own finite differences.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import logsumexp
from scipy.stats import binom, multivariate_normal, norm, poisson

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix.inference import bootstrap, bootstrap_lrt, standard_errors


def fd_hessian(f, x):
    """Central-difference Hessian (independent of emmix's)."""
    x = np.asarray(x, dtype=float)
    p = x.size
    h = 2e-4 * np.maximum(np.abs(x), 0.1)
    H = np.empty((p, p))
    for i in range(p):
        for j in range(p):
            ei = np.zeros(p)
            ej = np.zeros(p)
            ei[i] = h[i]
            ej[j] = h[j]
            H[i, j] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    return 0.5 * (H + H.T)


def se_from(f, x):
    return np.sqrt(np.diag(np.linalg.inv(-fd_hessian(f, x))))


def tight(**params):
    return {"stopping": "aitken", "tol": 1e-11, "max_iter": 100_000, **params}


def two_poisson(n=1000, seed=0):
    rng = np.random.RandomState(seed)
    z = rng.rand(n) < 0.4
    return np.where(z, rng.poisson(2.0, n), rng.poisson(8.0, n))[:, None].astype(float)


# ---------------------------------------------------------- closed forms
def test_one_poisson_closed_form():
    X = np.random.RandomState(0).poisson([3.0, 11.0], size=(500, 2))
    pm = PoissonMixture(1).fit(X)
    se = standard_errors(pm, X)
    assert_allclose(se["rates_"], np.sqrt(pm.rates_ / 500), rtol=1e-5)
    assert_allclose(se["weights_"], [0.0])


def test_one_gaussian_closed_form():
    rng = np.random.RandomState(1)
    cov = np.array([[2.0, 0.8], [0.8, 1.0]])
    X = rng.multivariate_normal([1.0, -2.0], cov, size=400)
    n = len(X)
    gm = GaussianMixtureEM(1, reg_covar=0.0).fit(X)
    se = standard_errors(gm, X)
    S = gm.covariances_[0]
    assert_allclose(se["means_"][0], np.sqrt(np.diag(S) / n), rtol=1e-5)
    # MLE covariance: var(S_ij) = (S_ii S_jj + S_ij^2) / n
    expected = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / n)
    assert_allclose(se["covariances_"][0], expected, rtol=1e-4)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical", "tied"])
def test_one_gaussian_other_covariance_types(covariance_type):
    rng = np.random.RandomState(2)
    X = rng.normal([0.0, 5.0], [1.0, 3.0], size=(300, 2))
    gm = GaussianMixtureEM(1, covariance_type=covariance_type, reg_covar=0.0).fit(X)
    se = standard_errors(gm, X)
    cov = np.atleast_1d(np.squeeze(gm.covariances_))
    assert se["covariances_"].shape == np.shape(gm.covariances_)
    if covariance_type == "diag":
        assert_allclose(se["means_"][0], np.sqrt(cov / 300), rtol=1e-5)
        assert_allclose(se["covariances_"][0], np.sqrt(2 / 300) * cov, rtol=1e-4)
    if covariance_type == "spherical":
        # one variance for both features: 2n observations of it
        assert_allclose(se["covariances_"], np.sqrt(2 / 600) * cov, rtol=1e-4)


def test_integer_weights_equal_repeated_rows():
    rng = np.random.RandomState(3)
    X = two_poisson(300, seed=3)
    w = rng.randint(1, 4, size=len(X))
    fitted = PoissonMixture(2, random_state=0, **tight()).fit(X, sample_weight=w)
    repeated = np.repeat(X, w, axis=0)
    se_w = standard_errors(fitted, X, sample_weight=w)
    se_r = standard_errors(fitted, repeated)
    for key in se_w:
        assert_allclose(se_w[key], se_r[key], rtol=1e-5)


# -------------------------------------------- against independent Hessians
def test_two_poisson_against_independent_hessian():
    X = two_poisson()
    pm = PoissonMixture(2, random_state=0, **tight()).fit(X)
    x = X[:, 0]

    def loglik(t):
        w1, r1, r2 = t
        return logsumexp(
            [
                np.log(w1) + poisson.logpmf(x, r1),
                np.log(1 - w1) + poisson.logpmf(x, r2),
            ],
            axis=0,
        ).sum()

    ref = se_from(loglik, [pm.weights_[0], *pm.rates_[:, 0]])
    se = standard_errors(pm, X)
    assert_allclose(se["weights_"], [ref[0], ref[0]], rtol=1e-4)
    assert_allclose(se["rates_"][:, 0], ref[1:], rtol=1e-4)


def test_two_coins_against_independent_hessian():
    rng = np.random.RandomState(4)
    X = rng.binomial(20, np.where(rng.rand(400) < 0.5, 0.3, 0.7))[:, None]
    X = X.astype(float)
    cm = CoinMixture(2, n_trials=20, random_state=0, **tight()).fit(X)
    x = X[:, 0]

    def loglik(t):
        w1, p1, p2 = t
        return logsumexp(
            [
                np.log(w1) + binom.logpmf(x, 20, p1),
                np.log(1 - w1) + binom.logpmf(x, 20, p2),
            ],
            axis=0,
        ).sum()

    ref = se_from(loglik, [cm.weights_[0], *cm.probs_[:, 0]])
    se = standard_errors(cm, X)
    assert_allclose(se["weights_"][0], ref[0], rtol=1e-4)
    assert_allclose(se["probs_"][:, 0], ref[1:], rtol=1e-4)


def test_two_gaussians_1d_against_independent_hessian():
    rng = np.random.RandomState(5)
    X = np.where(rng.rand(600) < 0.3, rng.normal(0, 1, 600), rng.normal(4, 1.5, 600))
    X = X[:, None]
    gm = GaussianMixtureEM(2, reg_covar=0.0, random_state=0, **tight()).fit(X)
    x = X[:, 0]

    def loglik(t):
        w1, m1, m2, v1, v2 = t
        return logsumexp(
            [
                np.log(w1) + norm.logpdf(x, m1, np.sqrt(v1)),
                np.log(1 - w1) + norm.logpdf(x, m2, np.sqrt(v2)),
            ],
            axis=0,
        ).sum()

    start = [gm.weights_[0], *gm.means_[:, 0], *gm.covariances_[:, 0, 0]]
    ref = se_from(loglik, start)
    se = standard_errors(gm, X)
    assert_allclose(se["weights_"][0], ref[0], rtol=1e-4)
    assert_allclose(se["means_"][:, 0], ref[1:3], rtol=1e-4)
    assert_allclose(se["covariances_"][:, 0, 0], ref[3:], rtol=1e-4)


def test_two_full_gaussians_2d_against_independent_hessian():
    # The symmetric parametrisation: a covariance's off-diagonal entry is
    # one parameter.
    rng = np.random.RandomState(6)
    a = rng.multivariate_normal([0, 0], [[1.0, 0.5], [0.5, 2.0]], 250)
    b = rng.multivariate_normal([4, 1], [[1.5, -0.4], [-0.4, 1.0]], 350)
    X = np.vstack([a, b])
    gm = GaussianMixtureEM(2, reg_covar=0.0, random_state=0, **tight()).fit(X)

    def unpack(t):
        w1 = t[0]
        means = t[1:5].reshape(2, 2)
        covs = []
        for k in range(2):
            s11, s12, s22 = t[5 + 3 * k : 8 + 3 * k]
            covs.append(np.array([[s11, s12], [s12, s22]]))
        return w1, means, covs

    def loglik(t):
        w1, means, covs = unpack(t)
        return logsumexp(
            [
                np.log(w1) + multivariate_normal.logpdf(X, means[0], covs[0]),
                np.log(1 - w1) + multivariate_normal.logpdf(X, means[1], covs[1]),
            ],
            axis=0,
        ).sum()

    C = gm.covariances_
    start = np.r_[
        gm.weights_[0],
        gm.means_.ravel(),
        [C[0, 0, 0], C[0, 0, 1], C[0, 1, 1], C[1, 0, 0], C[1, 0, 1], C[1, 1, 1]],
    ]
    ref = se_from(loglik, start)
    se = standard_errors(gm, X)
    assert_allclose(se["weights_"][0], ref[0], rtol=1e-4)
    assert_allclose(se["means_"].ravel(), ref[1:5], rtol=1e-4)
    got = se["covariances_"]
    assert_allclose(
        [
            got[0, 0, 0],
            got[0, 0, 1],
            got[0, 1, 1],
            got[1, 0, 0],
            got[1, 0, 1],
            got[1, 1, 1],
        ],
        ref[5:],
        rtol=1e-4,
    )
    assert_allclose(got, np.swapaxes(got, 1, 2))


def test_fixed_groups_have_zero_standard_errors():
    X = two_poisson()
    pm = PoissonMixture(
        2, weights_init=[0.4, 0.6], fixed_params={"weights"}, random_state=0, **tight()
    ).fit(X)
    x = X[:, 0]

    def loglik(t):
        return logsumexp(
            [
                np.log(0.4) + poisson.logpmf(x, t[0]),
                np.log(0.6) + poisson.logpmf(x, t[1]),
            ],
            axis=0,
        ).sum()

    se = standard_errors(pm, X)
    assert_allclose(se["weights_"], [0.0, 0.0])
    assert_allclose(se["rates_"][:, 0], se_from(loglik, pm.rates_[:, 0]), rtol=1e-4)


def test_missing_values_and_not_positive_definite_warning():
    rng = np.random.RandomState(7)
    X = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 300)
    X[rng.rand(300) < 0.2, 1] = np.nan
    gm = GaussianMixtureEM(1, reg_covar=0.0).fit(X)
    se = standard_errors(gm, X)
    assert np.all(np.isfinite(se["means_"]))
    # fewer observed values in column 1 than in 0: larger standard error
    assert se["means_"][0, 1] > se["means_"][0, 0]
    # a component too many: the information is singular
    Y = np.random.RandomState(8).poisson(3.0, size=(200, 1)).astype(float)
    over = PoissonMixture(
        2, weights_init=[0.5, 0.5], rates_init=[[3.0], [3.0]], max_iter=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        over.fit(Y)
    with pytest.warns(UserWarning) as record:
        standard_errors(over, Y)
    messages = " ".join(str(r.message) for r in record)
    assert "not positive definite" in messages and "did not converge" in messages


def test_bad_input():
    with pytest.raises(TypeError, match="fitted emmix mixture"):
        standard_errors(object(), np.ones((3, 1)))
    pm = PoissonMixture(1).fit(np.ones((5, 1)) * [[1], [2], [3], [4], [5]])
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap(pm, np.ones((5, 1)), n_boot=0)
    with pytest.raises(ValueError, match="kind"):
        bootstrap(pm, np.ones((5, 1)), n_boot=2, kind="jackknife")
    with pytest.raises(ValueError, match="n_components"):
        bootstrap_lrt(pm, np.ones((5, 1)), (2, 1))


# ------------------------------------------------------------ bootstrap
def test_bootstrap_one_poisson_matches_closed_form():
    X = np.random.RandomState(9).poisson(5.0, size=(300, 1))
    pm = PoissonMixture(1).fit(X)
    closed = np.sqrt(pm.rates_[0, 0] / 300)
    for kind in ("nonparametric", "parametric"):
        result = bootstrap(pm, X, n_boot=300, kind=kind, random_state=0)
        assert result.draws_["rates_"].shape == (300, 1, 1)
        assert result.standard_errors_["rates_"][0, 0] == pytest.approx(
            closed, rel=0.12
        )
        low, high = result.confidence_intervals(0.9)["rates_"]
        assert low[0, 0] < pm.rates_[0, 0] < high[0, 0]
        with pytest.raises(ValueError, match="level"):
            result.confidence_intervals(1.5)


def test_bootstrap_matches_components_and_agrees_with_information():
    X = two_poisson(600, seed=10)
    pm = PoissonMixture(2, random_state=0).fit(X)
    se = standard_errors(pm, X)
    result = bootstrap(pm, X, n_boot=150, random_state=0, n_jobs=2)
    # components matched to the original: every draw near its own component
    draws = result.draws_["rates_"][:, :, 0]
    assert np.all(np.abs(draws - pm.rates_[:, 0]) < 0.5 * np.ptp(pm.rates_))
    assert_allclose(result.standard_errors_["rates_"], se["rates_"], rtol=0.25)
    assert_allclose(result.standard_errors_["weights_"], se["weights_"], rtol=0.25)


def test_bootstrap_is_reproducible_whatever_n_jobs():
    X = two_poisson(200, seed=11)
    pm = PoissonMixture(2, random_state=0).fit(X)
    one = bootstrap(pm, X, n_boot=6, random_state=3, n_jobs=1)
    two = bootstrap(pm, X, n_boot=6, random_state=3, n_jobs=2)
    for key in one.draws_:
        assert_allclose(one.draws_[key], two.draws_[key])


def test_bootstrap_label_switching_is_undone():
    # Start the replicates from a fit whose labels are swapped relative to
    # where a fresh fit would put them: matching keeps the original order.
    rng = np.random.RandomState(12)
    X = np.vstack([rng.normal(0, 1, (150, 2)), rng.normal(6, 1, (150, 2))])
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    result = bootstrap(gm, X, n_boot=20, random_state=0)
    assert np.all(np.abs(result.draws_["means_"] - gm.means_) < 1.0)


def test_bootstrap_tied_covariance_and_weights():
    rng = np.random.RandomState(13)
    X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(5, 1, (120, 2))])
    w = rng.randint(1, 3, size=len(X))
    gm = GaussianMixtureEM(2, covariance_type="tied", random_state=0).fit(
        X, sample_weight=w
    )
    result = bootstrap(gm, X, n_boot=10, sample_weight=w, random_state=0)
    assert result.draws_["covariances_"].shape == (10, 2, 2)
    assert np.all(np.isfinite(result.draws_["means_"]))
    se = standard_errors(gm, X, sample_weight=w)
    assert se["covariances_"].shape == (2, 2)


def test_coin_bootstrap_runs():
    rng = np.random.RandomState(14)
    X = rng.binomial(10, np.where(rng.rand(200) < 0.5, 0.2, 0.8))[:, None]
    cm = CoinMixture(2, n_trials=10, random_state=0).fit(X)
    result = bootstrap(cm, X, n_boot=10, kind="parametric", random_state=0)
    assert result.draws_["probs_"].shape == (10, 2, 1)
    assert np.all(np.abs(result.draws_["probs_"] - cm.probs_) < 0.2)


# ------------------------------------------------- likelihood-ratio test
def test_bootstrap_lrt_statistic_and_p_values():
    rng = np.random.RandomState(15)
    one = rng.poisson(4.0, size=(150, 1)).astype(float)
    test = bootstrap_lrt(PoissonMixture(), one, (1, 2), n_boot=9, random_state=0)
    # the statistic is twice the gain of independent tight fits
    l1 = PoissonMixture(1).fit(one).score(one) * 150
    l2 = max(
        PoissonMixture(2, random_state=s, **tight()).fit(one).score(one) * 150
        for s in range(3)
    )
    assert test.statistic_ == pytest.approx(2 * (l2 - l1), abs=1e-5)
    assert test.boot_statistics_.shape == (9,)
    assert np.all(test.boot_statistics_ >= -1e-6)
    assert 0.1 <= test.p_value_ <= 1.0
    two = two_poisson(150, seed=16)
    test = bootstrap_lrt(PoissonMixture(1), two, n_boot=9, random_state=0)
    assert test.n_components == (1, 2)
    assert test.p_value_ == pytest.approx(0.1)  # 1 / (n_boot + 1): the minimum


def test_bootstrap_lrt_integer_weights_equal_repeated_rows():
    X = two_poisson(120, seed=17)
    w = np.random.RandomState(17).randint(1, 3, size=len(X))
    weighted = bootstrap_lrt(
        PoissonMixture(1), X, n_boot=3, sample_weight=w, random_state=0
    )
    repeated = bootstrap_lrt(
        PoissonMixture(1), np.repeat(X, w, axis=0), n_boot=3, random_state=0
    )
    assert weighted.statistic_ == pytest.approx(repeated.statistic_, rel=1e-6)
    assert weighted.log_likelihoods_ == pytest.approx(repeated.log_likelihoods_)
