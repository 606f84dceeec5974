"""GaussianMixtureEM with mclust's fourteen covariance structures.

Checked against: scikit-learn's four types (same start, same numbers),
mclust's published BIC values on iris, the parameter counts of mclust's
Table 3, and recovery of the parameters of data drawn from a structure.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.stats import multivariate_normal
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from emmix import GaussianMixtureEM
from emmix.mixture._covariance_structures import SKLEARN_STRUCTURES, STRUCTURES
from emmix.plotting import _full_covariances

IRIS = load_iris().data


def _blobs(seed=0, n=120):
    rng = np.random.RandomState(seed)
    return np.vstack(
        [
            rng.multivariate_normal(c, [[1.0, 0.4], [0.4, 0.6]], n)
            for c in ([0, 0], [5, 0], [0, 5])
        ]
    )


def _check_structure(structure, cov, rtol=1e-8):
    """The covariances have the structure, from their eigenvalues directly."""
    d = cov.shape[1]
    assert_allclose(cov, np.swapaxes(cov, 1, 2), atol=1e-12 * np.abs(cov).max())
    eig = np.linalg.eigvalsh(cov)[:, ::-1]
    assert np.all(eig > 0)
    volume = np.exp(np.mean(np.log(eig), axis=1))
    shapes = eig / volume[:, None]
    letter_volume, letter_shape, letter_orientation = structure
    if letter_volume == "E":
        assert_allclose(volume, volume[0], rtol=rtol)
    if letter_shape == "I":
        assert_allclose(cov, volume[:, None, None] * np.eye(d), rtol=rtol, atol=0)
    if letter_shape == "E":
        assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=rtol)
    if letter_orientation == "I":
        off = cov * (1 - np.eye(d))
        assert_allclose(off, 0.0, atol=1e-12 * np.abs(cov).max())
    if letter_orientation == "E":  # one orthogonal D diagonalises all: commute
        for a, b in itertools.combinations(cov, 2):
            assert_allclose(a @ b, b @ a, atol=rtol * np.abs(a @ b).max())


# ------------------------------------------------ scikit-learn's four types
@pytest.mark.parametrize("sklearn_type, structure", SKLEARN_STRUCTURES.items())
@pytest.mark.parametrize("data", ["iris", "weighted", "missing"])
def test_sklearn_types_equal_their_mclust_names(sklearn_type, structure, data):
    X, weights = IRIS, None
    if data == "weighted":
        weights = np.random.RandomState(1).randint(0, 4, len(X)).astype(float)
    if data == "missing":
        X = X.copy()
        X[np.random.RandomState(2).rand(*X.shape) < 0.1] = np.nan
    kwargs = dict(n_components=3, random_state=0, tol=1e-10, max_iter=300)
    a = GaussianMixtureEM(covariance_type=sklearn_type, **kwargs)
    b = GaussianMixtureEM(covariance_type=structure, **kwargs)
    a.fit(X, sample_weight=weights)
    b.fit(X, sample_weight=weights)
    assert a.n_iter_ == b.n_iter_
    assert b.covariances_.shape == (3, 4, 4)
    assert_allclose(b.weights_, a.weights_, rtol=0, atol=1e-10)
    assert_allclose(b.means_, a.means_, rtol=0, atol=1e-10)
    assert_allclose(b.covariances_, _full_covariances(a), rtol=0, atol=1e-10)
    assert b.lower_bound_ == pytest.approx(a.lower_bound_, rel=1e-12)
    # the same number of free parameters, hence the same BIC
    assert b._n_parameters() == a._n_parameters()
    if data != "missing":
        assert b.bic(X) == pytest.approx(a.bic(X), rel=1e-12)


def test_sklearn_type_keeps_compact_storage():
    gm = GaussianMixtureEM(2, covariance_type="diag", random_state=0).fit(IRIS)
    assert gm.covariances_.shape == (2, 4)
    assert not hasattr(gm, "volume_")


# ------------------------------------------- mclust's published BIC on iris
def test_iris_bic_matches_mclust():
    # mclust 5/6, summary(mclustBIC(iris[, -5])) (Scrucca et al. 2016, The R
    # Journal 8(1), section 3; mclust's vignette): "Top 3 models based on the
    # BIC criterion: VEV,2 -561.7285  VEV,3 -562.5514  VVV,2 -574.0178", in
    # mclust's sign convention (2 loglik - npar log n, higher is better).
    published = {("VEV", 2): -561.7285, ("VEV", 3): -562.5514, ("VVV", 2): -574.0178}
    for (structure, k), value in published.items():
        gm = GaussianMixtureEM(
            k, covariance_type=structure, tol=1e-8, max_iter=2000, n_init=3
        )
        gm.set_params(random_state=0).fit(IRIS)
        # emmix's bic is -2 loglik + npar log n: mclust's with the sign flipped
        assert -gm.bic(IRIS) == pytest.approx(value, abs=0.05)


# --------------------------------------------------- BIC parameter counts
@pytest.mark.parametrize("structure", STRUCTURES)
def test_bic_counts_mclust_parameters(structure):
    K, d, n = 3, 4, IRIS.shape[0]
    gm = GaussianMixtureEM(K, covariance_type=structure, random_state=0).fit(IRIS)
    # mclust's nMclustParams: (K - 1) weights, K d means, and the covariance
    # parameters of Table 3 of Scrucca et al. (2016), written out here.
    G, rot = K, d * (d - 1) // 2
    covariance = {
        "EII": 1,
        "VII": G,
        "EEI": d,
        "VEI": G + (d - 1),
        "EVI": 1 + G * (d - 1),
        "VVI": G * d,
        "EEE": d + rot,
        "VEE": G + (d - 1) + rot,
        "EVE": 1 + G * (d - 1) + rot,
        "VVE": G * d + rot,
        "EEV": 1 + (d - 1) + G * rot,
        "VEV": G + (d - 1) + G * rot,
        "EVV": 1 + G * (d - 1) + G * rot,
        "VVV": G * d * (d + 1) // 2,
    }[structure]
    n_parameters = (K - 1) + K * d + covariance
    assert gm._n_parameters() == n_parameters
    # straight from scipy's densities
    density = sum(
        w * multivariate_normal(m, c).pdf(IRIS)
        for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_, strict=True)
    )
    log_likelihood = float(np.sum(np.log(density)))
    assert gm.bic(IRIS) == pytest.approx(
        -2 * log_likelihood + n_parameters * math.log(n), rel=1e-10
    )
    assert gm.aic(IRIS) == pytest.approx(
        -2 * log_likelihood + 2 * n_parameters, rel=1e-10
    )


# ------------------------------------------------------ the fitted structure
@pytest.mark.parametrize("structure", STRUCTURES)
def test_fitted_covariances_have_the_structure(structure):
    gm = GaussianMixtureEM(3, covariance_type=structure, random_state=0).fit(IRIS)
    _check_structure(structure, gm.covariances_)
    # volume_, shape_, orientation_ rebuild the covariances
    rebuilt = np.stack(
        [
            v * D @ np.diag(a) @ D.T
            for v, a, D in zip(gm.volume_, gm.shape_, gm.orientation_, strict=True)
        ]
    )
    assert_allclose(rebuilt, gm.covariances_, rtol=1e-10, atol=1e-14)
    assert_allclose(np.prod(gm.shape_, axis=1), 1.0, rtol=1e-10)
    assert_allclose(
        gm.precisions_ @ gm.covariances_,
        np.broadcast_to(np.eye(4), (3, 4, 4)),
        atol=1e-8,
    )


@pytest.mark.parametrize("structure", ["EII", "VEI", "EVE", "VVE", "VEV", "EVV"])
def test_squarem_keeps_the_structure(structure):
    plain = GaussianMixtureEM(3, covariance_type=structure, random_state=0, tol=1e-8)
    fast = GaussianMixtureEM(
        3, covariance_type=structure, random_state=0, tol=1e-8, accelerate="squarem"
    )
    plain.fit(IRIS)
    fast.fit(IRIS)
    _check_structure(structure, fast.covariances_)
    assert np.all(np.diff(fast.lower_bounds_) >= -1e-10)
    # the same optimum from the same start
    assert fast.lower_bound_ == pytest.approx(plain.lower_bound_, abs=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_precisions_init_without_the_structure_is_projected():
    rng = np.random.RandomState(0)
    A = rng.standard_normal((3, 4, 4))
    precisions = A @ np.swapaxes(A, 1, 2) + 4 * np.eye(4)  # full, unstructured
    gm = GaussianMixtureEM(
        3, covariance_type="EEE", precisions_init=precisions, max_iter=1
    )
    gm.fit(IRIS)
    _check_structure("EEE", gm.covariances_)
    with pytest.raises(ValueError, match="precisions_init"):
        GaussianMixtureEM(
            3, covariance_type="VEV", precisions_init=precisions[:, :2, :2]
        ).fit(IRIS)


def test_float32_stays_float32():
    gm = GaussianMixtureEM(2, covariance_type="VEV", random_state=0)
    gm.fit(IRIS.astype(np.float32))
    assert gm.covariances_.dtype == np.float32
    assert gm.means_.dtype == np.float32
    _check_structure("VEV", gm.covariances_.astype(np.float64), rtol=1e-4)


def test_fixed_covariances_and_means():
    start = GaussianMixtureEM(3, covariance_type="VEE", random_state=0).fit(IRIS)
    held = GaussianMixtureEM(
        3,
        covariance_type="VEE",
        means_init=start.means_,
        precisions_init=start.precisions_,
        fixed_params={"covariances"},
    ).fit(IRIS)
    assert_allclose(held.covariances_, start.covariances_, rtol=1e-12)
    means_held = GaussianMixtureEM(
        3,
        covariance_type="VEE",
        means_init=start.means_,
        fixed_params={"means"},
        random_state=0,
    ).fit(IRIS)
    assert_allclose(means_held.means_, start.means_)
    _check_structure("VEE", means_held.covariances_)


# ---------------------------------------------------------------- recovery
def _structured_covariances(structure, rng, d=2, K=3):
    """Random covariances with the given structure."""

    def rotation():
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        return q * np.sign(np.diag(r))

    volume = rng.uniform(0.5, 2.0, K) if structure[0] == "V" else np.full(K, 1.0)
    if structure[1] == "I":
        shapes = np.ones((K, d))
    elif structure[1] == "E":
        shapes = np.tile([3.0, 1 / 3.0], (K, 1))
    else:
        ratio = rng.uniform(2.0, 5.0, K)
        shapes = np.column_stack([np.sqrt(ratio), 1 / np.sqrt(ratio)])
    if structure[2] == "I":
        D = np.broadcast_to(np.eye(d), (K, d, d))
    elif structure[2] == "E":
        D = np.broadcast_to(rotation(), (K, d, d))
    else:
        D = np.stack([rotation() for _ in range(K)])
    return np.stack(
        [v * R @ np.diag(a) @ R.T for v, a, R in zip(volume, shapes, D, strict=True)]
    )


@pytest.mark.parametrize("structure", STRUCTURES)
def test_recovers_the_parameters_of_structured_data(structure):
    rng = np.random.RandomState(STRUCTURES.index(structure))
    covariances = _structured_covariances(structure, rng)
    means = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    n = 3000
    X = np.vstack(
        [
            rng.multivariate_normal(m, c, n)
            for m, c in zip(means, covariances, strict=True)
        ]
    )
    gm = GaussianMixtureEM(3, covariance_type=structure, random_state=0, tol=1e-6)
    gm.fit(X)
    order = np.argsort(gm.means_[:, 0] + 2 * gm.means_[:, 1])
    _check_structure(structure, gm.covariances_)
    # n = 3000 per component: sampling error of a few per cent
    assert_allclose(gm.means_[order], means, atol=0.15)
    assert_allclose(gm.covariances_[order], covariances, atol=0.15)
    assert_allclose(gm.weights_, 1 / 3, atol=0.02)


def test_plot_mixture_draws_structured_ellipses():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse

    from emmix.plotting import plot_mixture

    X = _blobs()
    gm = GaussianMixtureEM(3, covariance_type="VEV", random_state=0).fit(X)
    ax = plot_mixture(gm, X)
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert ellipses
    # the ellipses' axes follow the fitted covariances (not a spherical guess)
    widths = {round(e.width / e.height, 6) for e in ellipses}
    ratios = {round(float(np.sqrt(s[0] / s[1])), 6) for s in gm.shape_}
    assert widths <= ratios | {round(1 / r, 6) for r in ratios}
    plt.close("all")


def test_warm_start_and_sample():
    X = _blobs()
    gm = GaussianMixtureEM(3, covariance_type="EVE", random_state=0, warm_start=True)
    gm.set_params(max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration: not converged
        gm.fit(X)
    first = gm.lower_bound_
    gm.set_params(max_iter=200).fit(X)
    # continued from the fitted parameters: starts where the first fit ended
    assert gm.lower_bounds_[0] >= first - 1e-12
    _check_structure("EVE", gm.covariances_)
    # a change of structure starts afresh, with a warning
    with pytest.warns(UserWarning, match="covariance_type"):
        gm.set_params(covariance_type="VVV").fit(X)
    # sample draws from the fitted components
    draws, labels = (
        GaussianMixtureEM(3, covariance_type="VEV", random_state=0).fit(X).sample(30000)
    )
    fitted = GaussianMixtureEM(3, covariance_type="VEV", random_state=0).fit(X)
    for k in range(3):
        rows = draws[labels == k]
        assert_allclose(rows.mean(axis=0), fitted.means_[k], atol=0.05)
        assert_allclose(np.cov(rows.T), fitted.covariances_[k], atol=0.06)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_degenerate_data(structure):
    # a constant column: its mean exact, every covariance finite and valid
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0, 1, (20, 2)), rng.normal(8, 1, (20, 2))]
    X[:, 1] = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixtureEM(2, covariance_type=structure, random_state=0).fit(X)
    assert_allclose(gm.means_[:, 1], 3.0)
    _check_structure(structure, gm.covariances_, rtol=1e-6)
    # as many components as distinct points: each sits on one, variance
    # reg_covar in every direction (all structures agree)
    Xd = np.repeat([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]], 10, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # k-means warns about duplicates
        gm = GaussianMixtureEM(3, covariance_type=structure, random_state=0).fit(Xd)
    assert_allclose(
        gm.covariances_,
        np.broadcast_to(1e-6 * np.eye(2), (3, 2, 2)),
        rtol=1e-6,
        atol=1e-12,
    )


def test_standard_errors_vvv_equal_full_and_constrained_are_refused():
    from emmix.inference import standard_errors

    X = _blobs(n=60)
    kwargs = dict(n_components=2, random_state=0, tol=1e-12, max_iter=1000)
    full = GaussianMixtureEM(covariance_type="full", **kwargs).fit(X[:120])
    vvv = GaussianMixtureEM(covariance_type="VVV", **kwargs).fit(X[:120])
    a, b = standard_errors(full, X[:120]), standard_errors(vvv, X[:120])
    for key in ("weights_", "means_", "covariances_"):
        assert_allclose(b[key], a[key], rtol=1e-5)
    eee = GaussianMixtureEM(covariance_type="EEE", **kwargs).fit(X[:120])
    with pytest.raises(NotImplementedError, match="covariance_type='EEE'"):
        standard_errors(eee, X[:120])
