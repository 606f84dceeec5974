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


@pytest.mark.parametrize("odd_row", [0, 255, 256, 700, -1])
@pytest.mark.parametrize("value", [-np.inf, np.inf, np.nan])
def test_rows_without_a_finite_maximum_go_to_numpy(odd_row, value):
    n, k = 4000, 16
    log_prob = _log_probs(n, k, 1)
    log_prob[odd_row] = -np.inf
    log_prob[odd_row, 3] = value
    with np.errstate(invalid="ignore"):
        log_norm, resp = normalize_log_prob(log_prob.copy(order="F"))
        expected_norm, expected = _normalize(log_prob.copy(order="F"))
    np.testing.assert_allclose(log_norm, expected_norm, rtol=1e-15)
    np.testing.assert_allclose(resp, expected, rtol=1e-14, atol=1e-300)
    assert np.isnan(log_norm[odd_row]) == np.isnan(value)
    if value == -np.inf:
        assert log_norm[odd_row] == -np.inf
        np.testing.assert_allclose(resp[odd_row], 1.0 / k)


def test_kernel_applies_only_where_it_pays():
    small = _log_probs(100, 4, 0)
    assert _compiled.compiled_normalize(small, -345.0) == (None, 0)
    c_ordered = np.ascontiguousarray(_log_probs(10_000, 16, 0))
    assert _compiled.compiled_normalize(c_ordered, -345.0) == (None, 0)
    single = _log_probs(10_000, 16, 0).astype(np.float32, order="F")
    assert _compiled.compiled_normalize(single, -69.0) == (None, 0)
    log_norm, done = _compiled.compiled_normalize(_log_probs(10_000, 16, 0), -345.0)
    assert done == 10_000 and log_norm.shape == (10_000,)
