"""mclust's fourteen covariance structures: M-steps, parameter counts, shapes.

Every component covariance is written in its eigen-decomposition
(Banfield & Raftery 1993; Celeux & Govaert 1995)::

    Sigma_k = lambda_k D_k A_k D_k^T

with ``lambda_k = det(Sigma_k)^(1/d)`` the *volume*, ``A_k`` a diagonal matrix
with determinant 1 the *shape* and ``D_k`` an orthogonal matrix the
*orientation*. A structure's three letters say, in that order, whether the
volume, the shape and the orientation are Equal across components, Variable,
or the Identity (``I`` for the shape: spherical; ``I`` for the orientation:
the axes)::

    EII VII  EEI VEI EVI VVI  EEE VEE EVE VVE  EEV VEV EVV VVV

scikit-learn's four types are ``spherical = VII``, ``diag = VVI``,
``tied = EEE`` and ``full = VVV``.

The M-step maximises, under the structure, the covariance part of the
complete-data log-likelihood::

    Q(Sigma) = sum_k [ -n_k/2 log det Sigma_k - 1/2 tr(W_k Sigma_k^{-1}) ]

where ``W_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T`` is the weighted scatter
around the component means and ``n_k = sum_i r_ik``. Closed forms exist for
EII, VII, EEI, VVI, EEE, VVV (the scatter, pooled or not, projected on the
structure) and for EVI, EEV, EVV (Celeux & Govaert 1995, sections 3-4). VEI,
VEE and VEV are fitted by the fixed-point iteration of Celeux & Govaert
(alternate the common shape and the volumes, each given the other); EVE and
VVE, which share one orientation across components with different shapes,
alternate the eigenvalues given ``D`` with sweeps of exact plane rotations of
``D`` (Jacobi's method, as in Flury & Gautschi's algorithm for common principal
components; the majorise-minimise update of Browne & McNicholas 2014 reaches
the same optima with far more iterations). Every step of every iteration maximises
``Q`` over one block given the others, so ``Q`` never decreases.

Regularisation: ``reg_covar`` is put into the scatter as ``W_k + reg_covar n_k
I`` before the M-step, that is ``reg_covar`` times the identity added to every
component's empirical covariance ``W_k / n_k``. For EII, VII, EEI, VVI, EEE,
EEV and VVV this is exactly scikit-learn's "add ``reg_covar`` to the diagonal
of the result"; for the others adding it to the result would break the
structure (``lambda_k C + reg I`` no longer has the shape of ``C``), while
regularising the scatter keeps it and makes every M-step well posed (it
maximises ``Q`` minus ``reg_covar/2 sum_k n_k tr(Sigma_k^{-1})``).

References
----------
Banfield, J. D. and Raftery, A. E. (1993). Model-based Gaussian and
non-Gaussian clustering. Biometrics 49, 803-821.

Celeux, G. and Govaert, G. (1995). Gaussian parsimonious clustering models.
Pattern Recognition 28, 781-793.

Flury, B. N. and Gautschi, W. (1986). An algorithm for simultaneous
orthogonal transformation of several positive definite symmetric matrices to
nearly diagonal form. SIAM J. Sci. Stat. Comput. 7, 169-184.

Browne, R. P. and McNicholas, P. D. (2014). Estimating common principal
components in high dimensions. Advances in Data Analysis and Classification
8, 217-226.

Scrucca, L., Fop, M., Murphy, T. B. and Raftery, A. E. (2016). mclust 5.
The R Journal 8, 289-317 (Table 3: the models and their parameter counts).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SKLEARN_STRUCTURES",
    "STRUCTURES",
    "canonical_structure",
    "compact_covariances",
    "covariance_mstep",
    "decompose",
    "full_covariances",
    "is_submodel",
    "n_covariance_parameters",
]

#: mclust's model names, in mclust's order.
STRUCTURES = (
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)

#: scikit-learn's covariance types and the structure each one is.
SKLEARN_STRUCTURES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}

# Positive eigenvalues below this are floored before logarithms and ratios:
# only a degenerate scatter (reg_covar=0 and a collapsed component) gets there.
_TINY = 1e-300


def canonical_structure(structure: str) -> str:
    """The mclust name of ``structure`` (an mclust name or a scikit-learn type).

    Parameters
    ----------
    structure : str
        One of :data:`STRUCTURES` or a key of :data:`SKLEARN_STRUCTURES`.

    Returns
    -------
    name : str
        The three-letter mclust name.

    Examples
    --------
    >>> canonical_structure("tied")
    'EEE'
    >>> canonical_structure("VEV")
    'VEV'
    """
    if isinstance(structure, str):
        if structure in SKLEARN_STRUCTURES:
            return SKLEARN_STRUCTURES[structure]
        if structure in STRUCTURES:
            return structure
    raise ValueError(
        f"structure={structure!r} is not a covariance structure: expected one of "
        f"{', '.join(STRUCTURES)} or a scikit-learn type "
        f"({', '.join(SKLEARN_STRUCTURES)})."
    )


# ------------------------------------------------------------------- nesting
_LETTER_ORDER = {"I": 0, "E": 1, "V": 2}


def is_submodel(special: str, general: str) -> bool:
    """Whether every covariance set of ``special`` is one of ``general``.

    Letter by letter, Identity is a special case of Equal, and Equal of
    Variable (a spherical shape, ``I``, has no orientation to vary, and its
    third letter is always ``I``). Every structure is a submodel of itself.

    Parameters
    ----------
    special, general : str
        mclust names or scikit-learn types.

    Returns
    -------
    nested : bool

    Examples
    --------
    >>> is_submodel("EEI", "VEV"), is_submodel("VII", "EEE")
    (True, False)
    """
    special, general = canonical_structure(special), canonical_structure(general)
    return all(
        _LETTER_ORDER[s] <= _LETTER_ORDER[g]
        for s, g in zip(special, general, strict=True)
    )


# -------------------------------------------------------------------- storage
def _storage(covariance_type: str) -> str:
    """How a type stores its covariances: scikit-learn's compact forms, or full."""
    if covariance_type in ("tied", "diag", "spherical"):
        return covariance_type
    canonical_structure(covariance_type)  # refuses unknown names
    return "full"


def full_covariances(covariances, covariance_type, n_components, n_features):
    """Covariances in the full form ``(n_components, d, d)``, whatever the type."""
    cov = np.asarray(covariances)
    kind = _storage(covariance_type)
    k, d = n_components, n_features
    if kind == "full":
        return cov
    if kind == "tied":
        return np.broadcast_to(cov, (k, d, d)).copy()
    if kind == "diag":
        return cov[:, :, np.newaxis] * np.eye(d, dtype=cov.dtype)
    return cov[:, np.newaxis, np.newaxis] * np.eye(d, dtype=cov.dtype)


def compact_covariances(full, covariance_type):
    """Full covariances ``(K, d, d)`` in a type's storage form.

    The inverse of :func:`full_covariances` on covariances that have the
    type's structure (tied: all equal; diag: diagonal; spherical: multiples of
    the identity); other entries are dropped.
    """
    kind = _storage(covariance_type)
    if kind == "full":
        return full
    if kind == "tied":
        return full[0]
    diagonal = np.diagonal(full, axis1=1, axis2=2)
    return diagonal.copy() if kind == "diag" else diagonal.mean(axis=1)


# ------------------------------------------------------------ parameter counts
def n_covariance_parameters(structure: str, n_components: int, n_features: int) -> int:
    """Number of free covariance parameters of a structure (mclust's nVarParams).

    Parameters
    ----------
    structure : str
        mclust name or scikit-learn type.
    n_components : int
        Number of components ``K``.
    n_features : int
        Number of features ``d``.

    Returns
    -------
    n : int
        ``1 + K(d-1)`` for EVI, ``K d(d+1)/2`` for VVV, and so on: volumes
        (1 or K), shapes (0, d-1 or K(d-1)) and orientations (0,
        d(d-1)/2 or K d(d-1)/2), counted as in mclust.

    Examples
    --------
    >>> n_covariance_parameters("VEV", 3, 4)
    24
    """
    name = canonical_structure(structure)
    for arg, value in (("n_components", n_components), ("n_features", n_features)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{arg} must be an int, got {value!r}.")
        if value < 1:
            raise ValueError(f"{arg} must be >= 1, got {value}.")
    K, d = int(n_components), int(n_features)
    volumes = 1 if name[0] == "E" else K
    shapes = {"I": 0, "E": d - 1, "V": K * (d - 1)}[name[1]]
    rotation = d * (d - 1) // 2
    orientations = {"I": 0, "E": rotation, "V": K * rotation}[name[2]]
    if name[1] == "I":  # spherical: no orientation either
        orientations = 0
    return volumes + shapes + orientations


# -------------------------------------------------------------- decomposition
def decompose(covariances):
    """Volume, shape and orientation of each covariance.

    Parameters
    ----------
    covariances : array-like of shape (n_components, n_features, n_features)
        Symmetric positive definite matrices.

    Returns
    -------
    volume : ndarray of shape (n_components,)
        ``det(Sigma_k)^(1/d)``.
    shape : ndarray of shape (n_components, n_features)
        Eigenvalues divided by the volume, in decreasing order (product 1).
    orientation : ndarray of shape (n_components, n_features, n_features)
        Matching unit eigenvectors as columns, each with its largest entry (in
        absolute value) positive, so that
        ``Sigma_k = volume_k * D_k @ diag(shape_k) @ D_k.T``.

    Examples
    --------
    >>> import numpy as np
    >>> volume, shape, orientation = decompose(np.diag([4.0, 1.0])[np.newaxis])
    >>> volume, shape
    (array([2.]), array([[2. , 0.5]]))
    """
    cov = np.asarray(covariances, dtype=float)
    if cov.ndim != 3 or cov.shape[1] != cov.shape[2]:
        raise ValueError(
            "covariances must have shape (n_components, n_features, n_features), "
            f"got {cov.shape}."
        )
    values, vectors = np.linalg.eigh(cov)
    values, vectors = values[:, ::-1], vectors[:, :, ::-1]
    bad = np.flatnonzero(~(values[:, -1] > 0))
    if bad.size:
        raise ValueError(
            f"covariances[{bad[0]}] is not positive definite (smallest eigenvalue "
            f"{values[bad[0], -1]!r})."
        )
    log_volume = np.mean(np.log(values), axis=1)
    volume = np.exp(log_volume)
    shape = np.exp(np.log(values) - log_volume[:, np.newaxis])
    # Eigenvectors have no sign: pick the one whose largest entry is positive.
    K, d = values.shape
    biggest = np.argmax(np.abs(vectors), axis=1)
    signs = np.sign(vectors[np.arange(K)[:, np.newaxis], biggest, np.arange(d)])
    return volume, shape, vectors * signs[:, np.newaxis, :]


# ----------------------------------------------------------------- helpers
def _objective_diag(E, delta, nk):
    """Q for ``Sigma_k = D_k diag(delta_k) D_k^T``, ``E_k = diag(D_k^T W_k D_k)``."""
    return -0.5 * np.sum(nk * np.sum(np.log(delta), axis=1) + np.sum(E / delta, axis=1))


def _geometric_mean(values):
    return np.exp(np.mean(np.log(np.maximum(values, _TINY)), axis=-1))


def _eigen_descending(W):
    values, vectors = np.linalg.eigh(W)
    return np.maximum(values[:, ::-1], _TINY), vectors[:, :, ::-1]


def _from_eigen(vectors, delta):
    """``D_k diag(delta_k) D_k^T`` for a stack (or one shared ``D``)."""
    if vectors.ndim == 2:
        return np.einsum("ij,kj,lj->kil", vectors, delta, vectors)
    return np.einsum("kij,kj,klj->kil", vectors, delta, vectors)


def _diagonal(delta):
    K, d = delta.shape
    out = np.zeros((K, d, d))
    out[:, np.arange(d), np.arange(d)] = delta
    return out


def _volumes_from(previous, nk, W):
    """Starting volumes: the previous ones, else the spherical (VII) ones."""
    if previous is not None:
        _, logdet = np.linalg.slogdet(previous)
        return np.maximum(np.exp(logdet / previous.shape[-1]), _TINY)
    d = W.shape[-1]
    return np.maximum(np.trace(W, axis1=1, axis2=2) / (d * nk), _TINY)


def _is_positive_definite(covariances):
    if not np.all(np.isfinite(covariances)):
        return False
    try:
        np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        return False
    return True


def _converged(new, old, tol):
    return new - old <= tol * abs(new)


# ---------------------------------------------------- closed-form M-steps
def _mstep_EII(W, nk, previous, tol, max_iter):
    d = W.shape[-1]
    lam = np.trace(W.sum(axis=0)) / (d * nk.sum())
    return _diagonal(np.full((W.shape[0], d), lam))


def _mstep_VII(W, nk, previous, tol, max_iter):
    d = W.shape[-1]
    lam = np.trace(W, axis1=1, axis2=2) / (d * nk)
    return _diagonal(np.repeat(lam[:, np.newaxis], d, axis=1))


def _mstep_EEI(W, nk, previous, tol, max_iter):
    pooled = np.diagonal(W.sum(axis=0)) / nk.sum()
    return _diagonal(np.repeat(pooled[np.newaxis], W.shape[0], axis=0))


def _mstep_VVI(W, nk, previous, tol, max_iter):
    return _diagonal(np.diagonal(W, axis1=1, axis2=2) / nk[:, np.newaxis])


def _mstep_EEE(W, nk, previous, tol, max_iter):
    pooled = W.sum(axis=0) / nk.sum()
    return np.repeat(pooled[np.newaxis], W.shape[0], axis=0)


def _mstep_VVV(W, nk, previous, tol, max_iter):
    return W / nk[:, np.newaxis, np.newaxis]


def _equal_volume_varying_shape(E, nk):
    """Eigenvalues of ``lambda A_k`` maximising Q given ``E_k`` (EVI, EVV, EVE).

    Given lambda, ``A_k`` is ``E_k`` over its geometric mean; then
    ``tr(W_k Sigma_k^{-1}) = d g_k / lambda`` with ``g_k`` that geometric
    mean, and ``lambda = sum_k g_k / n`` (Celeux & Govaert 1995, model
    [lambda B_k]).
    """
    g = _geometric_mean(E)
    lam = g.sum() / nk.sum()
    return lam * np.maximum(E, _TINY) / g[:, np.newaxis]


def _mstep_EVI(W, nk, previous, tol, max_iter):
    E = np.diagonal(W, axis1=1, axis2=2)
    return _diagonal(_equal_volume_varying_shape(E, nk))


def _mstep_EVV(W, nk, previous, tol, max_iter):
    values, vectors = _eigen_descending(W)
    return _from_eigen(vectors, _equal_volume_varying_shape(values, nk))


def _mstep_EEV(W, nk, previous, tol, max_iter):
    # D_k: eigenvectors of W_k; the common lambda A is then the pooled
    # eigenvalues (largest with largest), Celeux & Govaert 1995, model
    # [lambda D_k A D_k^T].
    values, vectors = _eigen_descending(W)
    common = values.sum(axis=0) / nk.sum()
    return _from_eigen(vectors, np.repeat(common[np.newaxis], W.shape[0], axis=0))


# ------------------------------------- common shape, varying volume (VEI, VEV)
def _varying_volume_common_shape(E, nk, lam, tol, max_iter):
    """Fixed point of Celeux & Govaert for ``Sigma_k = lambda_k D_k B D_k^T``.

    ``E_k`` are the eigenvalues in the (fixed) frame ``D_k``. Given the
    volumes, the unnormalised shape ``B = sum_k E_k / lambda_k / n`` maximises
    Q; given ``B``, ``lambda_k = sum_j E_kj / B_j / (d n_k)``. The pair
    ``(c lambda_k, B / c)`` is the same model, so ``B`` needs no normalising.
    """
    d = E.shape[1]
    n = nk.sum()
    old = -np.inf
    for _ in range(max_iter):
        B = np.maximum(np.sum(E / lam[:, np.newaxis], axis=0) / n, _TINY)
        lam = np.maximum(np.sum(E / B, axis=1) / (d * nk), _TINY)
        delta = lam[:, np.newaxis] * B
        new = _objective_diag(E, delta, nk)
        if _converged(new, old, tol):
            break
        old = new
    return delta


def _mstep_VEI(W, nk, previous, tol, max_iter):
    E = np.diagonal(W, axis1=1, axis2=2)
    lam = _volumes_from(previous, nk, W)
    return _diagonal(_varying_volume_common_shape(E, nk, lam, tol, max_iter))


def _mstep_VEV(W, nk, previous, tol, max_iter):
    # D_k: eigenvectors of W_k, whatever the volumes and the common shape
    # (largest eigenvalue of W_k along the largest of A: rearrangement).
    values, vectors = _eigen_descending(W)
    lam = _volumes_from(previous, nk, W)
    delta = _varying_volume_common_shape(values, nk, lam, tol, max_iter)
    return _from_eigen(vectors, delta)


# --------------------------------------------------------------------- VEE
def _mstep_VEE(W, nk, previous, tol, max_iter):
    """``Sigma_k = lambda_k C``: C given the volumes, then the volumes given C.

    Given the volumes, ``C = sum_k W_k / lambda_k / n`` (unnormalised, as in
    :func:`_varying_volume_common_shape`); given ``C``,
    ``lambda_k = tr(W_k C^{-1}) / (d n_k)`` (Celeux & Govaert 1995, model
    [lambda_k C]; mclust's msvee).
    """
    d = W.shape[-1]
    n = nk.sum()
    lam = _volumes_from(previous, nk, W)
    old = -np.inf
    for _ in range(max_iter):
        C = np.sum(W / lam[:, np.newaxis, np.newaxis], axis=0) / n
        chol = np.linalg.cholesky(C)
        inv_chol = np.linalg.inv(chol)
        # tr(W_k C^{-1}) = tr(L^{-1} W_k L^{-T}) with C = L L^T
        t = np.einsum("ij,kjl,il->k", inv_chol, W, inv_chol)
        lam = np.maximum(t / (d * nk), _TINY)
        logdet = 2.0 * np.sum(np.log(np.diagonal(chol)))
        new = -0.5 * np.sum(nk * (d * np.log(lam) + logdet) + t / lam)
        if _converged(new, old, tol):
            break
        old = new
    return lam[:, np.newaxis, np.newaxis] * C


# ------------------------------------------ common orientation (EVE, VVE)
def _orientation_from(previous, W):
    """Starting common orientation: the previous one, else the pooled scatter's.

    The previous covariances share their eigenvectors; a sum with unequal
    weights separates directions that one component alone may leave tied.
    """
    source = W if previous is None else previous
    weights = 1.0 + np.arange(source.shape[0]) / (np.pi * source.shape[0])
    return np.linalg.eigh(np.tensordot(weights, source, axes=1))[1]


def _round_robin(d):
    """Rounds of disjoint pairs covering every pair ``i < j`` once (a sweep).

    The circle method: with ``d`` odd a dummy index ``d`` is added and the
    index paired with it sits the round out.
    """
    players = list(range(d + d % 2))
    m = len(players)
    rounds = []
    for _ in range(m - 1):
        pairs = [(players[i], players[m - 1 - i]) for i in range(m // 2)]
        pairs = [(min(p), max(p)) for p in pairs if max(p) < d]
        if pairs:  # d = 1 has no plane at all
            rounds.append(tuple(np.array(side) for side in zip(*pairs, strict=True)))
        players = [players[0], players[-1], *players[1:-1]]
    return rounds


def _rotate(X, first, second, c, s, axis=-2):
    """Rotate the slices ``first`` and ``second`` of ``X`` along ``axis``:
    ``(x_i, x_j) <- (c x_i + s x_j, -s x_i + c x_j)`` for each pair."""
    # Plain indexing on the axis (no moveaxis round trip): this runs d - 1
    # times per sweep of every inner iteration of EVE and VVE.
    X = X.copy()
    if axis % X.ndim == X.ndim - 1:
        xi, xj = X[..., first], X[..., second]
        X[..., first], X[..., second] = c * xi + s * xj, c * xj - s * xi
        return X
    c, s = c[:, np.newaxis], s[:, np.newaxis]
    xi, xj = X[..., first, :], X[..., second, :]
    X[..., first, :], X[..., second, :] = c * xi + s * xj, c * xj - s * xi
    return X


def _common_orientation(W, nk, previous, tol, max_iter, eigenvalues):
    """``Sigma_k = D diag(delta_k) D^T`` with one orthogonal ``D`` for all k.

    Block coordinate ascent on Q. Given ``D``, ``delta_k =
    eigenvalues(diag(D^T W_k D))`` is the maximiser. Given the ``delta_k``,
    ``D`` must minimise ``f(D) = sum_k sum_j m_kjj / delta_kj`` with ``M_k =
    D^T W_k D``. Rotating columns ``i, j`` of ``D`` by an angle ``t`` changes
    ``f`` by ``a cos 2t + b sin 2t + const`` with
    ``a = sum_k (1/delta_ki - 1/delta_kj)(m_kii - m_kjj) / 2`` and
    ``b = sum_k (1/delta_ki - 1/delta_kj) m_kij``, least at
    ``2t = atan2(-b, -a)``: the exact minimiser over that plane. Disjoint pairs
    change disjoint terms of ``f``, so ``d/2`` of them are rotated at once;
    ``d - 1`` such rounds sweep every plane (Jacobi's method; the pairwise
    rotations of Flury & Gautschi's common principal components algorithm,
    here with the eigenvalues refreshed after every round). A point where no
    plane rotation helps is a stationary point of Q on the orthogonal group.
    Browne & McNicholas' (2014) majorise-minimise update (mclust's) also
    climbs to stationary points, but took 5 to 100 times more iterations in
    our measurements (d = 10 to 30); from one start the two may stop at
    different local maxima when d is large, as Q is not concave in ``D``.
    """
    d = W.shape[-1]
    D = _orientation_from(previous, W)
    M = D.T @ W @ D
    rounds = _round_robin(d)
    old = -np.inf
    for _ in range(max_iter):
        E = np.diagonal(M, axis1=1, axis2=2)
        delta = eigenvalues(E, nk)
        new = _objective_diag(E, delta, nk)
        if _converged(new, old, tol):
            break
        old = new
        for first, second in rounds:
            inv = 1.0 / delta
            gap = inv[:, first] - inv[:, second]
            a = 0.5 * np.sum(gap * (M[:, first, first] - M[:, second, second]), axis=0)
            b = np.sum(gap * M[:, first, second], axis=0)
            # flat planes (a = b = 0) are left alone
            t = np.where(a * a + b * b > 0, 0.5 * np.arctan2(-b, -a), 0.0)
            c, s = np.cos(t), np.sin(t)
            # D <- D R and M <- R^T M R, R the rotations in the planes
            # (first, second), applied to those columns and rows only
            D = _rotate(D, first, second, c, s, axis=-1)
            M = _rotate(_rotate(M, first, second, c, s, axis=-1), first, second, c, s)
            delta = eigenvalues(np.diagonal(M, axis1=1, axis2=2), nk)
    return _from_eigen(D, delta)


def _varying_eigenvalues(E, nk):
    return np.maximum(E, _TINY) / nk[:, np.newaxis]


def _mstep_VVE(W, nk, previous, tol, max_iter):
    return _common_orientation(W, nk, previous, tol, max_iter, _varying_eigenvalues)


def _mstep_EVE(W, nk, previous, tol, max_iter):
    return _common_orientation(
        W, nk, previous, tol, max_iter, _equal_volume_varying_shape
    )


MSTEP = {
    "EII": _mstep_EII,
    "VII": _mstep_VII,
    "EEI": _mstep_EEI,
    "VEI": _mstep_VEI,
    "EVI": _mstep_EVI,
    "VVI": _mstep_VVI,
    "EEE": _mstep_EEE,
    "VEE": _mstep_VEE,
    "EVE": _mstep_EVE,
    "VVE": _mstep_VVE,
    "EEV": _mstep_EEV,
    "VEV": _mstep_VEV,
    "EVV": _mstep_EVV,
    "VVV": _mstep_VVV,
}

#: The structures whose M-step iterates (and can use ``previous``).
ITERATIVE_STRUCTURES = ("VEI", "VEE", "EVE", "VVE", "VEV")


def covariance_mstep(
    structure: str,
    scatter,
    nk,
    reg_covar: float = 0.0,
    *,
    previous=None,
    tol: float = 1e-10,
    max_iter: int = 1000,
):
    """Covariances maximising the complete-data log-likelihood under a structure.

    Parameters
    ----------
    structure : str
        mclust name (``"EII"`` ... ``"VVV"``) or scikit-learn type.
    scatter : array-like of shape (n_components, n_features, n_features)
        ``W_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T``.
    nk : array-like of shape (n_components,)
        ``n_k = sum_i r_ik``, positive (scikit-learn adds ``10 * eps``).
    reg_covar : float, default=0.0
        Added to the diagonal of every ``W_k / n_k`` before the M-step; for
        the structures scikit-learn has, the same as adding it to the result.
    previous : array-like of shape (n_components, n_features, n_features), \
default=None
        The last EM iteration's covariances, to warm-start the iterative
        structures (VEI, VEE, EVE, VVE, VEV); ignored by the others.
    tol : float, default=1e-10
        The iterative structures stop when Q rises by less than ``tol * |Q|``
        in one iteration.
    max_iter : int, default=1000
        Most iterations of the iterative structures.

    Returns
    -------
    covariances : ndarray of shape (n_components, n_features, n_features)
        In scikit-learn's "full" form, in the dtype of ``scatter`` (float64
        for integer input).

    Notes
    -----
    The iterative structures climb Q from their start (the previous
    covariances, else the spherical volumes and the pooled scatter's axes),
    every step included, so an EM step with a warm start and any
    ``max_iter`` is a generalised EM step: the likelihood never decreases.
    With ``reg_covar=0`` a singular pooled scatter makes VEE fail
    (``LinAlgError``), as the maximum does not exist; ``reg_covar > 0``
    always gives positive definite covariances.

    Examples
    --------
    >>> import numpy as np
    >>> scatter = np.array([[[4.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 4.0]]])
    >>> covariance_mstep("EEV", scatter, np.array([2.0, 2.0]))[0]
    array([[2. , 0. ],
           [0. , 0.5]])
    """
    name = canonical_structure(structure)
    W = np.asarray(scatter)
    dtype = W.dtype if np.issubdtype(W.dtype, np.floating) else np.float64
    W = W.astype(np.float64)
    if W.ndim != 3 or W.shape[1] != W.shape[2]:
        raise ValueError(
            "scatter must have shape (n_components, n_features, n_features), "
            f"got {W.shape}."
        )
    K, d, _ = W.shape
    nk = np.asarray(nk, dtype=np.float64)
    if nk.shape != (K,):
        raise ValueError(f"nk must have shape ({K},) like scatter, got {nk.shape}.")
    bad = np.flatnonzero(~(nk > 0))
    if bad.size:
        raise ValueError(f"nk[{bad[0]}] must be positive, got {nk[bad[0]]!r}.")
    if not (reg_covar >= 0):
        raise ValueError(f"reg_covar must be >= 0, got {reg_covar!r}.")
    if not (tol >= 0):
        raise ValueError(f"tol must be >= 0, got {tol!r}.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)):
        raise TypeError(f"max_iter must be an int, got {max_iter!r}.")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}.")
    if previous is not None:
        previous = np.asarray(previous, dtype=np.float64)
        if previous.shape != W.shape:
            raise ValueError(
                f"previous must have shape {W.shape} like scatter, "
                f"got {previous.shape}."
            )
        if name not in ITERATIVE_STRUCTURES or not _is_positive_definite(previous):
            # only a starting point: one that is no covariance is not used
            previous = None
    if reg_covar:
        W = W.copy()
        W[:, np.arange(d), np.arange(d)] += reg_covar * nk[:, np.newaxis]
    covariances = MSTEP[name](W, nk, previous, tol, max_iter)
    return covariances.astype(dtype, copy=False)
