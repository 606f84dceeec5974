"""mclust's covariance structures: constraints, optimality, nesting, counts.

Every M-step is checked against direct numerical maximisation of the
complete-data objective over the structure's own parametrisation
(volume, shape, orientation), with scipy.optimize from several random
starts, and the four scikit-learn types against scikit-learn itself.
"""

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import linalg, optimize
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

from emmix.mixture._covariance_structures import (
    SKLEARN_STRUCTURES,
    STRUCTURES,
    _round_robin,
    canonical_structure,
    covariance_mstep,
    decompose,
    n_covariance_parameters,
)
from emmix.mixture._gaussian import gaussian_mstep, gaussian_stats

SHAPES = [(2, 2), (3, 3), (2, 3)]  # (n_components, n_features)


def _problem(K, d, seed, n=40):
    """Scatter and nk from random data and random responsibilities."""
    rng = np.random.default_rng(seed)
    X = np.concatenate(
        [
            rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
            + 3 * rng.standard_normal(d)
            for _ in range(K)
        ]
    )
    resp = rng.dirichlet(np.full(K, 0.7), size=len(X))
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    scatter = np.stack(
        [(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(K)]
    )
    return X, resp, scatter, nk


def objective(covariances, scatter, nk):
    """sum_k -n_k/2 log det S_k - 1/2 tr(W_k S_k^-1), straight from numpy."""
    sign, logdet = np.linalg.slogdet(covariances)
    assert np.all(sign > 0)
    trace = np.trace(np.linalg.solve(covariances, scatter), axis1=1, axis2=2)
    return float(np.sum(-0.5 * nk * logdet - 0.5 * trace))


def _expm_skew(skew):
    """exp(S) of real skew-symmetric S, from the Hermitian eigenproblem of iS."""
    w, V = np.linalg.eigh(1j * skew)
    return np.real(np.einsum("kij,kj,klj->kil", V, np.exp(-1j * w), V.conj()))


def _unpack(structure, theta, K, d):
    """Covariances lambda_k D_k A_k D_k^T from free parameters.

    Log-volumes (1 or K), log-shapes with zero sum (0, 1 or K sets of d - 1)
    and rotations exp(skew) (0, 1 or K sets of d(d-1)/2): as many numbers as
    mclust counts.
    """
    volume, shape, orientation = structure
    pos = 0

    def take(size):
        nonlocal pos
        out = theta[pos : pos + size]
        pos += size
        return out

    log_volume = np.broadcast_to(take(1 if volume == "E" else K), (K,))
    if shape == "I":
        log_shape = np.zeros((K, d))
    else:
        m = 1 if shape == "E" else K
        free = take(m * (d - 1)).reshape(m, d - 1)
        log_shape = np.broadcast_to(np.column_stack([free, -free.sum(axis=1)]), (K, d))
    if shape == "I" or orientation == "I":
        rotations = np.broadcast_to(np.eye(d), (K, d, d))
    else:
        m = 1 if orientation == "E" else K
        rows, cols = np.triu_indices(d, 1)
        skew = np.zeros((m, d, d))
        skew[:, rows, cols] = take(m * len(rows)).reshape(m, len(rows))
        rotations = np.broadcast_to(
            _expm_skew(skew - np.swapaxes(skew, 1, 2)), (K, d, d)
        )
    assert pos == len(theta)
    return np.exp(log_volume)[:, None, None] * np.einsum(
        "kij,kj,klj->kil", rotations, np.exp(log_shape), rotations
    )


def _numerical_optimum(structure, scatter, nk, n_starts=6, seed=0):
    K, d, _ = scatter.shape
    size = n_covariance_parameters(structure, K, d)
    scale = np.log(np.trace(scatter.sum(axis=0)) / (d * nk.sum()))
    rng = np.random.default_rng(seed)

    def loss(theta):
        return -objective(_unpack(structure, theta, K, d), scatter, nk) / nk.sum()

    best = -np.inf
    for _ in range(n_starts):
        start = rng.normal(scale=0.7, size=size)
        start[: 1 if structure[0] == "E" else K] += scale
        fit = optimize.minimize(loss, start, method="BFGS", options={"gtol": 1e-9})
        best = max(best, -fit.fun * nk.sum())
    return best


def _letters_below(special, general):
    """special's letters each at most general's: E < V, I < E < V."""
    order = {"I": 0, "E": 1, "V": 2}
    return special != general and all(
        order[s] <= order[g] for s, g in zip(special, general, strict=True)
    )


def _check_constraints(structure, cov):
    K, d, _ = cov.shape
    assert_allclose(cov, np.swapaxes(cov, 1, 2), atol=1e-12)
    eig = np.linalg.eigvalsh(cov)[:, ::-1]
    assert np.all(eig > 0)
    volume = np.exp(np.mean(np.log(eig), axis=1))
    scaled = cov / volume[:, None, None]
    volume_letter, shape, orientation = structure
    if volume_letter == "E":
        assert_allclose(volume, np.full(K, volume[0]), rtol=1e-9)
    if shape == "I":
        assert_allclose(scaled, np.broadcast_to(np.eye(d), cov.shape), atol=1e-9)
    if orientation == "I":
        off = cov - np.eye(d) * np.diagonal(cov, axis1=1, axis2=2)[:, None, :]
        assert_allclose(off, 0.0, atol=1e-12)
    if shape == "E" and orientation in "IE":
        assert_allclose(scaled, np.broadcast_to(scaled[0], cov.shape), atol=1e-9)
    if shape == "E":
        shapes = eig / volume[:, None]
        assert_allclose(shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=1e-9)
    if orientation == "E":  # one orthogonal D diagonalises all: they commute
        for a, b in itertools.combinations(cov, 2):
            assert_allclose(a @ b, b @ a, atol=1e-9 * np.abs(a @ b).max())


@pytest.mark.parametrize(
    "structure, K, d",
    [(s, K, d) for K, d in SHAPES for s in STRUCTURES]
    + [(s, 3, 4) for s in ("VEE", "EVE", "VVE", "VEV")],
)
def test_mstep_is_the_constrained_maximum(structure, K, d):
    _, _, scatter, nk = _problem(K, d, seed=10 * K + d)
    cov = covariance_mstep(structure, scatter, nk, tol=1e-13, max_iter=100_000)
    assert cov.shape == (K, d, d)
    _check_constraints(structure, cov)
    ours = objective(cov, scatter, nk)
    best = _numerical_optimum(structure, scatter, nk)
    # at least as good as every start, and the same optimum
    assert ours >= best - 1e-9 * abs(best)
    assert ours == pytest.approx(best, rel=1e-6)


@pytest.mark.parametrize("structure", ["VEI", "VEE", "EVE", "VVE", "VEV"])
def test_default_tolerance_is_close_and_warm_start_agrees(structure):
    _, _, scatter, nk = _problem(3, 3, seed=5)
    tight = covariance_mstep(structure, scatter, nk, tol=1e-14, max_iter=100_000)
    default = covariance_mstep(structure, scatter, nk)
    q = objective(tight, scatter, nk)
    assert objective(default, scatter, nk) == pytest.approx(q, rel=1e-8)
    # a warm start from a neighbouring problem's answer reaches the same optimum
    _, _, other, other_nk = _problem(3, 3, seed=6)
    previous = covariance_mstep(structure, other, other_nk, reg_covar=0.1)
    warm = covariance_mstep(
        structure, scatter, nk, previous=previous, tol=1e-14, max_iter=100_000
    )
    assert objective(warm, scatter, nk) == pytest.approx(q, rel=1e-10)
    _check_constraints(structure, warm)


@pytest.mark.parametrize("K, d", SHAPES)
def test_nested_structures_are_ordered(K, d):
    _, _, scatter, nk = _problem(K, d, seed=100 + K + d)
    value = {
        s: objective(covariance_mstep(s, scatter, nk, tol=1e-13), scatter, nk)
        for s in STRUCTURES
    }
    pairs = [
        (special, general)
        for special, general in itertools.product(STRUCTURES, repeat=2)
        if _letters_below(special, general)
    ]
    assert ("EEE", "EVE") in pairs and ("EEI", "VEI") in pairs
    assert ("VII", "VVV") in pairs and ("EVI", "EVV") in pairs
    for special, general in pairs:
        assert value[general] >= value[special] - 1e-9 * abs(value[special]), (
            special,
            general,
        )
    # the chains named in mclust's documentation
    for chain in (["EII", "EEI", "EEE", "VVV"], ["VII", "VVI", "VVV"]):
        assert all(value[a] <= value[b] for a, b in itertools.pairwise(chain))


@pytest.mark.parametrize("structure", STRUCTURES)
def test_reg_covar_is_a_regularised_scatter(structure):
    """reg adds reg * n_k * I to W_k: the optimum of that problem, structure kept."""
    _, _, scatter, nk = _problem(3, 2, seed=7)
    reg = 0.3
    cov = covariance_mstep(structure, scatter, nk, reg_covar=reg, tol=1e-13)
    _check_constraints(structure, cov)
    regularised = scatter + reg * nk[:, None, None] * np.eye(2)
    expected = covariance_mstep(structure, regularised, nk, tol=1e-13)
    assert_allclose(cov, expected, rtol=1e-8)
    # for these, the same as adding reg to the diagonal of the result
    if structure in ("EII", "VII", "EEI", "VVI", "EEE", "EEV", "VVV"):
        plain = covariance_mstep(structure, scatter, nk, tol=1e-13)
        assert_allclose(cov, plain + reg * np.eye(2), rtol=1e-10)


@pytest.mark.parametrize("covariance_type", list(SKLEARN_STRUCTURES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sklearn_types_match_sklearn_and_emmix(covariance_type, dtype):
    X, resp, _, _ = _problem(3, 3, seed=3)
    X, resp = X.astype(dtype), resp.astype(dtype)
    reg = 1e-3
    nk, means, expected = _estimate_gaussian_parameters(X, resp, reg, covariance_type)
    scatter = np.stack(
        [(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(3)]
    )
    rtol = 1e-12 if dtype == np.float64 else 1e-4
    for name in (covariance_type, SKLEARN_STRUCTURES[covariance_type]):
        cov = covariance_mstep(name, scatter, nk, reg_covar=reg)
        assert cov.dtype == dtype
        full = {
            "full": lambda e: e,
            "tied": lambda e: np.broadcast_to(e, (3, 3, 3)),
            "diag": lambda e: e[:, None, :] * np.eye(3),
            "spherical": lambda e: e[:, None, None] * np.eye(3),
        }[covariance_type](expected)
        assert_allclose(cov, full, rtol=rtol, atol=rtol * np.abs(full).max())
    # emmix's own M-step, from its own statistics
    shift = X.mean(axis=0)
    stats = gaussian_stats(X, resp, shift, covariance_type)
    stats["nk"] = resp.sum(axis=0)
    _, emmix_cov = gaussian_mstep(stats, shift, reg, covariance_type)
    assert_allclose(emmix_cov, expected, rtol=10 * rtol, atol=rtol)


def test_parameter_counts_match_mclust():
    # mclust's nVarParams (R/mclust.R, mclust 6.1) and Scrucca et al. (2016),
    # The R Journal 8(1), Table 3, written out here for G components, d features.
    formulas = {
        "EII": lambda G, d: 1,
        "VII": lambda G, d: G,
        "EEI": lambda G, d: d,
        "VEI": lambda G, d: G + (d - 1),
        "EVI": lambda G, d: 1 + G * (d - 1),
        "VVI": lambda G, d: G * d,
        "EEE": lambda G, d: d * (d + 1) / 2,
        "EVE": lambda G, d: 1 + G * (d - 1) + d * (d - 1) / 2,
        "VEE": lambda G, d: G + (d - 1) + d * (d - 1) / 2,
        "VVE": lambda G, d: G + G * (d - 1) + d * (d - 1) / 2,
        "EEV": lambda G, d: 1 + (d - 1) + G * d * (d - 1) / 2,
        "VEV": lambda G, d: G + (d - 1) + G * d * (d - 1) / 2,
        "EVV": lambda G, d: 1 - G + G * d * (d + 1) / 2,
        "VVV": lambda G, d: G * d * (d + 1) / 2,
    }
    assert set(formulas) == set(STRUCTURES)
    for name, G, d in itertools.product(STRUCTURES, range(1, 6), range(1, 7)):
        got = n_covariance_parameters(name, G, d)
        assert isinstance(got, int)
        assert got == formulas[name](G, d), (name, G, d)
    # scikit-learn's counts for its four types (GaussianMixture._n_parameters)
    G, d = 4, 5
    assert n_covariance_parameters("full", G, d) == G * d * (d + 1) // 2
    assert n_covariance_parameters("diag", G, d) == G * d
    assert n_covariance_parameters("tied", G, d) == d * (d + 1) // 2
    assert n_covariance_parameters("spherical", G, d) == G


def test_decompose_rebuilds_and_orders():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((3, 4, 4))
    cov = A @ np.swapaxes(A, 1, 2) + 0.1 * np.eye(4)
    volume, shape, orientation = decompose(cov)
    assert_allclose(volume, np.linalg.det(cov) ** (1 / 4), rtol=1e-12)
    assert_allclose(np.prod(shape, axis=1), 1.0, rtol=1e-12)
    assert np.all(np.diff(shape, axis=1) <= 0)
    assert_allclose(
        np.swapaxes(orientation, 1, 2) @ orientation,
        np.broadcast_to(np.eye(4), cov.shape),
        atol=1e-12,
    )
    rebuilt = volume[:, None, None] * np.einsum(
        "kij,kj,klj->kil", orientation, shape, orientation
    )
    assert_allclose(rebuilt, cov, rtol=1e-10, atol=1e-12)
    # diagonal input: the axes, largest variance first, positive signs
    volume, shape, orientation = decompose(np.diag([1.0, 9.0, 3.0])[None])
    assert_allclose(volume, [3.0])
    assert_allclose(shape, [[3.0, 1.0, 1 / 3]])
    assert_allclose(orientation[0], np.eye(3)[:, [1, 2, 0]])


def test_decompose_of_fitted_structures():
    _, _, scatter, nk = _problem(3, 3, seed=1)
    volume, shape, _ = decompose(covariance_mstep("VEV", scatter, nk))
    assert_allclose(shape, np.broadcast_to(shape[0], shape.shape), rtol=1e-8)
    assert np.ptp(volume) > 0.01
    volume, shape, _ = decompose(covariance_mstep("EEV", scatter, nk))
    assert_allclose(volume, volume[0], rtol=1e-10)
    assert_allclose(shape, np.broadcast_to(shape[0], shape.shape), rtol=1e-10)


def test_names_and_bad_input():
    assert canonical_structure("full") == "VVV"
    assert canonical_structure("EVE") == "EVE"
    assert {canonical_structure(t) for t in SKLEARN_STRUCTURES} == {
        "VII",
        "VVI",
        "EEE",
        "VVV",
    }
    _, _, scatter, nk = _problem(2, 2, seed=0)
    with pytest.raises(ValueError, match="structure='XYZ'"):
        covariance_mstep("XYZ", scatter, nk)
    with pytest.raises(ValueError, match="structure='eee'"):
        n_covariance_parameters("eee", 2, 2)
    with pytest.raises(ValueError, match="scatter must have shape"):
        covariance_mstep("VVV", scatter[0], nk)
    with pytest.raises(ValueError, match=r"nk must have shape \(2,\)"):
        covariance_mstep("VVV", scatter, nk[:1])
    with pytest.raises(ValueError, match=r"nk\[1\] must be positive"):
        covariance_mstep("VVV", scatter, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="reg_covar must be >= 0"):
        covariance_mstep("VVV", scatter, nk, reg_covar=-1.0)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        covariance_mstep("VEE", scatter, nk, tol=-1.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        covariance_mstep("VEE", scatter, nk, max_iter=0)
    with pytest.raises(TypeError, match="max_iter must be an int"):
        covariance_mstep("VEE", scatter, nk, max_iter=10.0)
    # a previous answer that is no covariance only loses the warm start
    for structure in ("VEI", "VEE", "EVE", "VVE", "VEV"):
        assert_allclose(
            covariance_mstep(structure, scatter, nk, previous=np.zeros_like(scatter)),
            covariance_mstep(structure, scatter, nk),
            rtol=1e-15,
        )
    with pytest.raises(ValueError, match="previous must have shape"):
        covariance_mstep("VEE", scatter, nk, previous=scatter[:1])
    with pytest.raises(ValueError, match="n_features must be >= 1"):
        n_covariance_parameters("VVV", 2, 0)
    with pytest.raises(TypeError, match="n_components must be an int"):
        n_covariance_parameters("VVV", 2.0, 3)
    with pytest.raises(ValueError, match=r"covariances\[1\] is not positive"):
        decompose(np.stack([np.eye(2), -np.eye(2)]))


@pytest.mark.parametrize("structure", STRUCTURES)
def test_emptied_component_stays_finite(structure):
    """A component with no points (nk = 10 eps, zero scatter) and reg_covar."""
    _, _, scatter, nk = _problem(3, 2, seed=2)
    scatter[1] = 0.0
    nk[1] = 10 * np.finfo(float).eps
    cov = covariance_mstep(structure, scatter, nk, reg_covar=1e-6)
    assert np.all(np.isfinite(cov))
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    _check_constraints(structure, cov)


def test_rotation_helper_is_scipy_expm():
    rng = np.random.default_rng(0)
    skew = rng.standard_normal((2, 3, 3))
    skew -= np.swapaxes(skew, 1, 2)
    assert_allclose(_expm_skew(skew), linalg.expm(skew), atol=1e-12)


def test_one_feature_reduces_to_volumes():
    _, _, scatter, nk = _problem(3, 1, seed=8)
    for structure in STRUCTURES:
        expected = "EII" if structure[0] == "E" else "VII"
        assert_allclose(
            covariance_mstep(structure, scatter, nk),
            covariance_mstep(expected, scatter, nk),
            rtol=1e-12,
        )
        assert n_covariance_parameters(structure, 3, 1) == (
            1 if structure[0] == "E" else 3
        )


@pytest.mark.parametrize("d", range(1, 9))
def test_round_robin_sweeps_every_plane_once(d):
    rounds = _round_robin(d)
    planes = [
        (int(i), int(j))
        for first, second in rounds
        for i, j in zip(first, second, strict=True)
    ]
    assert sorted(planes) == [(i, j) for i in range(d) for j in range(i + 1, d)]
    for first, second in rounds:  # disjoint within a round
        touched = np.concatenate([first, second])
        assert len(set(touched.tolist())) == len(touched)


@pytest.mark.parametrize("structure", STRUCTURES)
def test_em_with_structure_never_decreases_loglik(structure):
    """A plain EM loop with the kernel's M-step (warm-started) climbs, as ECM must."""
    rng = np.random.default_rng(4)
    K, d, n = 3, 3, 150
    X = np.concatenate(
        [
            rng.standard_normal((n // K, d)) @ rng.standard_normal((d, d)) + 3 * k
            for k in range(K)
        ]
    )
    resp = rng.dirichlet(np.ones(K), size=n)
    previous, logliks = None, []
    for _ in range(25):
        nk = resp.sum(axis=0)
        means = resp.T @ X / nk[:, None]
        scatter = np.stack(
            [(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) for k in range(K)]
        )
        cov = covariance_mstep(
            structure, scatter, nk, reg_covar=1e-6, previous=previous
        )
        previous = cov
        log_dens = np.column_stack(
            [multivariate_normal(means[k], cov[k]).logpdf(X) for k in range(K)]
        ) + np.log(nk / n)
        total = logsumexp(log_dens, axis=1)
        logliks.append(total.sum())
        resp = np.exp(log_dens - total[:, None])
    # the penalised objective (reg 1e-6) climbs; the log-likelihood up to that
    assert np.all(np.diff(logliks) >= -1e-6 * abs(logliks[-1]))


@pytest.mark.parametrize("structure", ["EII", "VII", "EEI", "VEI", "EVI", "VVI"])
def test_axis_structures_read_only_the_diagonal(structure):
    """So an estimator may keep only the diagonal statistics for them."""
    _, _, scatter, nk = _problem(3, 3, seed=9)
    diagonal = scatter * np.eye(3)
    assert_allclose(
        covariance_mstep(structure, diagonal, nk),
        covariance_mstep(structure, scatter, nk),
        rtol=1e-13,
    )
