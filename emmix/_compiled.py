"""Optional compiled kernels (numba), each with a pure-numpy twin elsewhere.

The normalisation of the responsibilities walks the (n, K) log-densities
five times in numpy (row maximum, subtraction and floor, ``exp``, row sum,
division). Compiled, it walks them once, block by block in cache: measured
on a chunk of 12,500 rows (``benchmarks/bench_kernels.py``), 1.1-1.6x faster
in float64 and 1.2-1.6x in float32, the more so the more components. numpy's ``exp`` is
vectorised and numba's is a scalar call per entry, so the kernel has its own
``exp``: Cody-Waite reduction ``x = k ln 2 + r``, ``|r| <= ln(2)/2``, and the
Taylor polynomial of ``e^r`` (degree 13 in float64, truncation error below
1e-17; degree 7 in float32, below 5e-9), scaled by ``2^k`` through the
exponent bits; loops of plain arithmetic that LLVM vectorises, every
constant in the data's type. Results equal numpy's to a few units in the
last place (float64: 5e-16 relative; float32: 4e-7).

The Gaussians' whole E-step on complete rows is fused on top of it
(:func:`compiled_fused_estep`): block by block, features, both matrix
products (BLAS, called from the compiled code), normalisation and sums,
the chunk's (n, K) arrays never written to memory. So is that of full
covariances on rows with missing entries (:func:`compiled_fused_missing_full`):
the conditional covariances of every pattern, then each block's products,
conditioning, normalisation and sums in one pass.

numba is optional (``pip install emmix[fast]``); without it, or with the
environment variable ``EMMIX_NO_NUMBA`` set, every caller takes its numpy
path. Kernels are compiled on first use (about 2 s, cached on disk by numba
afterwards), and used only for inputs large enough to repay it
(:func:`compiled_for`). The hooks' E-step of Gaussian rows with missing
values has kernels of its own (below), with their numpy twins in
``emmix._conditional_gaussian``.
"""

from __future__ import annotations

import math
import os
import threading
from functools import lru_cache

import numpy as np

__all__ = [
    "compiled_border_level",
    "compiled_centre_products",
    "compiled_condition_group",
    "compiled_covariance_sum",
    "compiled_for",
    "compiled_fused_estep",
    "compiled_fused_missing_full",
    "compiled_normalize",
    "compiled_shared_pattern_stats",
    "compiled_shared_pattern_terms",
    "compiled_spread_group",
    "compiled_weighted_filled",
    "has_numba",
    "missing_full_workspace",
]

#: Entries (n * K) below which the compiled normalisation is not used: a
#: small fit never pays numba's import and compilation.
MIN_ENTRIES = 2**15

#: Rows per block of the kernel: the block's K rows stay in the L1 cache.
_BLOCK = 256

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 in its leading 32 bits
_LN2_LO = 1.90821492927058770002e-10  # the rest of ln 2
_LOG_2PI = math.log(2.0 * math.pi)


def compiled_for(n_entries: int) -> bool:
    """Whether work of ``n_entries`` (rows times components) takes the
    compiled kernels: numba there, and enough work to repay its import and
    compilation (a small fit stays in numpy: 0.1 s against 0.6 s for a first
    fit of 200 rows with missing values in a new process)."""
    return n_entries >= MIN_ENTRIES and has_numba()


@lru_cache(maxsize=1)
def has_numba() -> bool:
    """Whether numba can be imported (and is not switched off)."""
    if os.environ.get("EMMIX_NO_NUMBA"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


#: ``ln 2`` split for the float32 kernel: the leading part has 9 bits, so
#: ``k * _LN2_HI_32`` is exact for every ``|k| < 2^15``.
_LN2_HI_32 = 0.693359375
_LN2_LO_32 = -2.1219444005469057e-4


def _exp_polynomial(single: bool):
    """``e^r`` for ``|r| <= ln(2)/2``: the Taylor polynomial of degree 13 in
    float64 (truncation error below 1e-17), 7 in float32 (below 5e-9)."""
    from numba import njit

    real = np.float32 if single else np.float64
    degree = 7 if single else 13
    # Highest degree first, for Horner's rule: p = c_(j) + r p, down to c_0.
    top, *rest = (real(1.0 / math.factorial(i)) for i in range(degree, -1, -1))
    rest = tuple(rest)

    @njit(inline="always")
    def polynomial(r):  # pragma: no cover - compiled
        p = top
        for c in rest:  # a constant tuple: unrolled
            p = c + r * p
        return p

    return polynomial


@lru_cache(maxsize=2)
def _normalize_kernel(single: bool = False):
    """The compiled kernel for float64 or float32 (built on first use)."""
    from numba import njit

    real = np.float32 if single else np.float64
    whole = np.int32 if single else np.int64
    # 2^k through the exponent bits: its position and bias.
    mantissa, bias = (23, 127) if single else (52, 1023)
    ln2_hi, ln2_lo = (_LN2_HI_32, _LN2_LO_32) if single else (_LN2_HI, _LN2_LO)
    log2e, ln2_hi, ln2_lo = real(_LOG2E), real(ln2_hi), real(ln2_lo)
    zero, half, one = real(0.0), real(0.5), real(1.0)
    polynomial = _exp_polynomial(single)
    block = _BLOCK

    # nogil: the engine runs chunks on threads. "contract" lets LLVM fuse
    # multiply-adds; nothing is reassociated. Every constant has the data's
    # type, so that float32 stays float32 (16 lanes) throughout.
    @njit(
        nogil=True,
        cache=True,
        boundscheck=False,
        error_model="numpy",
        fastmath={"contract", "nsz"},
    )
    def normalize_T(a, floor, totals, tops):  # pragma: no cover - compiled
        n_components, n = a.shape
        top = np.empty(block, dtype=real)
        total = np.empty(block, dtype=real)
        poly = np.empty(block, dtype=real)
        bits = np.empty(block, dtype=whole)
        scale = bits.view(real)
        for start in range(0, n, block):
            stop = min(start + block, n)
            m = stop - start
            for j in range(m):
                top[j] = a[0, start + j]
            for k in range(1, n_components):
                row = a[k, start:stop]
                for j in range(m):
                    v = row[j]
                    t = top[j]
                    top[j] = v if (v > t or v != v) else t
            for j in range(m):
                if not abs(top[j]) < np.inf:
                    return start  # -inf, inf or NaN: the caller's numpy path
                total[j] = zero
            for k in range(n_components):
                row = a[k, start:stop]
                for j in range(m):
                    v = max(row[j] - top[j], floor)
                    kf = np.floor(v * log2e + half)
                    poly[j] = polynomial((v - kf * ln2_hi) - kf * ln2_lo)
                    bits[j] = (whole(kf) + bias) << mantissa  # 2^k
                for j in range(m):
                    p = poly[j] * scale[j]
                    row[j] = p
                    total[j] += p
            for j in range(m):
                # The logarithms are left to numpy's vectorised log (a scalar
                # call per row here cost a third of the kernel).
                totals[start + j] = total[j]
                tops[start + j] = top[j]
                # One division per row, products per entry (divisions are
                # the slowest vector operation: 1.2x on the whole kernel).
                total[j] = one / total[j]
            for k in range(n_components):
                row = a[k, start:stop]
                for j in range(m):
                    row[j] = row[j] * total[j]
        return n

    return normalize_T


def compiled_normalize(weighted_log_prob, log_floor):
    """Normalise in place with the compiled kernel, where it applies.

    Parameters
    ----------
    weighted_log_prob : ndarray of shape (n_samples, n_components)
        Overwritten by the responsibilities.
    log_floor : float
        Floor of the log-responsibilities relative to each row's largest.

    Returns
    -------
    log_norm : ndarray of shape (n_samples,) or None
        None where the kernel does not apply (no numba, neither float64 nor
        float32, not component-major, small): nothing was touched.
    done : int
        Rows normalised from the first one on; the caller's numpy path
        finishes the rest (from a block with a row whose every entry is
        -inf, or with +inf or NaN).
    """
    a = weighted_log_prob
    if (
        a.dtype not in (np.float64, np.float32)
        or a.ndim != 2
        or a.size < MIN_ENTRIES
        or a.shape[1] == 0
        or not a.flags.f_contiguous
        or not has_numba()
    ):
        return None, 0
    single = a.dtype == np.float32
    log_norm = np.empty(a.shape[0], dtype=a.dtype)
    tops = np.empty(a.shape[0], dtype=a.dtype)
    done = int(_normalize_kernel(single)(a.T, a.dtype.type(log_floor), log_norm, tops))
    np.log(log_norm[:done], out=log_norm[:done])
    log_norm[:done] += tops[:done]
    return log_norm, done


#: Multiply-adds of each of the fused E-step's two block products: under
#: OpenBLAS's small-matrix threshold (as ``emmix._products``' blocks).
_FUSED_MULTIPLY_ADDS = 960_000


@lru_cache(maxsize=6)
def _fused_kernel(single: bool, kind: str):
    """The fused E-step of :func:`compiled_fused_estep` for diagonal,
    spherical or full covariances, or for rows with missing entries under
    independent features (built on first use)."""
    from numba import njit

    real = np.float32 if single else np.float64
    zero, one = real(0.0), real(1.0)
    normalize = _normalize_kernel(single)
    spherical, full = kind == "spherical", kind == "full"
    missing = kind == "missing"

    @njit(**_KERNEL_OPTIONS)
    def fused_estep(  # pragma: no cover - compiled
        XT, OT, shift, W, floor, weights, z_flat, l_flat, sums, totals, tops
    ):
        d, n = XT.shape
        n_components, n_terms = W.shape
        block = l_flat.shape[0] // n_components
        part = np.empty((n_components, n_terms), dtype=real)
        sums[:, :] = zero
        # Where the centred rows c = x - shift go among the features:
        # [c^2; c; 1] (diagonal), [|c|^2; c; 1] (spherical), [packed c c^T;
        # c; 1] (full: the upper triangle, row by row, as np.triu_indices);
        # with missing entries [y^2; y; o; 1 - o; 1], y = (x - shift) o
        # zero-filled and o the observed mask.
        first = n_terms - 1 - d
        for start in range(0, n, block):
            stop = min(start + block, n)
            m = stop - start
            # The block's features, feature-major, built from the rows while
            # they are in cache.
            Z = z_flat[: n_terms * m].reshape(n_terms, m)
            if missing:
                for i in range(d):
                    s = shift[i]
                    row = XT[i, start:stop]
                    seen = OT[i, start:stop]
                    for j in range(m):
                        o = seen[j]
                        y = (row[j] - s) * o
                        Z[i, j] = y * y
                        Z[d + i, j] = y
                        Z[2 * d + i, j] = o
                        Z[3 * d + i, j] = one - o
            else:
                for i in range(d):
                    s = shift[i]
                    row = XT[i, start:stop]
                    for j in range(m):
                        Z[first + i, j] = row[j] - s
            if missing:
                pass
            elif spherical:
                for j in range(m):
                    Z[0, j] = zero
                for i in range(d):
                    for j in range(m):
                        c = Z[1 + i, j]
                        Z[0, j] += c * c
            elif full:
                at = 0
                for a in range(d):
                    for b in range(a, d):
                        for j in range(m):
                            Z[at, j] = Z[first + a, j] * Z[first + b, j]
                        at += 1
            else:
                for i in range(d):
                    for j in range(m):
                        c = Z[d + i, j]
                        Z[i, j] = c * c
            for j in range(m):
                Z[n_terms - 1, j] = one
            L = l_flat[: n_components * m].reshape(n_components, m)
            np.dot(W, Z, L)  # the weighted log-densities, component-major
            if normalize(L, floor, totals[start:stop], tops[start:stop]) < m:
                return start  # a row the numpy path must take
            if weights.shape[0]:
                for k in range(n_components):
                    for j in range(m):
                        L[k, j] *= weights[start + j]
            np.dot(L, Z.T, part)  # this block's sums of the statistics
            for k in range(n_components):
                for t in range(n_terms):
                    sums[k, t] += part[k, t]
        return n

    return fused_estep


@lru_cache(maxsize=2)
def _fused_tied_kernel(single: bool):
    """The fused E-step of tied covariances (see :func:`compiled_fused_estep`)."""
    from numba import njit

    real = np.float32 if single else np.float64
    zero, one = real(0.0), real(1.0)
    normalize = _normalize_kernel(single)

    @njit(**_KERNEL_OPTIONS)
    def fused_tied(  # pragma: no cover - compiled
        XT, shift, half_root, W, floor, weights, buffers, sums, second, totals, tops
    ):
        d, n = XT.shape
        n_components = W.shape[0]
        c_flat, y_flat, z_flat, l_flat = buffers
        block = l_flat.shape[0] // n_components
        part = np.empty((n_components, d + 1), dtype=real)
        outer = np.empty((d, d), dtype=real)
        sums[:, :] = zero
        second[:, :] = zero
        for start in range(0, n, block):
            stop = min(start + block, n)
            m = stop - start
            # [c; 1], c = x - shift, and [Y; -|Y|^2; 1] with Y = L^T c / sqrt(2).
            C = c_flat[: (d + 1) * m].reshape(d + 1, m)
            for i in range(d):
                s = shift[i]
                row = XT[i, start:stop]
                for j in range(m):
                    C[i, j] = row[j] - s
            for j in range(m):
                C[d, j] = one
            Y = y_flat[: d * m].reshape(d, m)
            np.dot(half_root, C[:d], Y)
            Z = z_flat[: (d + 2) * m].reshape(d + 2, m)
            for j in range(m):
                Z[d, j] = zero
                Z[d + 1, j] = one
            for i in range(d):
                for j in range(m):
                    y = Y[i, j]
                    Z[i, j] = y
                    Z[d, j] -= y * y
            L = l_flat[: n_components * m].reshape(n_components, m)
            np.dot(W, Z, L)
            if normalize(L, floor, totals[start:stop], tops[start:stop]) < m:
                return start
            if weights.shape[0]:
                for k in range(n_components):
                    for j in range(m):
                        L[k, j] *= weights[start + j]
            np.dot(L, C.T, part)  # S1 and nk
            for k in range(n_components):
                for t in range(d + 1):
                    sums[k, t] += part[k, t]
            # The rows weighted by their total responsibility (into Y, free
            # now), then S2 = sum_i w_i c_i c_i^T.
            for j in range(m):
                Z[d, j] = zero
            for k in range(n_components):
                for j in range(m):
                    Z[d, j] += L[k, j]
            for i in range(d):
                for j in range(m):
                    Y[i, j] = C[i, j] * Z[d, j]
            np.dot(Y, C[:d].T, outer)
            for a in range(d):
                for b in range(d):
                    second[a, b] += outer[a, b]
        return n

    return fused_tied


_fused_buffers = threading.local()


def _buffers(dtype, rows, n_components, n_terms, block=None):
    """Per-thread block buffers of the fused E-steps, one per entry of
    ``rows`` (its number of rows), reused (a new array of that size per
    chunk costs page faults); the block's number of columns is ``block``
    or fits the products under OpenBLAS's small-matrix threshold."""
    if block is None:
        block = max(_BLOCK, _FUSED_MULTIPLY_ADDS // (n_components * n_terms))
    key = (np.dtype(dtype).char, tuple(rows), n_components, block)
    kept = getattr(_fused_buffers, "kept", None)
    if kept is None:
        kept = _fused_buffers.kept = {}
    if key not in kept:
        # A few kinds at a time (a fit's chunks with and without gaps take
        # different kernels); a new fit of another shape starts afresh.
        if len(kept) >= 4:
            kept.clear()
        kept[key] = tuple(np.empty(r * block, dtype=dtype) for r in rows)
    return kept[key]


def compiled_fused_estep(
    XT, shift, weights, log_floor, sample_weight, kind, half_root=None, observed=None
):
    """A Gaussian chunk's E-step in one compiled pass, complete rows.

    The log-densities are one product of a small weight matrix with the
    rows' features: ``[c^2; c; 1]`` (diagonal), ``[|c|^2; c; 1]``
    (spherical), ``[packed c c^T; c; 1]`` (full, expanded around ``shift``:
    the upper triangle row by row), ``c = x - shift``, ``[Y; -|Y|^2; 1]``
    with ``Y = R c`` (tied), or, for rows with missing entries under
    independent features, ``[y^2; y; o; 1 - o; 1]`` with ``o`` the
    observed mask and ``y = c o`` (``'missing'``: the observed entries'
    densities, see ``emmix._conditional_gaussian.diag_features``); the
    statistics are products of the
    responsibilities with the features (and, tied, of the rows weighted by
    their total responsibility with the rows). Here each block of rows
    (sized so that the products stay under OpenBLAS's small-matrix
    threshold) is built, multiplied, normalised, weighted and summed while
    it is in cache: the (n, K) arrays and the features never reach memory,
    and the chunk releases the GIL once. The same operations as the numpy
    route (the products by BLAS, the normalisation by
    :func:`compiled_normalize`'s kernel), in blocks: equal to it up to the
    order of the sums.

    Parameters
    ----------
    XT : ndarray of shape (n_features, n_samples)
        The rows transposed, C-ordered (each feature contiguous), float64 or
        float32, without NaN.
    shift : ndarray of shape (n_features,)
    weights : ndarray of shape (n_components, n_terms)
        The log-densities' weights of the features, mixing weights included.
    log_floor : float
        Floor of the log-responsibilities relative to each row's largest.
    sample_weight : ndarray of shape (n_samples,) or None
        None for unit weights.
    kind : {'diag', 'spherical', 'full', 'tied', 'missing'}
    half_root : ndarray of shape (n_features, n_features), default=None
        ``R`` (tied only).
    observed : ndarray of shape (n_features, n_samples), default=None
        ``'missing'`` only: 1 where an entry is observed, 0 where missing
        (``XT`` then holds 0 there), C-ordered.

    Returns
    -------
    sums : ndarray or None
        ``sum_i w_i r_ik z_i``: diagonal, spherical and full, of every
        feature ``z`` (n_components, n_terms); tied, of ``[c; 1]`` (n_components,
        n_features + 1). The last column is ``nk``. None where the kernel
        does not apply (no numba, another type, too little work, or a row
        whose log-densities are all -inf, or inf or NaN): the caller then
        takes the numpy route.
    second : ndarray of shape (n_features, n_features) or None
        Tied: ``sum_i (sum_k w_i r_ik) c_i c_i^T``.
    log_norm : ndarray of shape (n_samples,)
        ``log p(x)`` of every row.
    """
    dtype = XT.dtype
    n_components, n_terms = weights.shape
    d, n = XT.shape
    if observed is None:
        observed = np.empty((0, 0), dtype=dtype)
    if (
        dtype not in (np.float64, np.float32)
        or weights.dtype != dtype
        or observed.dtype != dtype
        or not (XT.flags.c_contiguous and observed.flags.c_contiguous)
        or not compiled_for(n * n_components)
    ):
        return None, None, None
    single = dtype == np.float32
    totals = np.empty(n, dtype=dtype)
    tops = np.empty(n, dtype=dtype)
    unit = np.empty(0, dtype=dtype)
    shift = np.ascontiguousarray(shift, dtype=dtype)
    floor = dtype.type(log_floor)
    weights = np.ascontiguousarray(weights)
    sample_weight = (
        unit if sample_weight is None else sample_weight.astype(dtype, copy=False)
    )
    second = None
    if kind == "tied":
        buffers = _buffers(dtype, (d + 1, d, d + 2, n_components), n_components, d + 2)
        sums = np.empty((n_components, d + 1), dtype=dtype)
        second = np.empty((d, d), dtype=dtype)
        done = _fused_tied_kernel(single)(
            XT,
            shift,
            np.ascontiguousarray(half_root, dtype=dtype),
            weights,
            floor,
            sample_weight,
            buffers,
            sums,
            second,
            totals,
            tops,
        )
    else:
        z_flat, l_flat = _buffers(dtype, (n_terms, n_components), n_components, n_terms)
        sums = np.empty((n_components, n_terms), dtype=dtype)
        done = _fused_kernel(single, kind)(
            XT,
            observed,
            shift,
            weights,
            floor,
            sample_weight,
            z_flat,
            l_flat,
            sums,
            totals,
            tops,
        )
    if done < n:
        return None, None, None
    np.log(totals, out=totals)
    totals += tops
    return sums, second, totals


@lru_cache(maxsize=2)
def _missing_full_kernels(single: bool):
    """The fused E-step of full covariances on rows with gaps (see
    :func:`compiled_fused_missing_full`): the patterns' conditional
    covariances, then the rows block by block."""
    from numba import njit

    real = np.float32 if single else np.float64
    zero, half, one = real(0.0), real(0.5), real(1.0)
    normalize = _normalize_kernel(single)

    @njit(**_KERNEL_OPTIONS)
    def pattern_inverses(  # pragma: no cover - compiled
        precision, n_missing, missing, offsets, cov, log_det_mm, a, inverse, s, pivots
    ):
        # C = Q_mm^-1 of every pattern and component by Cholesky (Q_mm = L
        # L^T, C = L^-T L^-1), row-major at cov[offsets[p] + k m^2], and
        # log det Q_mm. False at a block that is not positive definite (the
        # caller's numpy route names it). The patterns come in runs of the
        # same m; a run's patterns are the innermost loop, indexed from 0
        # on views of one entry's row (so that it vectorises: a loop over
        # one pattern's handful of entries was mostly overhead).
        # a: L (lower), inverse: L^-1, entry-major (d * d, batch): up to
        # batch patterns of a run at a time.
        n_components = precision.shape[0]
        n_patterns = n_missing.shape[0]
        batch = a.shape[1]
        first = 0
        while first < n_patterns:
            m = n_missing[first]
            stop = first + 1
            while stop < n_patterns and n_missing[stop] == m and stop - first < batch:
                stop += 1
            run = stop - first
            for k in range(n_components):
                q = precision[k]
                for i in range(m):
                    for j in range(i + 1):
                        entry = a[i * m + j]
                        for r in range(run):
                            p = first + r
                            entry[r] = q[missing[p, i], missing[p, j]]
                for r in range(run):
                    pivots[r] = 1.0
                for j in range(m):
                    diagonal = a[j * m + j]
                    for r in range(run):
                        s[r] = diagonal[r]
                    for t in range(j):
                        jt = a[j * m + t]
                        for r in range(run):
                            s[r] -= jt[r] * jt[r]
                    positive = True
                    for r in range(run):
                        positive &= s[r] > zero and s[r] < np.inf
                    if not positive:
                        return False
                    reciprocal = inverse[j * m + j]
                    for r in range(run):
                        pivots[r] *= s[r]
                        root = math.sqrt(s[r])
                        diagonal[r] = root
                        reciprocal[r] = one / root
                    for i in range(j + 1, m):
                        for r in range(run):
                            s[r] = a[i * m + j, r]
                        for t in range(j):
                            it, jt = a[i * m + t], a[j * m + t]
                            for r in range(run):
                                s[r] -= it[r] * jt[r]
                        ij = a[i * m + j]
                        for r in range(run):
                            ij[r] = s[r] * reciprocal[r]
                for r in range(run):
                    if 0.0 < pivots[r] < np.inf:
                        log_det_mm[first + r, k] = math.log(pivots[r])
                    else:  # beyond float64's range: a logarithm per pivot
                        log_det = 0.0
                        for i in range(m):
                            log_det += 2.0 * math.log(a[i * m + i, r])
                        log_det_mm[first + r, k] = log_det
                # L^-1 below its diagonal, row by row.
                for i in range(1, m):
                    ii = inverse[i * m + i]
                    for j in range(i):
                        for r in range(run):
                            s[r] = zero
                        for t in range(j, i):
                            it, tj = a[i * m + t], inverse[t * m + j]
                            for r in range(run):
                                s[r] -= it[r] * tj[r]
                        ij = inverse[i * m + j]
                        for r in range(run):
                            ij[r] = s[r] * ii[r]
                # C[i, j] = sum over t >= i of L^-1[t, i] L^-1[t, j], j <= i.
                for i in range(m):
                    for j in range(i + 1):
                        for r in range(run):
                            s[r] = zero
                        for t in range(i, m):
                            ti, tj = inverse[t * m + i], inverse[t * m + j]
                            for r in range(run):
                                s[r] += ti[r] * tj[r]
                        for r in range(run):
                            base = offsets[first + r] + k * m * m
                            cov[base + i * m + j] = s[r]
                            cov[base + j * m + i] = s[r]
            first = stop
        return True

    @njit(**_KERNEL_OPTIONS)
    def rows_pass(  # pragma: no cover - compiled
        ZT,
        OT,
        shift,
        row_pattern,
        n_missing,
        missing,
        stacked,
        means,
        q_means,
        mean_norms,
        log_weights,
        constant,
        offsets,
        cov,
        log_det_mm,
        log_2pi,
        cancel,
        floor,
        weights,
        buffers,
        pattern_weights,
        s1,
        s2,
        nk,
        totals,
        tops,
    ):
        d, n = ZT.shape
        n_components = means.shape[0]
        y_flat, p_flat, f_flat, l_flat, r_flat = buffers
        block = l_flat.shape[0] // n_components
        b = np.empty(d, dtype=real)
        quad = np.empty(block, dtype=real)
        first = np.empty(d, dtype=real)
        outer = np.empty((d, d), dtype=real)
        s1[:, :] = zero
        s2[:, :, :] = zero
        nk[:] = zero
        pattern_weights[:, :] = zero
        for start in range(0, n, block):
            stop = min(start + block, n)
            rows = stop - start
            # y = x - c, 0 at the missing entries.
            Y = y_flat[: d * rows].reshape(d, rows)
            for i in range(d):
                c = shift[i]
                z = ZT[i, start:stop]
                o = OT[i, start:stop]
                for j in range(rows):
                    Y[i, j] = (z[j] - c) * o[j]
            # Q_k y of every component in one product, then Q_k u = Q_k y -
            # Q_k a_k, u^T Q_k u and the filled rows' start y.
            P = p_flat[: n_components * d * rows].reshape(n_components * d, rows)
            np.dot(stacked, Y, P)
            F = f_flat[: n_components * d * rows].reshape(n_components * d, rows)
            L = l_flat[: n_components * rows].reshape(n_components, rows)
            for k in range(n_components):
                for j in range(rows):
                    quad[j] = zero
                for i in range(d):
                    qa = q_means[k, i]
                    a = means[k, i]
                    product = P[k * d + i]
                    y = Y[i]
                    filled = F[k * d + i]
                    for j in range(rows):
                        v = product[j] - qa
                        product[j] = v
                        quad[j] += v * (y[j] - a)
                        filled[j] = y[j]
                for j in range(rows):
                    L[k, j] = quad[j]
            # Each row's missing entries: b = (Q_k u)_m, delta = -C b (the
            # conditional mean, x̂_m - c_m), and r̂^T Q r̂ = u^T Q u - b^T C b.
            for j in range(rows):
                p = row_pattern[start + j]
                m = n_missing[p]
                observed_term = (d - m) * log_2pi
                for k in range(n_components):
                    size = L[k, j]
                    explained = zero
                    base = offsets[p] + k * m * m
                    for s in range(m):
                        b[s] = P[k * d + missing[p, s], j]
                    for s in range(m):
                        acc = zero
                        for t in range(m):
                            acc += cov[base + s * m + t] * b[t]
                        F[k * d + missing[p, s], j] = -acc
                        explained -= b[s] * acc
                    if m == d:  # nothing observed: the prior alone
                        L[k, j] = log_weights[k]
                        continue
                    total = size + explained
                    bound = cancel * (total if total > one else one)
                    if not (size + mean_norms[k] <= bound):
                        return start + j  # cancels too much: the numpy route
                    L[k, j] = constant[k] - half * (
                        total + log_det_mm[p, k] + observed_term
                    )
            if normalize(L, floor, totals[start:stop], tops[start:stop]) < rows:
                return start
            R = r_flat[: n_components * rows].reshape(n_components, rows)
            for k in range(n_components):
                for j in range(rows):
                    w = L[k, j]
                    if weights.shape[0]:
                        w *= weights[start + j]
                    R[k, j] = math.sqrt(w)
                    nk[k] += w
                    pattern_weights[row_pattern[start + j], k] += w
            # sqrt(w) (x̂ - c): S1 its product with sqrt(w), S2 its outer
            # products (BLAS: a sum in a loop here would not vectorise).
            for k in range(n_components):
                root = R[k]
                for i in range(d):
                    filled = F[k * d + i]
                    for j in range(rows):
                        filled[j] *= root[j]
                weighted = F[k * d : (k + 1) * d]
                np.dot(weighted, root, first)
                np.dot(weighted, weighted.T, outer)
                for i in range(d):
                    s1[k, i] += first[i]
                    for t in range(d):
                        s2[k, i, t] += outer[i, t]
        # sum_i w_ik C_k,p(i): once per pattern.
        for p in range(n_missing.shape[0]):
            m = n_missing[p]
            for k in range(n_components):
                w = pattern_weights[p, k]
                base = offsets[p] + k * m * m
                for s in range(m):
                    a = missing[p, s]
                    for t in range(m):
                        s2[k, a, missing[p, t]] += w * cov[base + s * m + t]
        return n

    return pattern_inverses, rows_pass


def missing_full_workspace(patterns, n_components, n_features, dtype):
    """The arrays :func:`compiled_fused_missing_full` works in, for its rows.

    They depend on the rows' patterns only: a fit keeps them per chunk (new
    arrays of this size on every pass cost page faults, more so in a thread
    other than the main one, whose memory is handed back more eagerly).
    """
    n_missing = patterns[1]
    n_patterns = len(n_missing)
    sizes = n_components * n_missing * n_missing
    offsets = np.zeros(n_patterns, dtype=np.intp)
    np.cumsum(sizes[:-1], out=offsets[1:])
    entries = n_features * n_features
    # The factorisations work on batches of patterns (their arrays stay
    # within about 2 MiB however many patterns the rows have).
    batch = min(n_patterns, max(8, _PATTERN_BATCH_ENTRIES // entries))
    return (
        offsets,
        np.empty(int(sizes.sum()), dtype=dtype),  # C of every pattern
        np.empty((n_patterns, n_components), dtype=dtype),  # log det Q_mm
        np.empty((n_patterns, n_components), dtype=dtype),  # weights
        np.empty(len(patterns[0]), dtype=dtype),  # each row's top
        np.empty((entries, batch), dtype=dtype),  # L
        np.empty((entries, batch), dtype=dtype),  # L^-1
        np.empty(batch, dtype=dtype),
        np.empty(batch),  # pivots' products, float64
    )


#: Entries of each factorisation array of :func:`missing_full_workspace`.
_PATTERN_BATCH_ENTRIES = 2**18


#: Elements (n_components * n_features * rows) of each of the missing-value
#: kernel's per-block arrays: the block's products and filled rows stay in
#: the L2 cache together.
_MISSING_BLOCK_ELEMENTS = 2**14


def compiled_fused_missing_full(
    ZT,
    OT,
    shift,
    patterns,
    precision,
    means,
    log_det,
    log_weights,
    log_floor,
    sample_weight,
    *,
    cancel,
    max_norm,
    workspace=None,
):
    """A full-covariance chunk's E-step with missing entries, compiled.

    The numpy route (``emmix._conditional_gaussian``'s expanded
    conditioning) in one pass: for each pattern of missing entries and each
    component, ``C = Q_mm^-1`` by Cholesky; then, block by block of rows,
    ``Q_k u`` (``u = y - a_k``, ``y = x - c`` zero-filled, ``a_k = mu_k -
    c``) of all components in one product, ``u^T Q_k u``, ``b = (Q_k
    u)_m``, the conditional mean ``x̂_m - c_m = -C b`` and ``r̂^T Q r̂ = u^T
    Q u - b^T C b``, the log-densities of the observed entries, their
    normalisation, and the statistics ``sum w (x̂ - c)`` and ``sum w ((x̂ -
    c)(x̂ - c)^T + C)`` (the products by BLAS). Complete rows are the
    pattern with nothing missing. Equal to the numpy route up to rounding.

    Parameters
    ----------
    ZT, OT : ndarray of shape (n_features, n_samples)
        The rows with 0 at their missing entries, and 1 where observed (0
        where missing), transposed, C-ordered.
    shift : ndarray of shape (n_features,)
        ``c``.
    patterns : tuple of ndarray
        ``(row_pattern, n_missing, missing)``: each row's pattern, each
        pattern's number of missing entries and its missing columns
        (n_patterns, n_features), first ones used.
    precision : ndarray of shape (n_components, n_features, n_features)
    means : ndarray of shape (n_components, n_features)
        ``a_k = mu_k - c``.
    log_det : ndarray of shape (n_components,)
        ``log det Sigma_k``.
    log_weights : ndarray of shape (n_components,)
    log_floor : float
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative; None for unit weights.
    cancel : float
        A row whose ``u^T Q u + a^T Q a`` exceeds ``cancel`` times its
        ``max(r̂^T Q r̂, 1)`` sends the chunk to the numpy route (which
        recomputes such rows).
    max_norm : float
        The largest ``a_k^T Q_k a_k`` taken (the expansion around ``c``
        cancels terms of that size); beyond it the numpy route.
    workspace : tuple of ndarray, default=None
        :func:`missing_full_workspace` of the same rows, if kept.

    Returns
    -------
    result : tuple or None
        ``(s1, s2, nk, log_norm)``: ``sum w (x̂ - c)`` (n_components,
        n_features), ``sum w ((x̂ - c)(x̂ - c)^T + C)`` (n_components,
        n_features, n_features), ``sum w`` (n_components,) and ``log p(x_o)``
        of every row (n_samples,). None where the kernel does not apply (no
        numba, neither float64 nor float32, too little work, a mean too far
        from ``c``, a block not positive definite, a row that cancels too
        much or whose log-densities are all -inf, or inf or NaN): the caller
        then takes the numpy route.
    """
    dtype = ZT.dtype
    d, n = ZT.shape
    n_components = means.shape[0]
    if (
        dtype not in (np.float64, np.float32)
        or not (ZT.flags.c_contiguous and OT.flags.c_contiguous)
        or not compiled_for(n * n_components)
    ):
        return None
    row_pattern, n_missing, missing = patterns
    single = dtype == np.float32
    real = dtype.type
    pattern_inverses, rows_pass = _missing_full_kernels(single)
    precision = np.ascontiguousarray(precision, dtype=dtype)
    means = np.ascontiguousarray(means, dtype=dtype)
    q_means = np.einsum("kde,ke->kd", precision, means)
    mean_norms = np.einsum("kd,kd->k", q_means, means)
    if not np.all(mean_norms <= max_norm):
        return None
    if workspace is None:
        workspace = missing_full_workspace(patterns, n_components, d, dtype)
    offsets, cov, log_det_mm, pattern_weights, tops, *work = workspace
    if not pattern_inverses(
        precision, n_missing, missing, offsets, cov, log_det_mm, *work
    ):
        return None
    log_weights = np.asarray(log_weights, dtype=dtype)
    constant = (log_weights - 0.5 * np.asarray(log_det, dtype=dtype)).astype(dtype)
    block = max(16, min(2048, _MISSING_BLOCK_ELEMENTS // (n_components * d)))
    buffers = _buffers(
        dtype,
        (d, n_components * d, n_components * d, n_components, n_components),
        n_components,
        1,
        block=block,
    )
    s1 = np.empty((n_components, d), dtype=dtype)
    s2 = np.empty((n_components, d, d), dtype=dtype)
    nk = np.empty(n_components, dtype=dtype)
    totals = np.empty(n, dtype=dtype)
    weights = (
        np.empty(0, dtype=dtype)
        if sample_weight is None
        else sample_weight.astype(dtype, copy=False)
    )
    done = rows_pass(
        ZT,
        OT,
        np.ascontiguousarray(shift, dtype=dtype),
        row_pattern,
        n_missing,
        missing,
        precision.reshape(n_components * d, d),
        means,
        q_means,
        mean_norms,
        log_weights,
        constant,
        offsets,
        cov,
        log_det_mm,
        real(_LOG_2PI),
        real(cancel),
        real(log_floor),
        weights,
        buffers,
        pattern_weights,
        s1,
        s2,
        nk,
        totals,
        tops,
    )
    if done < n:
        return None
    np.log(totals, out=totals)
    totals += tops
    return s1, s2, nk, totals


# The kernels below serve the E-step of rows with missing entries
# (``emmix._conditional_gaussian``). Its numpy form is a few hundred small
# array operations per chunk (gathers, einsums over a handful of missing
# entries per row): numpy's einsum and gathers hold the GIL, so the engine's
# threads ran such chunks no faster than one thread. Compiled, each is one
# call that releases the GIL and makes no temporaries.
_KERNEL_OPTIONS = {
    "nogil": True,
    "cache": True,
    "boundscheck": False,
    "error_model": "numpy",
    "fastmath": {"contract", "nsz"},
}


def _float64_kernel(*arrays) -> bool:
    """Whether a float64 kernel below applies: numba there and every array
    float64 (other types take the caller's numpy path)."""
    return all(a.dtype == np.float64 for a in arrays) and has_numba()


@lru_cache(maxsize=1)
def _condition_kernel():
    from numba import njit

    @njit(**_KERNEL_OPTIONS)
    def condition_group(  # pragma: no cover - compiled
        product, cells, cond_cov, row_pattern, out, out_cells, out_stride, explained
    ):
        n_components, m = cond_cov.shape[0], cond_cov.shape[1]
        stride = product.shape[0] // n_components
        b = np.empty(m)
        for k in range(n_components):
            base = k * stride
            at = k * out_stride
            for i in range(row_pattern.shape[0]):
                p = row_pattern[i]
                for j in range(m):
                    b[j] = product[base + cells[j, i]]
                total = 0.0
                for s in range(m):
                    acc = 0.0
                    for t in range(m):
                        acc += cond_cov[k, s, t, p] * b[t]
                    out[at + out_cells[s, i]] = -acc
                    total -= b[s] * acc
                explained[k, i] = total

    return condition_group


def compiled_condition_group(product, cells, cond_cov, row_pattern, out=None):
    """``delta = -C b`` and ``b . delta`` of a pattern group's rows, compiled.

    Parameters
    ----------
    product : ndarray of shape (n_components, n_features, n_rows_block)
        ``Q_k u`` of a block of rows, feature-major (C-ordered; or raveled).
    cells : ndarray of shape (m, n_rows)
        Flat indices into ``product[0]`` of the group's rows' missing
        entries: ``b = product[k].ravel()[cells]``.
    cond_cov : ndarray of shape (n_components, m, m, n_patterns)
        ``C`` of each of the group's patterns.
    row_pattern : ndarray of shape (n_rows,)
        The pattern of each row.
    out : (ndarray, ndarray), default=None
        With one component: a raveled array and the flat indices (m, n_rows)
        at which ``delta`` is written into it (instead of a new array).

    Returns
    -------
    delta : ndarray of shape (n_components, m, n_rows) or None
        ``-C b`` (``out``'s array where given); None where the kernel does
        not apply (no numba, not float64): the caller's numpy path then does
        the same, and nothing was written.
    explained : ndarray of shape (n_components, n_rows)
        ``b^T delta``.
    """
    if not (product.flags.c_contiguous and _float64_kernel(product, cond_cov)):
        return None, None
    n_components, m = cond_cov.shape[:2]
    n_rows = len(row_pattern)
    if out is None:
        delta = np.empty((n_components, m, n_rows))
        target = delta.reshape(-1)
        out_cells = np.arange(m * n_rows).reshape(m, n_rows)
        out_stride = m * n_rows
    else:
        target, out_cells = out
        delta, out_stride = target, 0
    explained = np.empty((n_components, n_rows))
    _condition_kernel()(
        product.reshape(-1),
        np.ascontiguousarray(cells),
        cond_cov,
        np.ascontiguousarray(row_pattern),
        target,
        out_cells,
        out_stride,
        explained,
    )
    return delta, explained


@lru_cache(maxsize=1)
def _centre_kernel():
    from numba import njit

    @njit(**_KERNEL_OPTIONS)
    def centre_products(product, centred, q_means, means, quad):  # pragma: no cover
        n_components, n_features, n_rows = product.shape
        total = np.empty(n_rows)
        for k in range(n_components):
            total[:] = 0.0
            for j in range(n_features):
                shift = q_means[k, j]
                mean = means[k, j]
                row = product[k, j]
                values = centred[j]
                for i in range(n_rows):
                    p = row[i] - shift
                    row[i] = p
                    total[i] += p * (values[i] - mean)
            for i in range(n_rows):
                quad[k, i] = total[i]

    return centre_products


def compiled_centre_products(product, centred, q_means, means, quad) -> bool:
    """``Q_k u = Q_k y - Q_k a_k`` in place and ``u^T Q_k u``, compiled.

    One pass over the block's products instead of numpy's four (with ``u =
    y - a_k``: ``quad[k] = sum_j (Q_k u)_j (y_j - a_kj)``).

    Parameters
    ----------
    product : ndarray of shape (n_components, n_features, n_rows)
        ``Q_k y`` of a block of rows (C-ordered); overwritten by ``Q_k u``.
    centred : ndarray of shape (n_features, n_rows)
        ``y``.
    q_means, means : ndarray of shape (n_components, n_features)
        ``Q_k a_k`` and ``a_k``.
    quad : ndarray of shape (n_components, n_rows)
        Overwritten by ``u^T Q_k u``.

    Returns
    -------
    done : bool
        False where the kernel does not apply (no numba, not float64):
        nothing was written.
    """
    if not (product.flags.c_contiguous and _float64_kernel(product, centred)):
        return False
    _centre_kernel()(product, centred, q_means, means, quad)
    return True


@lru_cache(maxsize=1)
def _covariance_sum_kernel():
    from numba import njit

    @njit(**_KERNEL_OPTIONS)
    def covariance_sum(resp, row_pattern, missing, cond_cov, s2):  # pragma: no cover
        n_components, m, _, n_patterns = cond_cov.shape
        weights = np.zeros((n_components, n_patterns))
        for k in range(n_components):
            for i in range(row_pattern.shape[0]):
                weights[k, row_pattern[i]] += resp[k, i]
        for k in range(n_components):
            for p in range(n_patterns):
                w = weights[k, p]
                for s in range(m):
                    a = missing[p, s]
                    for t in range(m):
                        s2[k, a, missing[p, t]] += w * cond_cov[k, s, t, p]

    return covariance_sum


def compiled_covariance_sum(resp, row_pattern, missing, cond_cov, s2) -> bool:
    """Add ``sum_i w_ik C_k,p(i)`` of a pattern group's rows into ``s2``, compiled.

    Parameters
    ----------
    resp : ndarray of shape (n_components, n_rows)
        The rows' weights per component.
    row_pattern : ndarray of shape (n_rows,)
    missing : ndarray of shape (n_patterns, m)
        The missing columns of each pattern.
    cond_cov : ndarray of shape (n_components, m, m, n_patterns)
    s2 : ndarray of shape (n_components, n_features, n_features)
        Added to, at each pattern's missing rows and columns.

    Returns
    -------
    done : bool
        False where the kernel does not apply (no numba, not float64):
        nothing was written.
    """
    if not _float64_kernel(resp, cond_cov, s2):
        return False
    _covariance_sum_kernel()(
        resp, np.ascontiguousarray(row_pattern), missing, cond_cov, s2
    )
    return True


@lru_cache(maxsize=1)
def _shared_kernels():
    from numba import njit

    @njit(**_KERNEL_OPTIONS)
    def pattern_terms(  # pragma: no cover - compiled
        q_means, missing, cond_cov, log_det_mm, h, consts
    ):
        n_patterns, m = missing.shape
        alpha = np.empty(m)
        for p in range(n_patterns):
            for k in range(q_means.shape[0]):
                for j in range(m):
                    alpha[j] = q_means[k, missing[p, j]]
                total = 0.0
                for i in range(m):
                    acc = 0.0
                    for j in range(m):
                        acc += cond_cov[i, j, p] * alpha[j]
                    h[p, k, i] = acc
                    total += alpha[i] * acc
                consts[k, p] = log_det_mm[p] - total

    @njit(**_KERNEL_OPTIONS)
    def pattern_stats(  # pragma: no cover - compiled
        resp, row_pattern, missing, h, cond_cov, s1, s2
    ):
        n_patterns, m = missing.shape
        n_components = resp.shape[1]
        weights = np.zeros((n_patterns, n_components))
        for i in range(row_pattern.shape[0]):
            p = row_pattern[i]
            for k in range(n_components):
                weights[p, k] += resp[i, k]
        for p in range(n_patterns):
            total = 0.0
            for k in range(n_components):
                w = weights[p, k]
                total += w
                for s in range(m):
                    s1[k, missing[p, s]] += w * h[p, k, s]
            for s in range(m):
                a = missing[p, s]
                for t in range(m):
                    acc = 0.0
                    for k in range(n_components):
                        acc += weights[p, k] * h[p, k, s] * h[p, k, t]
                    s2[a, missing[p, t]] += acc + total * cond_cov[s, t, p]

    return pattern_terms, pattern_stats


def compiled_shared_pattern_terms(q_means, missing, cond_cov, log_det_mm):
    """Per-pattern terms of the tied E-step's log-densities, compiled.

    Parameters
    ----------
    q_means : ndarray of shape (n_components, n_features)
        ``Q a_k``.
    missing : ndarray of shape (n_patterns, m)
    cond_cov : ndarray of shape (m, m, n_patterns)
        ``C`` of each pattern.
    log_det_mm : ndarray of shape (n_patterns,)

    Returns
    -------
    h : ndarray of shape (n_patterns, n_components, m) or None
        ``C alpha_kp`` (``alpha_kp = (Q a_k)_m``); None where the kernel does
        not apply (no numba, not float64).
    consts : ndarray of shape (n_components, n_patterns)
        ``log|Q_mm| - alpha_kp^T h_kp``.
    """
    if not _float64_kernel(q_means, cond_cov):
        return None, None
    n_patterns, m = missing.shape
    n_components = q_means.shape[0]
    h = np.empty((n_patterns, n_components, m))
    consts = np.empty((n_components, n_patterns))
    _shared_kernels()[0](q_means, missing, cond_cov, log_det_mm, h, consts)
    return h, consts


def compiled_shared_pattern_stats(resp, row_pattern, missing, h, cond_cov, s1, s2):
    """Add a pattern group's per-pattern sums of the tied statistics, compiled.

    With ``W_pk`` the weight of pattern ``p`` under component ``k``: ``s1[k,
    m_p] += W_pk h_pk`` and ``s2[m_p, m_p] += sum_k W_pk h_pk h_pk^T + W_p
    C_p``.

    Parameters
    ----------
    resp : ndarray of shape (n_rows, n_components)
        The group's rows' weights.
    row_pattern : ndarray of shape (n_rows,)
    missing : ndarray of shape (n_patterns, m)
    h : ndarray of shape (n_patterns, n_components, m)
    cond_cov : ndarray of shape (m, m, n_patterns)
    s1 : ndarray of shape (n_components, n_features)
    s2 : ndarray of shape (n_features, n_features)
        Added to.

    Returns
    -------
    done : bool
        False where the kernel does not apply (no numba, not float64):
        nothing was added.
    """
    if not _float64_kernel(resp, h, s2):
        return False
    _shared_kernels()[1](
        resp, np.ascontiguousarray(row_pattern), missing, h, cond_cov, s1, s2
    )
    return True


@lru_cache(maxsize=1)
def _fill_kernels():
    from numba import njit

    @njit(**_KERNEL_OPTIONS)
    def weighted_rows(centred, root, filled):  # pragma: no cover - compiled
        n_components, n_features, n_rows = filled.shape
        for k in range(n_components):
            weights = root[k]
            for j in range(n_features):
                values = centred[j]
                out = filled[k, j]
                for i in range(n_rows):
                    out[i] = values[i] * weights[i]

    @njit(**_KERNEL_OPTIONS)
    def weighted_deltas(delta, root, cells, filled):  # pragma: no cover - compiled
        n_components, m, n_rows = delta.shape
        stride = filled.shape[0] // n_components
        for k in range(n_components):
            base = k * stride
            for s in range(m):
                for i in range(n_rows):
                    filled[base + cells[s, i]] = delta[k, s, i] * root[k, i]

    return weighted_rows, weighted_deltas


def compiled_weighted_filled(centred, root, groups):
    """``sqrt(w) (x̂ - c)`` of a block of rows, feature-major, compiled.

    Parameters
    ----------
    centred : ndarray of shape (n_features, n_rows)
        ``y = x - c`` of the block's rows (0 at their missing entries).
    root : ndarray of shape (n_components, n_rows)
        ``sqrt(w)`` of the rows per component.
    groups : list of (ndarray, int, ndarray)
        Per pattern group in the block: ``delta`` (n_components, m, n_group)
        at its rows' missing entries, the position of its first row in the
        block, and the flat indices (m, n_group) of those entries in
        ``(n_features, n_rows)``.

    Returns
    -------
    filled : ndarray of shape (n_components, n_features, n_rows) or None
        ``sqrt(w_k) (y + delta_k)``: the same products as numpy's, in one
        pass. None where the kernel does not apply (no numba, not float64).
    """
    if not _float64_kernel(centred, root):
        return None
    weighted_rows, weighted_deltas = _fill_kernels()
    filled = np.empty((root.shape[0], *centred.shape))
    weighted_rows(centred, root, filled)
    flat = filled.reshape(-1)
    for delta, offset, cells in groups:
        group_root = root[:, offset : offset + delta.shape[2]]
        weighted_deltas(delta, group_root, cells, flat)
    return filled


@lru_cache(maxsize=1)
def _spread_kernel():
    from numba import njit

    @njit(**_KERNEL_OPTIONS)
    def spread_group(resp, row_pattern, h, out, out_cells):  # pragma: no cover
        n_components, m = h.shape[1], h.shape[2]
        for i in range(row_pattern.shape[0]):
            p = row_pattern[i]
            for s in range(m):
                acc = 0.0
                for k in range(n_components):
                    acc += resp[i, k] * h[p, k, s]
                out[out_cells[s, i]] = acc

    return spread_group


def compiled_spread_group(resp, row_pattern, h, out, out_cells) -> bool:
    """``out[out_cells[:, i]] = sum_k resp[i, k] h[row_pattern[i], k]``, compiled.

    Parameters
    ----------
    resp : ndarray of shape (n_rows, n_components)
    row_pattern : ndarray of shape (n_rows,)
    h : ndarray of shape (n_patterns, n_components, m)
    out : ndarray, raveled
    out_cells : ndarray of shape (m, n_rows)

    Returns
    -------
    done : bool
        False where the kernel does not apply (no numba, not float64):
        nothing was written.
    """
    if not _float64_kernel(resp, h):
        return False
    _spread_kernel()(resp, np.ascontiguousarray(row_pattern), h, out, out_cells)
    return True


@lru_cache(maxsize=1)
def _border_kernel():
    from numba import njit

    @njit(**_KERNEL_OPTIONS)
    def border_level(  # pragma: no cover - compiled
        flat, above, parent, diagonal, border_at, log_det_above, new, log_det
    ):
        n_components = flat.shape[0]
        inner = border_at.shape[0]  # j - 1
        u = np.empty(inner)
        v = np.empty(inner)
        for k in range(n_components):
            for q in range(parent.shape[0]):
                a = parent[q]
                for i in range(inner):
                    u[i] = flat[k, border_at[i, q]]
                dot = 0.0
                for i in range(inner):
                    acc = 0.0
                    for c in range(inner):
                        acc += above[k, i, c, a] * u[c]
                    v[i] = acc
                    dot += u[i] * acc
                schur = flat[k, diagonal[q]] - dot
                reciprocal = 1.0 / schur
                for i in range(inner):
                    scaled = v[i] * reciprocal
                    for c in range(inner):
                        new[k, i, c, q] = scaled * v[c] + above[k, i, c, a]
                    new[k, i, inner, q] = -scaled
                    new[k, inner, i, q] = -scaled
                new[k, inner, inner, q] = reciprocal
                log_det[k, q] = log_det_above[k, a] + math.log(schur)

    return border_level


def compiled_border_level(flat, above, parent, diagonal, border_at, log_det_above):
    """One level of ``emmix._conditional_gaussian.bordered_inverses``, compiled.

    Parameters
    ----------
    flat : ndarray of shape (n_components, n_features**2)
        The precision matrices, raveled.
    above : ndarray of shape (n_components, j - 1, j - 1, n_parents)
        The inverses of the previous level's prefixes.
    parent, diagonal : ndarray of shape (n_nodes,)
        Each prefix's parent and the flat index of its new diagonal entry.
    border_at : ndarray of shape (j - 1, n_nodes)
        The flat indices of its border.
    log_det_above : ndarray of shape (n_components, n_parents)

    Returns
    -------
    inverse : ndarray of shape (n_components, j, j, n_nodes) or None
        None where the kernel does not apply (no numba, not float64).
    log_det : ndarray of shape (n_components, n_nodes)
        Not finite where a Schur complement is not positive (the caller
        checks).
    """
    if not _float64_kernel(flat, above):
        return None, None
    n_components, inner = above.shape[:2]
    n_nodes = len(parent)
    new = np.empty((n_components, inner + 1, inner + 1, n_nodes))
    log_det = np.empty((n_components, n_nodes))
    _border_kernel()(
        np.ascontiguousarray(flat),
        np.ascontiguousarray(above),
        parent,
        diagonal,
        np.ascontiguousarray(border_at),
        np.ascontiguousarray(log_det_above),
        new,
        log_det,
    )
    return new, log_det
