"""Blocked matrix products (emmix._products) against numpy's one-shot ones."""

import numpy as np
import pytest

from emmix._products import MIN_BLOCK, matmul_long, matmul_long_nt


@pytest.mark.parametrize("n", [0, 1, MIN_BLOCK - 1, MIN_BLOCK, 3 * MIN_BLOCK + 7, 5000])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_products_equal_one_shot(n, dtype):
    rng = np.random.default_rng(n)
    A = rng.normal(size=(16, 33)).astype(dtype)
    B = rng.normal(size=(33, n)).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(matmul_long(A, B), A @ B, rtol=tol, atol=tol)
    out = np.full((16, n), np.nan, dtype=dtype)
    assert matmul_long(A, B, out=out) is out
    np.testing.assert_allclose(out, A @ B, rtol=tol, atol=tol)
    # A @ B.T summed over blocks of the long side: sums of n terms.
    R = rng.random((16, n)).astype(dtype)
    scale = max(n, 1)
    np.testing.assert_allclose(
        matmul_long_nt(R, B), R @ B.T, rtol=tol * scale, atol=tol * scale
    )


@pytest.mark.parametrize("small", [(16, 170), (4, 33), (64, 33)])
def test_products_on_either_side_of_the_block_rule(small):
    # Small sides above ~1,000 entries are one call, smaller ones blocks.
    rng = np.random.default_rng(1)
    m, k = small
    A = rng.normal(size=(m, k))
    B = rng.normal(size=(k, 7001))
    np.testing.assert_allclose(matmul_long(A, B), A @ B, rtol=1e-12, atol=1e-12)
    R = rng.random((m, 7001))
    C = rng.normal(size=(k, 7001))
    np.testing.assert_allclose(matmul_long_nt(R, C), R @ C.T, rtol=1e-11, atol=1e-9)
    R32, C32 = R.astype(np.float32), C.astype(np.float32)
    result = matmul_long_nt(R32, C32)
    assert result.dtype == np.float32 and result.flags.c_contiguous
    np.testing.assert_allclose(result, R @ C.T, rtol=2e-4, atol=2e-3)


def test_blocked_products_on_strided_views():
    # The E-step hands over row slices of a larger feature matrix.
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(40, 3000))
    A = rng.normal(size=(8, 20))
    np.testing.assert_allclose(matmul_long(A, Z[10:30]), A @ Z[10:30], rtol=1e-12)
    np.testing.assert_allclose(
        matmul_long_nt(Z[:8], Z[20:30]), Z[:8] @ Z[20:30].T, rtol=1e-11
    )
