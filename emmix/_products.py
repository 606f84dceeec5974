"""Matrix products with one long side, taken in blocks (pure numpy).

The E-step multiplies small parameter matrices (K by a few dozen) with a
chunk's thousands of rows. numpy's wheels link OpenBLAS, whose small-matrix
kernels handle products of up to about a million multiply-adds far better
than its general path handles long, thin ones: measured on 2 AMD EPYC cores,
(16 x 33) @ (33 x 10,000) ran 1.4x faster in blocks of ~1,800 columns, and
(16 x 10,000) @ (10,000 x 32) 1.6x faster summed over such blocks. Where
the small side has more than about 1,900 entries the blocks would fall below
512 columns and measured no faster than one call (1.2x slower at 16 x 170):
there the product is one call. Other BLAS
libraries lose nothing measurable by the blocking. The results equal the
one-shot products up to rounding (the summation order of the long side
changes).
"""

from __future__ import annotations

import numpy as np

__all__ = ["matmul_long", "matmul_long_nt"]

#: Multiply-adds per block product: under OpenBLAS's small-matrix threshold.
#: (OpenBLAS switches at 10**6: blocks of 0.95-1.0 million ran as fast as
#: half that size, in half the calls; 1.1 million 1.5-2x slower.)
BLOCK_MULTIPLY_ADDS = 960_000
#: Never fewer columns per block than this (per-call overhead).
MIN_BLOCK = 256


#: Blocks that the threshold would make shorter than this do not pay: for a
#: small side above ~1,900 entries, one call measured as fast or faster (1.2x
#: at 16 x 170, the full-covariance features at d = 16).
SHORTEST_USEFUL_BLOCK = 512


def _block(m: int, k: int, n: int, convert: bool) -> int:
    """Columns per block; all ``n`` at once where blocks would not pay.

    A narrow ``B`` is converted in blocks whatever their length.
    """
    block = BLOCK_MULTIPLY_ADDS // max(m * k, 1)
    if block < SHORTEST_USEFUL_BLOCK and not convert:
        return max(n, 1)
    return max(MIN_BLOCK, block)


def _cast_block(B, start, stop, dtype, buffer):
    """Columns ``start:stop`` of ``B`` as ``dtype`` (a view if no cast is needed).

    A narrow ``B`` (say one-hot rows kept as uint8) is converted block by
    block into a reused buffer that stays in cache: the data are read from
    memory in their narrow type, and the product runs in ``dtype``.
    """
    if B.dtype == dtype:
        return B[:, start:stop]
    block = buffer[:, : stop - start]
    np.copyto(block, B[:, start:stop])
    return block


def matmul_long(A, B, out=None):
    """``A @ B`` for a small ``A`` (m, k) and a long ``B`` (k, n), by column blocks.

    Parameters
    ----------
    A : ndarray of shape (m, k)
    B : ndarray of shape (k, n)
        Of ``A``'s dtype, or of a narrower one (converted block by block).
    out : ndarray of shape (m, n), default=None
        C-ordered output to write into.

    Returns
    -------
    ndarray of shape (m, n), of ``A``'s dtype (or the common one).
    """
    m, k = A.shape
    n = B.shape[1]
    dtype = np.result_type(A, B) if B.dtype.kind == "f" else A.dtype
    if out is None:
        out = np.empty((m, n), dtype=dtype)
    block = _block(m, k, n, B.dtype != dtype)
    buffer = None if B.dtype == dtype else np.empty((k, min(block, n)), dtype=dtype)
    for start in range(0, n, block):
        stop = min(start + block, n)
        Bb = _cast_block(B, start, stop, dtype, buffer)
        np.matmul(A, Bb, out=out[:, start:stop])
    return out


def matmul_long_nt(A, B):
    """``A @ B.T`` for ``A`` (m, n) and ``B`` (p, n) with a long ``n``, by blocks.

    The partial products over blocks of ``n`` are summed in block order.
    ``B`` may be of a narrower dtype than ``A`` (converted block by block).
    """
    m, n = A.shape
    p = B.shape[0]
    dtype = np.result_type(A, B) if B.dtype.kind == "f" else A.dtype
    block = _block(m, p, n, B.dtype != dtype)
    if block >= n and B.dtype == dtype:
        if dtype == np.float32:
            # OpenBLAS's single precision runs the transposed product 1.3-1.8x
            # faster at these shapes (16 x 152: 0.87 against 1.54 ms for
            # 12,500 rows); double precision runs this one faster.
            return np.ascontiguousarray((B @ A.T).T)
        return A @ B.T
    buffer = None if B.dtype == dtype else np.empty((p, min(block, n)), dtype=dtype)
    out = A[:, :block] @ _cast_block(B, 0, min(block, n), dtype, buffer).T
    for start in range(block, n, block):
        stop = min(start + block, n)
        out += A[:, start:stop] @ _cast_block(B, start, stop, dtype, buffer).T
    return out
