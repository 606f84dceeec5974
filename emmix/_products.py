"""Matrix products with one long side, taken in blocks (pure numpy).

The E-step multiplies small parameter matrices (K by a few dozen) with a
chunk's thousands of rows. numpy's wheels link OpenBLAS, whose small-matrix
kernels handle products of up to about a million multiply-adds far better
than its general path handles long, thin ones: measured on 2 AMD EPYC cores,
(16 x 33) @ (33 x 10,000) ran 1.4x faster in blocks of 1,024 columns, and
(16 x 10,000) @ (10,000 x 32) 1.6x faster summed over such blocks. Other BLAS
libraries lose nothing measurable by the blocking. The results equal the
one-shot products up to rounding (the summation order of the long side
changes).
"""

from __future__ import annotations

import numpy as np

__all__ = ["matmul_long", "matmul_long_nt"]

#: Multiply-adds per block product: under OpenBLAS's small-matrix threshold.
BLOCK_MULTIPLY_ADDS = 2**19
#: Never fewer columns per block than this (per-call overhead).
MIN_BLOCK = 256


def _block(m: int, k: int) -> int:
    return max(MIN_BLOCK, BLOCK_MULTIPLY_ADDS // max(m * k, 1))


def matmul_long(A, B, out=None):
    """``A @ B`` for a small ``A`` (m, k) and a long ``B`` (k, n), by column blocks.

    Parameters
    ----------
    A : ndarray of shape (m, k)
    B : ndarray of shape (k, n)
    out : ndarray of shape (m, n), default=None
        C-ordered output to write into.

    Returns
    -------
    ndarray of shape (m, n)
    """
    m, k = A.shape
    n = B.shape[1]
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(A, B))
    block = _block(m, k)
    for start in range(0, n, block):
        stop = min(start + block, n)
        np.matmul(A, B[:, start:stop], out=out[:, start:stop])
    return out


def matmul_long_nt(A, B):
    """``A @ B.T`` for ``A`` (m, n) and ``B`` (p, n) with a long ``n``, by blocks.

    The partial products over blocks of ``n`` are summed in block order.
    """
    m, n = A.shape
    block = _block(m, B.shape[0])
    out = A[:, :block] @ B[:, :block].T
    for start in range(block, n, block):
        out += A[:, start : start + block] @ B[:, start : start + block].T
    return out
