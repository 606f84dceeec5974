"""The optional compiled kernels against their numpy twins and scipy."""

import numpy as np
import pytest
from scipy.special import logsumexp

from emmix import _compiled
from emmix._responsibilities import _normalize, normalize_log_prob

pytestmark = pytest.mark.skipif(
    not _compiled.has_numba(), reason="numba is not installed"
)


def _log_probs(n, k, seed, scale=300.0):
    rng = np.random.default_rng(seed)
    return np.asfortranarray(rng.normal(scale=scale, size=(n, k)))


@pytest.mark.parametrize("k", [1, 2, 7, 16, 65])
@pytest.mark.parametrize("scale", [1e-3, 3.0, 300.0, 1e6])
def test_compiled_normalisation_equals_numpy(k, scale):
    n = max(_compiled.MIN_ENTRIES // k + 1000, 3 * 256 + 5)
    log_prob = _log_probs(n, k, k, scale) - 1e3  # far from 0 as well
    log_norm, resp = normalize_log_prob(log_prob.copy(order="F"))
    expected_norm, expected = _normalize(log_prob.copy(order="F"))
    assert resp.flags.f_contiguous
    np.testing.assert_allclose(log_norm, expected_norm, rtol=1e-15, atol=0)
    np.testing.assert_allclose(resp, expected, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(log_norm, logsumexp(log_prob, axis=1), rtol=1e-14)


@pytest.mark.parametrize("k", [1, 3, 16, 65])
@pytest.mark.parametrize("scale", [1e-3, 3.0, 300.0])
def test_compiled_normalisation_float32(k, scale):
    n = max(_compiled.MIN_ENTRIES // k + 1000, 3 * 256 + 5)
    log_prob = (_log_probs(n, k, k, scale) - 1e2).astype(np.float32, order="F")
    log_norm, resp = normalize_log_prob(log_prob.copy(order="F"))
    expected_norm, expected = _normalize(log_prob.copy(order="F"))
    assert resp.dtype == log_norm.dtype == np.float32
    # A few units in the last place of float32 (eps 1.2e-7).
    np.testing.assert_allclose(log_norm, expected_norm, rtol=5e-7, atol=1e-5)
    np.testing.assert_allclose(resp, expected, rtol=1e-6, atol=1e-36)
    reference = logsumexp(log_prob.astype(np.float64), axis=1)
    np.testing.assert_allclose(log_norm, reference, rtol=5e-7, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("odd_row", [0, 255, 256, 700, -1])
@pytest.mark.parametrize("value", [-np.inf, np.inf, np.nan])
def test_rows_without_a_finite_maximum_go_to_numpy(odd_row, value, dtype):
    n, k = 4000, 16
    log_prob = _log_probs(n, k, 1).astype(dtype, order="F")
    log_prob[odd_row] = -np.inf
    log_prob[odd_row, 3] = value
    with np.errstate(invalid="ignore"):
        log_norm, resp = normalize_log_prob(log_prob.copy(order="F"))
        expected_norm, expected = _normalize(log_prob.copy(order="F"))
    single = dtype == np.float32
    np.testing.assert_allclose(log_norm, expected_norm, rtol=5e-7 if single else 1e-15)
    np.testing.assert_allclose(
        resp, expected, rtol=1e-6 if single else 1e-14, atol=1e-36 if single else 1e-300
    )
    assert np.isnan(log_norm[odd_row]) == np.isnan(value)
    if value == -np.inf:
        assert log_norm[odd_row] == -np.inf
        np.testing.assert_allclose(resp[odd_row], 1.0 / k)


def test_kernel_applies_only_where_it_pays():
    small = _log_probs(100, 4, 0)
    assert _compiled.compiled_normalize(small, -345.0) == (None, 0)
    c_ordered = np.ascontiguousarray(_log_probs(10_000, 16, 0))
    assert _compiled.compiled_normalize(c_ordered, -345.0) == (None, 0)
    integers = np.asfortranarray(_log_probs(10_000, 16, 0).astype(np.int64))
    assert _compiled.compiled_normalize(integers, -69.0) == (None, 0)
    log_norm, done = _compiled.compiled_normalize(_log_probs(10_000, 16, 0), -345.0)
    assert done == 10_000 and log_norm.shape == (10_000,)


# ----------------------------------------------------- rows with missing values
def _patterns(rng, n_patterns, m, n_features):
    table = np.tile(np.arange(n_features), (n_patterns, 1))
    return np.sort(rng.permuted(table, axis=1)[:, :m], axis=1)


def _group(rng, n_components, m, n_rows, n_patterns, n_features=9, n_block=None):
    n_block = n_block or n_rows + 7
    product = rng.normal(size=(n_components, n_features, n_block))
    missing = _patterns(rng, n_rows, m, n_features)
    cells = np.ascontiguousarray(missing.T * n_block + np.arange(n_rows))
    cond_cov = rng.normal(size=(n_components, m, m, n_patterns + 3))[..., :n_patterns]
    row_pattern = rng.integers(0, n_patterns, n_rows)
    return product, cells, cond_cov, row_pattern


@pytest.mark.parametrize("n_components", [1, 4])
@pytest.mark.parametrize("m", [1, 3, 6])
def test_condition_group_equals_numpy(n_components, m):
    rng = np.random.default_rng(m)
    product, cells, cond_cov, row_pattern = _group(rng, n_components, m, 300, 40)
    delta, explained = _compiled.compiled_condition_group(
        product, cells, cond_cov, row_pattern
    )
    # By hand, one row and component at a time.
    for k in range(n_components):
        for i in range(0, 300, 37):
            b = product[k].ravel()[cells[:, i]]
            expected = -cond_cov[k, :, :, row_pattern[i]] @ b
            np.testing.assert_allclose(delta[k, :, i], expected, rtol=1e-13)
            np.testing.assert_allclose(explained[k, i], b @ expected, rtol=1e-12)
    # Written into a raveled array at given cells (one component).
    if n_components == 1:
        target = np.full(5000, 7.0)
        out_cells = rng.permutation(5000)[: m * 300].reshape(m, 300)
        _compiled.compiled_condition_group(
            product, cells, cond_cov, row_pattern, out=(target, out_cells)
        )
        np.testing.assert_array_equal(target[out_cells], delta[0])
        untouched = np.setdiff1d(np.arange(5000), out_cells)
        assert np.all(target[untouched] == 7.0)


def test_spread_group_equals_einsum():
    rng = np.random.default_rng(3)
    resp = rng.random((200, 5))
    h = rng.normal(size=(30, 5, 4))
    row_pattern = rng.integers(0, 30, 200)
    out = np.zeros(4000)
    out_cells = rng.permutation(4000)[:800].reshape(4, 200)
    assert _compiled.compiled_spread_group(resp, row_pattern, h, out, out_cells)
    expected = np.einsum("rk,rkm->mr", resp, h[row_pattern])
    np.testing.assert_allclose(out[out_cells], expected, rtol=1e-14, atol=1e-15)
    assert not _compiled.compiled_spread_group(
        resp.astype(np.float32), row_pattern, h, out, out_cells
    )


def test_bordered_inverses_equal_numpy_and_linalg(monkeypatch):
    from emmix import _conditional_gaussian as cg

    rng = np.random.default_rng(0)
    n_features, n_components = 7, 3
    mask = rng.random((3000, n_features)) < 0.35
    patterns = cg.missing_patterns(mask)
    index = cg.pattern_index(patterns, n_features, n_components)
    a = rng.normal(size=(n_components, n_features, n_features))
    precision = a @ np.swapaxes(a, 1, 2) + 0.5 * np.eye(n_features)
    compiled = cg.bordered_inverses(precision, index)
    monkeypatch.setattr(cg, "compiled_border_level", lambda *a: (None, None))
    twin = cg.bordered_inverses(precision, index)
    for group in patterns.groups:
        m = group.missing.shape[1]
        np.testing.assert_allclose(compiled[m][0], twin[m][0], rtol=1e-12)
        np.testing.assert_allclose(compiled[m][1], twin[m][1], rtol=1e-12)
        for p in range(0, len(group.missing), 11):
            mis = group.missing[p]
            for k in range(n_components):
                block = precision[k][np.ix_(mis, mis)]
                np.testing.assert_allclose(
                    compiled[m][0][k, :, :, p], np.linalg.inv(block), rtol=1e-10
                )
                np.testing.assert_allclose(
                    compiled[m][1][k, p], np.linalg.slogdet(block)[1], rtol=1e-12
                )
    # A block that is not positive definite: no inverses, as in numpy.
    precision[1, 2, 2] = -1.0
    monkeypatch.undo()
    assert cg.bordered_inverses(precision, index) is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", ["full", "tied"])
def test_missing_value_fits_equal_the_numpy_path(monkeypatch, covariance_type):
    from sklearn.datasets import make_blobs

    from emmix import GaussianMixtureEM, _conditional_gaussian

    # Large enough for the kernels (see compiled_for): 16,000 rows, 3
    # components.
    X, _ = make_blobs(n_samples=16_000, n_features=6, centers=3, random_state=0)
    X[np.random.default_rng(1).random(X.shape) < 0.25] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0

    def fit():
        return GaussianMixtureEM(
            3, covariance_type=covariance_type, max_iter=8, tol=0, random_state=0
        ).fit(X)

    calls = []
    kernel = _conditional_gaussian.compiled_condition_group

    def counted(*args, **kwargs):
        calls.append(1)
        return kernel(*args, **kwargs)

    monkeypatch.setattr(_conditional_gaussian, "compiled_condition_group", counted)
    # The hooks' route (full covariances have a fused route of their own,
    # tested below).
    monkeypatch.setattr(GaussianMixtureEM, "_em_fused_estep", lambda *args: None)
    compiled = fit()
    assert calls  # the kernels ran
    monkeypatch.setattr(_compiled, "has_numba", lambda: False)
    twin = fit()
    for name in ("weights_", "means_", "covariances_"):
        a, b = getattr(compiled, name), getattr(twin, name)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(b).max())
    np.testing.assert_allclose(compiled.lower_bound_, twin.lower_bound_, rtol=1e-13)


def test_centre_products_equal_numpy():
    rng = np.random.default_rng(4)
    product = rng.normal(size=(3, 6, 500))
    centred = rng.normal(size=(6, 500))
    q_means, means = rng.normal(size=(2, 3, 6))
    quad = np.full((3, 800), 5.0)
    expected = product - q_means[:, :, None]
    assert _compiled.compiled_centre_products(
        product, centred, q_means, means, quad[:, 100:600]
    )
    np.testing.assert_array_equal(product, expected)
    by_hand = np.einsum("kdr,kdr->kr", expected, centred - means[:, :, None])
    np.testing.assert_allclose(quad[:, 100:600], by_hand, rtol=1e-12, atol=1e-13)
    assert np.all(quad[:, :100] == 5.0) and np.all(quad[:, 600:] == 5.0)


def test_covariance_sum_places_each_pattern_block():
    rng = np.random.default_rng(5)
    n_components, n_features, m, n_patterns = 3, 8, 3, 12
    missing = _patterns(rng, n_patterns, m, n_features)
    cond_cov = rng.normal(size=(n_components, m, m, n_patterns))
    row_pattern = rng.integers(0, n_patterns, 400)
    resp = rng.random((n_components, 400))
    s2 = rng.normal(size=(n_components, n_features, n_features))
    expected = s2.copy()
    for i, p in enumerate(row_pattern):  # one row at a time, by hand
        for k in range(n_components):
            expected[k][np.ix_(missing[p], missing[p])] += (
                resp[k, i] * cond_cov[k, :, :, p]
            )
    assert _compiled.compiled_covariance_sum(resp, row_pattern, missing, cond_cov, s2)
    np.testing.assert_allclose(s2, expected, rtol=1e-12, atol=1e-12)


def test_shared_pattern_terms_by_hand():
    rng = np.random.default_rng(6)
    n_components, n_features, m, n_patterns = 3, 7, 3, 10
    q_means = rng.normal(size=(n_components, n_features))
    missing = _patterns(rng, n_patterns, m, n_features)
    cond_cov = rng.normal(size=(m, m, n_patterns))
    log_det_mm = rng.normal(size=n_patterns)
    h, consts = _compiled.compiled_shared_pattern_terms(
        q_means, missing, cond_cov, log_det_mm
    )
    for p in range(n_patterns):
        for k in range(n_components):
            alpha = q_means[k, missing[p]]
            expected = cond_cov[:, :, p] @ alpha
            np.testing.assert_allclose(h[p, k], expected, rtol=1e-13)
            np.testing.assert_allclose(
                consts[k, p], log_det_mm[p] - alpha @ expected, rtol=1e-12
            )


def test_shared_pattern_stats_by_hand():
    rng = np.random.default_rng(7)
    n_components, n_features, m, n_patterns, n_rows = 3, 7, 2, 9, 300
    missing = _patterns(rng, n_patterns, m, n_features)
    h = rng.normal(size=(n_patterns, n_components, m))
    cond_cov = rng.normal(size=(m, m, n_patterns))
    row_pattern = rng.integers(0, n_patterns, n_rows)
    resp = rng.random((n_rows, n_components))
    s1 = rng.normal(size=(n_components, n_features))
    s2 = rng.normal(size=(n_features, n_features))
    e1, e2 = s1.copy(), s2.copy()
    for i, p in enumerate(row_pattern):  # one row at a time
        cells = np.ix_(missing[p], missing[p])
        e2[cells] += resp[i].sum() * cond_cov[:, :, p]
        for k in range(n_components):
            e1[k, missing[p]] += resp[i, k] * h[p, k]
            e2[cells] += resp[i, k] * np.outer(h[p, k], h[p, k])
    assert _compiled.compiled_shared_pattern_stats(
        resp, row_pattern, missing, h, cond_cov, s1, s2
    )
    np.testing.assert_allclose(s1, e1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s2, e2, rtol=1e-12, atol=1e-12)


def test_weighted_filled_rows_equal_numpy():
    rng = np.random.default_rng(8)
    n_components, n_features, n_rows = 3, 6, 90
    centred = rng.normal(size=(n_features, n_rows))
    root = rng.random((n_components, n_rows))
    expected = np.repeat(centred[np.newaxis], n_components, axis=0)
    groups = []
    for offset, stop, m in [(10, 40, 1), (40, 90, 2)]:
        missing = _patterns(rng, stop - offset, m, n_features)
        cells = np.ascontiguousarray(missing.T * n_rows + np.arange(offset, stop))
        delta = rng.normal(size=(n_components, m, stop - offset))
        expected.reshape(n_components, -1)[:, cells] = delta
        groups.append((delta, offset, cells))
    expected *= root[:, np.newaxis, :]
    filled = _compiled.compiled_weighted_filled(centred, root, groups)
    np.testing.assert_array_equal(filled, expected)


def test_small_work_stays_in_numpy():
    assert not _compiled.compiled_for(_compiled.MIN_ENTRIES - 1)
    assert _compiled.compiled_for(_compiled.MIN_ENTRIES)


def _by_hand_estep(XT, shift, W, sample_weight, kind, half_root=None):
    """The fused E-step spelled out: features, products, logsumexp, sums."""
    c = XT.astype(np.float64) - shift[:, np.newaxis]
    ones = np.ones((1, c.shape[1]))
    if kind == "tied":
        Y = half_root.astype(np.float64) @ c
        Z = np.vstack([Y, -(Y * Y).sum(axis=0, keepdims=True), ones])
    elif kind == "spherical":
        Z = np.vstack([(c * c).sum(axis=0, keepdims=True), c, ones])
    elif kind == "full":
        rows, cols = np.triu_indices(c.shape[0])
        Z = np.vstack([c[rows] * c[cols], c, ones])
    else:
        Z = np.vstack([c * c, c, ones])
    log_prob = (W.astype(np.float64) @ Z).T
    log_norm = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - log_norm[:, np.newaxis])
    if sample_weight is not None:
        resp *= sample_weight[:, np.newaxis]
    if kind == "tied":
        total = resp.sum(axis=1)
        second = np.einsum("n,in,jn->ij", total, c, c)
        return resp.T @ np.vstack([c, ones]).T, second, log_norm
    return resp.T @ Z.T, None, log_norm


@pytest.mark.parametrize("kind", ["diag", "spherical", "full", "tied"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_estep_by_hand(kind, dtype, weighted):
    rng = np.random.default_rng(3)
    n, d, k = 5000, 5, 9  # several of the kernel's blocks, and a partial one
    XT = np.ascontiguousarray(rng.normal(2.0, 3.0, size=(d, n)).astype(dtype))
    shift = rng.normal(size=d).astype(dtype)
    n_terms = {
        "diag": 2 * d + 1,
        "spherical": d + 2,
        "full": d * (d + 1) // 2 + d + 1,
        "tied": d + 2,
    }[kind]
    W = rng.normal(scale=0.5, size=(k, n_terms)).astype(dtype)
    if kind == "tied":
        W[:, d] = 1.0  # -|Y|^2 enters with weight 1: a density
    half_root = np.triu(rng.normal(scale=0.3, size=(d, d))).astype(dtype)
    sample_weight = rng.integers(0, 4, size=n).astype(dtype) if weighted else None
    floor = np.log(np.finfo(dtype).tiny)  # nothing floored: the exact softmax
    sums, second, log_norm = _compiled.compiled_fused_estep(
        XT, shift, W, floor, sample_weight, kind, half_root=half_root
    )
    expected_sums, expected_second, expected_log_norm = _by_hand_estep(
        XT, shift.astype(np.float64), W, sample_weight, kind, half_root
    )
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    # (Rounded as the log-densities summed into it: relative to the largest.)
    np.testing.assert_allclose(
        log_norm, expected_log_norm, rtol=0, atol=rtol * np.abs(expected_log_norm).max()
    )
    # Each statistic relative to its largest magnitude over the components.
    scale = np.abs(expected_sums).max(axis=0)
    assert np.all(np.abs(sums - expected_sums) <= rtol * scale)
    if kind == "tied":
        np.testing.assert_allclose(
            second, expected_second, rtol=0, atol=rtol * np.abs(expected_second).max()
        )
    else:
        assert second is None


def test_fused_estep_leaves_odd_rows_to_numpy():
    rng = np.random.default_rng(4)
    XT = np.ascontiguousarray(rng.normal(size=(3, 4000)))
    W = rng.normal(size=(9, 7))
    W[:, -1] = -np.inf  # every component impossible for every row
    assert _compiled.compiled_fused_estep(XT, np.zeros(3), W, -345.0, None, "diag") == (
        None,
        None,
        None,
    )
    small = np.ascontiguousarray(XT[:, :100])  # too little work to compile for
    assert _compiled.compiled_fused_estep(
        small, np.zeros(3), rng.normal(size=(9, 7)), -345.0, None, "diag"
    ) == (None, None, None)


def _fused_fit_equals_the_hooks(monkeypatch, module, kernel_name, took, make, X):
    """``module.kernel_name`` takes every chunk of a weighted fit (``took``
    says it did from its result), the conformance rule holds, and the fit
    equals the hooks' one."""
    from emmix import GaussianMixtureEM
    from emmix.utils.estimator_checks import check_fused_estep

    sample_weight = np.random.default_rng(5).integers(0, 3, size=len(X))
    calls = []
    kernel = getattr(module, kernel_name)

    def counted(*args, **kwargs):
        result = kernel(*args, **kwargs)
        calls.append(took(result))
        return result

    monkeypatch.setattr(module, kernel_name, counted)
    check_fused_estep(make(), X)  # the conformance rule, on enough rows
    fused = make().fit(X, sample_weight=sample_weight)
    assert calls and all(calls)  # the fused route ran, on every chunk
    monkeypatch.setattr(GaussianMixtureEM, "_em_fused_estep", lambda *args: None)
    hooks = make().fit(X, sample_weight=sample_weight)
    for name in ("weights_", "means_", "covariances_"):
        a, b = getattr(fused, name), getattr(hooks, name)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.abs(b).max())
    np.testing.assert_allclose(fused.lower_bound_, hooks.lower_bound_, rtol=1e-13)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_fused_gaussian_fits_equal_the_hooks(monkeypatch, covariance_type):
    from sklearn.datasets import make_blobs

    from emmix import GaussianMixtureEM
    from emmix.mixture import _gaussian

    X, _ = make_blobs(n_samples=12_000, n_features=5, centers=4, random_state=0)
    make = lambda: GaussianMixtureEM(  # noqa: E731
        4, covariance_type=covariance_type, max_iter=8, tol=0, random_state=0
    )
    _fused_fit_equals_the_hooks(
        monkeypatch,
        _gaussian,
        "compiled_fused_estep",
        lambda result: result[0] is not None,
        make,
        X,
    )


def _missing_data(rng, n, d, k, dtype, fraction=0.25):
    """Rows of a k-component mixture with entries knocked out at random, a
    few rows with nothing observed, and the mixture's parameters."""
    means = rng.normal(0.0, 2.0, size=(k, d))
    roots = rng.normal(size=(k, d, d)) / np.sqrt(d)
    covariances = roots @ np.swapaxes(roots, 1, 2) + 0.3 * np.eye(d)
    labels = rng.integers(k, size=n)
    X = np.stack([rng.multivariate_normal(means[j], covariances[j]) for j in labels])
    X[rng.random(X.shape) < fraction] = np.nan
    X[:3] = np.nan  # nothing observed
    weights = rng.dirichlet(np.ones(k))
    return X.astype(dtype), weights, means, covariances


def _by_hand_missing_estep(X, weights, means, covariances, shift, sample_weight):
    """The E-step of rows with gaps from the covariances, pattern by pattern:
    scipy's densities of the observed entries, the conditional means and
    covariances of the missing ones (no precision matrix anywhere)."""
    from scipy.stats import multivariate_normal

    n, d = X.shape
    k = len(weights)
    mask = np.isnan(X)
    log_prob = np.zeros((n, k))
    filled = np.repeat(X[:, np.newaxis, :].astype(np.float64), k, axis=1)
    cond_cov = np.zeros((n, k, d, d))
    keys, inverse = np.unique(mask, axis=0, return_inverse=True)
    for pattern, missing in enumerate(keys):
        rows = np.flatnonzero(inverse.ravel() == pattern)
        o, m = ~missing, missing
        for j in range(k):
            mu, sigma = means[j], covariances[j]
            if o.any():
                x_o = X[np.ix_(rows, o)].astype(np.float64)
                log_prob[rows, j] = multivariate_normal(
                    mu[o], sigma[np.ix_(o, o)]
                ).logpdf(x_o)
                gain = np.linalg.solve(sigma[np.ix_(o, o)], sigma[np.ix_(o, m)]).T
                fill = mu[m] + (x_o - mu[o]) @ gain.T
                block = sigma[np.ix_(m, m)] - gain @ sigma[np.ix_(o, m)]
            else:
                fill = np.broadcast_to(mu[m], (len(rows), m.sum()))
                block = sigma[np.ix_(m, m)]
            filled[np.ix_(rows, [j], m)] = fill[:, np.newaxis, :]
            cond_cov[np.ix_(rows, [j], m, m)] = block
    log_prob += np.log(weights)
    log_norm = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - log_norm[:, np.newaxis])
    if sample_weight is not None:
        resp *= sample_weight[:, np.newaxis]
    centred = filled - shift
    s1 = np.einsum("nk,nkd->kd", resp, centred)
    s2 = np.einsum("nk,nkd,nke->kde", resp, centred, centred)
    s2 += np.einsum("nk,nkde->kde", resp, cond_cov)
    return s1, s2, resp.sum(axis=0), log_norm


@pytest.mark.parametrize(
    "dtype, weighted, batched",
    [
        (np.float64, False, False),
        (np.float64, True, False),
        (np.float32, False, False),
        (np.float32, True, False),
        (np.float64, False, True),
    ],
)
def test_fused_missing_full_by_hand(monkeypatch, dtype, weighted, batched):
    from emmix.mixture._gaussian_missing import fused_missing_full

    if batched:  # the patterns factorised 8 at a time
        monkeypatch.setattr(_compiled, "_PATTERN_BATCH_ENTRIES", 1)
    rng = np.random.default_rng(7)
    n, d, k = 9000, 5, 4  # several of the kernel's blocks, and a partial one
    X, weights, means, covariances = _missing_data(rng, n, d, k, dtype)
    shift = (weights @ means + 0.1).astype(dtype)
    prec_chol = np.linalg.cholesky(np.linalg.inv(covariances)).astype(dtype)
    sample_weight = rng.integers(0, 4, size=n).astype(dtype) if weighted else None
    floor = np.log(np.finfo(dtype).tiny)  # nothing floored: the exact softmax
    stats, log_norm = fused_missing_full(
        X,
        means.astype(dtype),
        prec_chol,
        np.log(weights).astype(dtype),
        shift,
        sample_weight,
        floor,
        None,
    )
    # The precisions the kernel sees are those of prec_chol, rounded.
    covariances = np.linalg.inv(
        prec_chol.astype(np.float64) @ np.swapaxes(prec_chol, 1, 2)
    )
    s1, s2, nk, expected_log_norm = _by_hand_missing_estep(
        X, weights, means.astype(dtype), covariances, shift, sample_weight
    )
    rtol = 1e-11 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(
        log_norm, expected_log_norm, rtol=0, atol=rtol * np.abs(expected_log_norm).max()
    )
    rows, cols = np.triu_indices(d)
    for got, expected in ((stats["s1"], s1), (stats["s2"], s2[:, rows, cols])):
        assert np.all(np.abs(got - expected) <= rtol * np.abs(expected).max(axis=0))
    np.testing.assert_allclose(stats["nk"], nk, rtol=rtol)


def test_fused_missing_full_declines_what_it_cannot_do(monkeypatch):
    from emmix.mixture._gaussian_missing import fused_missing_full

    rng = np.random.default_rng(8)
    n, d, k = 9000, 2, 4
    X, weights, means, covariances = _missing_data(rng, n, d, k, np.float64)
    prec_chol = np.linalg.cholesky(np.linalg.inv(covariances))
    args = (X, means, prec_chol, np.log(weights), weights @ means)
    assert fused_missing_full(*args, None, -700.0, None)[0] is not None
    # Negative weights (no square root), a mean far from the centre in its
    # own units (the expansion would cancel too much), too little work.
    negative = np.ones(n)
    negative[5] = -1.0
    assert fused_missing_full(*args, negative, -700.0, None) == (None, None)
    far = (*args[:4], weights @ means + 1000.0)
    assert fused_missing_full(*far, None, -700.0, None) == (None, None)
    small = (X[:100], *args[1:])
    assert fused_missing_full(*small, None, -700.0, None) == (None, None)
    # A row whose missing entry its observed one pins far from the zero
    # fill: u^T Q u cancels more than CANCELLATION_MAX against b^T C b.
    tight = np.array([[1.0, 0.999999], [0.999999, 1.0]])
    prec_tight = np.linalg.cholesky(np.linalg.inv(np.stack([tight] * k)))
    X_far = X.copy()
    X_far[10] = [60.0, np.nan]
    zero_means = np.zeros((k, d))
    tight_args = (X_far, zero_means, prec_tight, np.log(weights), np.zeros(d))
    assert fused_missing_full(*tight_args, None, -700.0, None) == (None, None)
    # Without numba nothing is built for the kernel, nor kept in the memo.
    monkeypatch.setattr(_compiled, "has_numba", lambda: False)
    cache = {"memo": {}}
    assert fused_missing_full(*args, None, -700.0, cache) == (None, None)
    assert cache["memo"] == {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_fused_missing_fits_equal_the_hooks(monkeypatch, covariance_type):
    from sklearn.datasets import make_blobs

    from emmix import GaussianMixtureEM
    from emmix.mixture import _gaussian_missing

    X, _ = make_blobs(n_samples=16_000, n_features=6, centers=3, random_state=0)
    X[np.random.default_rng(1).random(X.shape) < 0.25] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 1.0
    make = lambda: GaussianMixtureEM(  # noqa: E731
        3, covariance_type=covariance_type, max_iter=8, tol=0, random_state=0
    )
    if covariance_type == "full":
        kernel, took = "compiled_fused_missing_full", lambda result: result is not None
    else:
        kernel, took = "compiled_fused_estep", lambda result: result[0] is not None
    _fused_fit_equals_the_hooks(monkeypatch, _gaussian_missing, kernel, took, make, X)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_missing_diag_by_hand(covariance_type, dtype, weighted):
    from scipy.stats import norm

    from emmix.mixture._gaussian_missing import fused_missing_diag

    rng = np.random.default_rng(9)
    n, d, k = 9000, 5, 4
    means = rng.normal(0.0, 2.0, size=(k, d))
    shape = (k, d) if covariance_type == "diag" else (k,)
    covariances = rng.uniform(0.3, 2.0, size=shape)
    variances = covariances if covariance_type == "diag" else covariances[:, None]
    variances = np.broadcast_to(variances, (k, d))
    labels = rng.integers(k, size=n)
    X = rng.normal(means[labels], np.sqrt(variances[labels]))
    X[rng.random(X.shape) < 0.25] = np.nan
    X[:3] = np.nan  # nothing observed
    X = X.astype(dtype)
    weights = rng.dirichlet(np.ones(k))
    shift = (weights @ means + 0.1).astype(dtype)
    sample_weight = rng.integers(0, 4, size=n).astype(dtype) if weighted else None
    floor = np.log(np.finfo(dtype).tiny)  # nothing floored: the exact softmax
    stats, log_norm = fused_missing_diag(
        X,
        means.astype(dtype),
        covariances.astype(dtype),
        covariance_type,
        np.log(weights).astype(dtype),
        shift,
        sample_weight,
        floor,
        None,
    )
    # By hand: scipy's density of each observed entry, a missing entry at
    # its component's mean with its variance.
    x = X.astype(np.float64)[:, None, :]
    mu = means.astype(dtype).astype(np.float64)[None]
    var = variances.astype(dtype).astype(np.float64)[None]
    seen = ~np.isnan(x)
    log_prob = np.where(seen, norm.logpdf(x, mu, np.sqrt(var)), 0.0).sum(axis=2)
    log_prob += np.log(weights)
    expected_log_norm = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - expected_log_norm[:, None])
    if weighted:
        resp *= sample_weight[:, None]
    filled = np.where(seen, x, mu) - shift
    s1 = np.einsum("nk,nkd->kd", resp, filled)
    s2 = np.einsum("nk,nkd->kd", resp, filled**2 + np.where(seen, 0.0, var))
    if covariance_type == "spherical":
        s2 = s2.sum(axis=1)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    np.testing.assert_allclose(
        log_norm, expected_log_norm, rtol=0, atol=rtol * np.abs(expected_log_norm).max()
    )
    for got, expected in ((stats["s1"], s1), (stats["s2"], s2)):
        assert np.all(np.abs(got - expected) <= rtol * np.abs(expected).max(axis=0))
    np.testing.assert_allclose(stats["nk"], resp.sum(axis=0), rtol=rtol)
