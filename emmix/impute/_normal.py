"""EM imputation of multivariate normal data with missing values.

The model: every row is a draw from one multivariate normal ``N(mu, Sigma)``,
and some of its entries were not recorded (missing at random). EM finds the
maximum-likelihood ``mu`` and ``Sigma`` of the *observed* data; each missing
entry is then filled with its conditional expectation given the observed
entries of its row.

E-step: the shared conditional-Gaussian kernel
(:mod:`emmix._conditional_gaussian`, which gives the maths) with one
component: each row's missing block is normal given its observed block, with
mean ``x̂_m`` and covariance ``C``, computed by missingness pattern from the
precision matrix. The expected sufficient statistics are taken around the
reference point ``c = mu`` (the mean entering the E-step, so data far from the
origin keep their precision): ``S0 = sum w``, ``S1 = sum w (x̂ - c)`` and
``S2 = sum w ((x̂ - c)(x̂ - c)^T + C)`` with ``C`` placed in the rows and
columns of the row's missing entries.

M-step: ``d = S1 / S0``, ``mu' = c + d``, ``Sigma' = S2 / S0 - d d^T + D``,
with ``D`` the diagonal ``reg_covar * (observed variance of each column)``.
"""

from __future__ import annotations

import copy
import math
import warnings
from functools import partial
from numbers import Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import MissingIndicator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, MissingValues
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from .._accel import project_psd
from .._conditional_gaussian import (
    condition_on_observed,
    expected_stats,
    missing_patterns,
)
from .._conditional_gaussian import row_bytes as _row_bytes
from .._dask import (
    dask_check_X,
    dask_column_summary,
    dask_map_rows,
    dask_observed_moments,
    dask_validate,
    dask_weights,
    is_dask,
)
from .._em import EMMixin, iter_chunks
from .._validation import (
    _describe,
    check_sample_weight,
    check_squares_representable,
    check_X,
    is_scalar_nan,
    missing_mask,
    normalize_weights_by_total,
)

__all__ = [
    "MissingBivariateImputer",
    "MultivariateNormalImputer",
    "gaussian_params",
    "mstep_normal",
    "naive_regression_fill",
    "observed_moments",
]

#: A column whose variance left after regressing it on the columns before it
#: is below this fraction of its variance (1 - R^2 < 1e-10) makes the
#: covariance numerically singular: the conditional means would lose about ten
#: of the sixteen digits of float64.
SINGULAR_RATIO = 1e-10


def _singular_error(j: int, labels, reg_covar: float) -> ValueError:
    label = labels[j] if labels is not None else f"column {j}"
    what = (
        f"{label} has zero variance"
        if j == 0
        else f"{label} is (numerically) a linear function of the column(s) before it"
    )
    advice = (
        "Drop or merge that column, or set reg_covar to a small positive value "
        "(e.g. 1e-6, relative to each column's variance) to regularise the "
        "covariance"
    )
    if reg_covar > 0:
        advice = (
            f"reg_covar={reg_covar} is too small to keep it apart; increase "
            "it, or drop or merge that column"
        )
    return ValueError(
        f"The estimated covariance matrix is singular: {what} (its variance "
        f"left after regressing it on the others is below {SINGULAR_RATIO:g} "
        "of its variance). This happens with too few rows, with too few "
        "observed values in a column, or with columns that are copies or "
        f"linear combinations of others. {advice}."
    )


def gaussian_params(mean, covariance, *, labels=None, reg_covar: float = 0.0) -> dict:
    """Mean, covariance, precision and log-determinant, checked for singularity.

    The Cholesky factor is taken of the *correlation* matrix, so the
    singularity test (each pivot is the fraction of a column's variance left
    after regressing it on the columns before it) does not depend on the
    units of the data.

    Parameters
    ----------
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
    labels : list of str, default=None
        How the error message names each column (``"column 3 ('age')"``).
    reg_covar : float, default=0.0
        Only used in the error message.

    Returns
    -------
    params : dict
        ``mean``, ``covariance``, ``precision`` (its inverse), ``whiten``
        (upper triangular ``W`` with ``W W^T = precision``) and ``log_det``
        (``log det covariance``).

    Raises
    ------
    ValueError
        If the covariance is numerically singular.
    """
    covariance = 0.5 * (covariance + covariance.T)  # exact symmetry
    variances = np.diag(covariance)
    nonpositive = np.flatnonzero(~(variances > 0.0))
    if nonpositive.size:
        raise _singular_error(int(nonpositive[0]), labels, reg_covar)
    scale = np.sqrt(variances)
    correlation = covariance / np.outer(scale, scale)
    chol, info = linalg.lapack.dpotrf(correlation, lower=1, clean=1)
    if info > 0:
        raise _singular_error(int(info) - 1, labels, reg_covar)
    pivots = np.diag(chol) ** 2
    tiny = np.flatnonzero(pivots < SINGULAR_RATIO)
    if tiny.size:
        raise _singular_error(int(tiny[0]), labels, reg_covar)
    # LAPACK's triangular inverse directly: scipy's solve_triangular costs
    # milliseconds of overhead per call, more than the whole E-step on small data.
    chol_inv, info = linalg.lapack.dtrtri(chol, lower=1)
    if info != 0:  # pragma: no cover - pivots were checked above
        raise _singular_error(int(info) - 1, labels, reg_covar)
    # Sigma^-1 = W W^T with W = D^-1 L^-T (D the standard deviations): the
    # squared norm of r W is r^T Sigma^-1 r without cancellation.
    whiten = chol_inv.T / scale[:, np.newaxis]
    precision = whiten @ whiten.T
    precision = 0.5 * (precision + precision.T)
    log_det = 2.0 * (np.sum(np.log(scale)) + np.sum(np.log(np.diag(chol))))
    return {
        "mean": np.asarray(mean, dtype=np.float64),
        "covariance": covariance,
        "precision": precision,
        "whiten": whiten,
        "log_det": float(log_det),
    }


def naive_regression_fill(X) -> dict:
    """The textbook "fill in the regression prediction" estimate (NOT EM).

    Fits the regression of each incompletely observed column on the others
    from the complete rows, fills every missing entry with its prediction and
    takes the moments of the filled data. This leaves out the conditional
    variance of the filled entries, so variances come out too small and
    correlations too large. Provided to show that bias; do not use it.

    Parameters
    ----------
    X : array-like of shape (n_samples, 2)
        Bivariate data with NaN for missing entries of the second column only.

    Returns
    -------
    estimates : dict
        ``mean``, ``covariance`` (biased, divided by ``n``) and ``correlation``.
    """
    X = np.asarray(X, dtype=np.float64)
    missing = np.isnan(X[:, 1])
    complete = X[~missing]
    slope, intercept = np.polyfit(complete[:, 0], complete[:, 1], 1)
    filled = X.copy()
    filled[missing, 1] = intercept + slope * X[missing, 0]
    covariance = np.cov(filled, rowvar=False, bias=True)
    return {
        "mean": filled.mean(axis=0),
        "covariance": covariance,
        "correlation": float(covariance[0, 1])
        / math.sqrt(covariance[0, 0] * covariance[1, 1]),
    }


def observed_moments(X, sample_weight) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and (biased) variance of each column's observed values.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data with NaN for missing entries.
    sample_weight : ndarray of shape (n_samples,)

    Returns
    -------
    mean, variance : ndarray of shape (n_features,)
    """
    # Sums over row chunks: the per-cell temporaries never exceed a chunk.
    chunks = list(iter_chunks(X.shape[0], 8 * 6 * max(X.shape[1], 1)))

    def observed_weights(rows):
        observed = ~np.isnan(X[rows])
        return observed, observed * sample_weight[rows, np.newaxis]

    total = sums = 0.0
    for rows in chunks:
        observed, w = observed_weights(rows)
        total = total + w.sum(axis=0)
        sums = sums + (w * np.where(observed, X[rows], 0.0)).sum(axis=0)
    mean = sums / total
    # Second pass around the mean: no cancellation for data far from 0.
    second = 0.0
    for rows in chunks:
        observed, w = observed_weights(rows)
        centred = np.where(observed, X[rows] - mean, 0.0)
        second = second + (w * centred**2).sum(axis=0)
    return mean, second / total


def mstep_normal(stats: dict, ref, ridge) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form M-step: mean and covariance from summed statistics.

    ``s1`` and ``s2`` are taken around the reference point ``ref``,
    so the update ``Sigma = s2 / s0 - d d^T`` subtracts only the small
    correction ``d = s1 / s0`` (no cancellation for data far from the origin).

    Parameters
    ----------
    stats : dict
        ``s0`` (total weight), ``s1 = sum w (x̂ - ref)`` and
        ``s2 = sum w ((x̂ - ref)(x̂ - ref)^T + C)``.
    ref : ndarray of shape (n_features,)
        The reference point (the mean entering the E-step).
    ridge : float or ndarray of shape (n_features,)
        Added to the diagonal.

    Returns
    -------
    mean : ndarray of shape (n_features,)
    covariance : ndarray of shape (n_features, n_features)
    """
    s0 = float(stats["s0"])
    offset = stats["s1"] / s0
    covariance = stats["s2"] / s0 - np.outer(offset, offset)
    covariance.flat[:: covariance.shape[0] + 1] += ridge
    return ref + offset, covariance


# ---------------------------------------------------------------- estimator
def _check_block(estimator, X):
    """The in-memory validation of one block of rows (for Dask input)."""
    estimator._validate_input(X, reset=False)


def _informative_weights(x, w):
    """Weights in float64, 0 for rows with nothing observed (left out)."""
    return np.where(np.isnan(x).all(axis=1), 0.0, w.astype(np.float64))


def _transform_block(estimator, method, seed, X, block_index):
    """``estimator.method(X)`` on one block; posterior draws from its own stream."""
    if seed is not None:
        # Each block draws from its own stream, derived from (seed, block).
        estimator = copy.copy(estimator)
        estimator.random_state = np.random.RandomState([seed, block_index])
    return getattr(estimator, method)(X)


class MultivariateNormalImputer(EMMixin, TransformerMixin, BaseEstimator):
    """Impute missing values by EM under a multivariate normal model.

    The rows are modelled as draws from one multivariate normal distribution,
    with entries missing at random (any pattern). :meth:`fit` finds the
    maximum-likelihood mean and covariance of the observed data with the EM
    algorithm; :meth:`transform` replaces each missing entry with its
    conditional expectation given the observed entries of its row (or, with
    ``sample_posterior=True``, with a draw from the conditional distribution).

    Unlike filling in regression predictions and re-estimating the moments
    from the filled data (which leaves out the conditional variance and so
    underestimates variances and overestimates correlations), the E-step adds
    each row's conditional covariance to the second-moment statistic; the
    estimates are the maximum-likelihood ones.

    Parameters
    ----------
    missing_values : int, float or np.nan, default=np.nan
        The placeholder for the missing values; all its occurrences are
        imputed.
    tol : float, default=1e-7
        Convergence threshold on the mean observed-data log-likelihood per
        sample: by default on Aitken's estimate of its distance to the optimum
        (see ``stopping``). Smaller than the Gaussian mixture's 1e-3 because
        here the estimates are the output: near the optimum the
        log-likelihood gap is quadratic in the parameter error, so 1e-3 leaves
        errors of a few percent of a standard deviation in the means (and
        imputations). With Aitken's rule 1e-7 measured gaps to the optimum of
        about 3e-8 (relative), at a few cheap iterations more than 1e-6.
    max_iter : int, default=100
        Maximum number of EM iterations.
    n_init : int, default=1
        Number of EM runs; the best is kept. The start (observed means and
        variances, no correlation) is deterministic, so values above 1 only
        repeat the same run. Kept for the shared EM engine's interface.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws of ``sample_posterior=True``. An integer gives the
        same draws on every call of :meth:`transform`.
    warm_start : bool, default=False
        If True, a second :meth:`fit` starts from the fitted mean and
        covariance when the columns with observed values are the same (else
        it starts afresh, with a warning).
    verbose : int, default=0
        1 prints the iterations, 2 also times and log-likelihood changes.
    verbose_interval : int, default=10
        Iterations between two messages.
    reg_covar : float, default=1e-6
        Relative regularisation of the covariance: at each M-step,
        ``reg_covar`` times each column's variance (of its observed values, at
        the start of the fit) is added to that column's diagonal entry. Being
        relative, it does not depend on the units of the columns (rescaling a
        column rescales its imputations exactly), unlike scikit-learn's
        absolute ``reg_covar``. It keeps the covariance positive definite when
        there are fewer rows than columns or a column is a linear combination
        of others; the default changes variances by one part in a million.
        EM then maximises the penalised log-likelihood ``log L - (n / 2) *
        trace(D Sigma^-1)`` with ``D`` the added diagonal, and
        ``lower_bound_`` is that penalised value per sample. With 0 the
        estimates are exactly maximum likelihood and a singular covariance
        raises a ``ValueError`` that names the column.
    sample_posterior : bool, default=False
        If True, each missing block is drawn from its conditional normal
        distribution given the observed entries (for multiple imputation: fit
        once, transform with several seeds) instead of being set to its
        conditional mean.
    add_indicator : bool, default=False
        If True, a :class:`~sklearn.impute.MissingIndicator` is appended to the
        output (one column per feature with missing values at fit).
    keep_empty_features : bool, default=False
        If True, columns with no observed value at :meth:`fit` are kept in the
        output, with their missing entries set to 0 (as in scikit-learn's
        imputers); otherwise they are dropped.
    stopping : {'aitken', 'change'}, default='aitken'
        The stopping rule: 'aitken' stops when Aitken's estimate of the
        distance to the limit of the log-likelihood sequence is below ``tol``;
        'change' when the last change is (scikit-learn's rule).
    accelerate : {None, 'squarem'}, default=None
        None runs plain EM. 'squarem' accelerates it with the SqS3 scheme of
        Varadhan & Roland (2008): two EM steps, an extrapolation along them,
        parameters projected back into their valid set, and a fall-back to the
        plain EM step whenever the log-likelihood would not improve, so
        ``lower_bounds_`` never decreases. ``n_iter_`` counts passes over the
        data (E-steps) in both modes. Worth it when components overlap and EM
        crawls; on well-separated data it costs at most a few extra passes.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features_in_,)
        Maximum-likelihood mean. NaN (0 with ``keep_empty_features=True``) for
        columns with no observed value at fit, which are not modelled.
    covariance_ : ndarray of shape (n_features_in_, n_features_in_)
        Maximum-likelihood covariance (biased, divided by ``n``); rows and
        columns of unmodelled columns are NaN (0 with ``keep_empty_features``).
    indicator_ : MissingIndicator or None
        The indicator of ``add_indicator=True``.
    converged_ : bool
        Whether EM reached ``tol``.
    n_iter_ : int
        Number of EM iterations made.
    lower_bound_ : float
        Observed-data log-likelihood per sample (weighted mean over the rows
        with an observed value) of the parameters entering the last iteration,
        minus the ``reg_covar`` penalty per sample (0 when ``reg_covar=0``).
    lower_bounds_ : list of float
        The same at each iteration; it never decreases.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when all are strings.

    See Also
    --------
    MissingBivariateImputer : The two-variable case, with correlation and
        standard deviations.
    sklearn.impute.IterativeImputer : Chained regressions (not a likelihood
        model).

    Notes
    -----
    Rows with no observed value carry no information about the parameters
    and are left out of the fit (they would only slow EM down); they are
    imputed with the mean. Columns with no observed value are not modelled.
    A warning is issued when two columns are never observed in the same row:
    their covariance is then not identified by the data and EM keeps the
    value implied by its start (no partial correlation).

    The parameters are computed in float64; float32 input gives float32
    output. A column whose range, squared, leaves float64 (a span above
    1.3e154 or below 1.5e-154) is refused with a ``ValueError``: its variance
    could not be stored. Rescale it; with the relative ``reg_covar`` the fit
    of a rescaled column is the rescaled fit. A column whose observed values
    are all equal is refused too (zero variance): drop it. Sparse input
    raises a ``TypeError`` (call ``.toarray()``).

    Examples
    --------
    >>> import numpy as np
    >>> from emmix.impute import MultivariateNormalImputer
    >>> X = np.array(
    ...     [
    ...         [1.0, 2.0, 3.0],
    ...         [2.0, np.nan, 5.0],
    ...         [3.0, 5.0, np.nan],
    ...         [4.0, 7.0, 8.0],
    ...         [np.nan, 9.0, 10.0],
    ...         [6.0, 10.0, 13.0],
    ...     ]
    ... )
    >>> imp = MultivariateNormalImputer().fit(X)
    >>> imp.mean_.round(2)
    array([3.53, 6.1 , 7.83])
    >>> imp.transform(X).round(2)
    array([[ 1.  ,  2.  ,  3.  ],
           [ 2.  ,  3.6 ,  5.  ],
           [ 3.  ,  5.  ,  7.99],
           [ 4.  ,  7.  ,  8.  ],
           [ 5.2 ,  9.  , 10.  ],
           [ 6.  , 10.  , 13.  ]])
    """

    _parameter_constraints: dict = {
        "missing_values": [MissingValues(numeric_only=True)],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "sample_posterior": ["boolean"],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
    }
    _engine_parameters = (
        "tol",
        "max_iter",
        "n_init",
        "random_state",
        "warm_start",
        "verbose",
        "verbose_interval",
        "accelerate",
        "stopping",
    )
    #: The estimates are the output: Aitken's rule bounds the distance to the
    #: optimum (see the user guide's "When does EM stop?").
    _engine_defaults = {"tol": 1e-7, "stopping": "aitken"}

    def __init__(
        self,
        *,
        missing_values: float = np.nan,
        reg_covar: float = 1e-6,
        sample_posterior: bool = False,
        add_indicator: bool = False,
        keep_empty_features: bool = False,
        **params,
    ):
        self._set_declared_params(params)
        self.missing_values = missing_values
        self.reg_covar = reg_covar
        self.sample_posterior = sample_posterior
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = is_scalar_nan(self.missing_values)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------ input
    def _validate_input(self, X, *, reset: bool):
        """Validated array and its missing mask (inf and non-numbers rejected).

        The masked entries of a ``numpy.ma`` masked array are missing entries
        (they become ``missing_values``).
        """
        X = check_X(
            self,
            X,
            reset=reset,
            allow_nan=True,
            ensure_min_samples=2 if reset else 1,
            masked_fill=self.missing_values,
        )
        if reset:
            # The marker of a missing entry (e.g. -1e300) is not data.
            observed = X
            if not is_scalar_nan(self.missing_values):
                observed = np.where(X == self.missing_values, np.nan, X)
            check_squares_representable(
                observed, name=type(self).__name__, names=self._names(), underflow=True
            )
        if not is_scalar_nan(self.missing_values) and np.isnan(X).any():
            i, j = (int(v) for v in np.argwhere(np.isnan(X))[0])
            raise ValueError(
                f"Input X contains NaN at row {i}, {_describe(j, self._names())}, "
                f"but missing_values={self.missing_values!r}. Set "
                "missing_values=np.nan if NaN marks the missing entries, or "
                "replace the NaNs with the marker."
            )
        return X, missing_mask(X, self.missing_values)

    def _names(self):
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    def _check_columns(self, X, mask, sample_weight, kept):
        """Reject columns that leave nothing to estimate; warn on unidentified pairs."""
        # Row chunk by row chunk: the masks and values below are per cell.
        n_kept = int(np.sum(kept))
        low = np.full(n_kept, np.nan)
        high = np.full(n_kept, np.nan)
        together = np.zeros((n_kept, n_kept))
        for rows in iter_chunks(X.shape[0], 8 * 4 * max(n_kept, 1)):
            observed = ~mask[rows][:, kept] & (sample_weight[rows] > 0)[:, np.newaxis]
            values = np.where(observed, X[rows][:, kept], np.nan)
            # fmin/fmax ignore NaN (nothing observed in the chunk: NaN stays).
            low = np.fmin(low, np.fmin.reduce(values, axis=0))
            high = np.fmax(high, np.fmax.reduce(values, axis=0))
            observed = observed.astype(np.float64)
            together += observed.T @ observed
        self._check_column_summary(low, high, together, kept)

    def _check_column_summary(self, low, high, together, kept):
        """The checks of ``_check_columns`` from per-column summaries.

        ``low`` and ``high`` are the smallest and largest observed values of
        each modelled column in rows with a positive weight, ``together`` the
        number of such rows where two columns are both observed (its diagonal
        counts each column's observed values). Dask input computes them as
        reductions.
        """
        names = self._names()
        index = np.flatnonzero(kept)
        flat = np.flatnonzero(~(high > low))
        if flat.size:
            j = int(index[flat[0]])
            count = int(together[flat[0], flat[0]])
            what = {
                0: "has no observed value in a row with positive sample_weight",
                1: "has 1 observed value (in rows with positive sample_weight)",
            }.get(count, f"has {count} observed values and they are all equal")
            raise ValueError(
                f"{_describe(j, names)} {what}, so its variance cannot be "
                "estimated (it is 0) and the normal model is degenerate: there "
                "is nothing to estimate. Drop that column (or impute it "
                "separately, e.g. with SimpleImputer(strategy='constant'))."
            )
        never = np.argwhere(together == 0)
        if never.size:
            a, b = (int(index[v]) for v in never[0])
            warnings.warn(
                f"{_describe(a, names)} and {_describe(b, names)} are never "
                "observed in the same row, so their covariance is not "
                "identified by the data; EM keeps the value implied by its "
                "start. Treat the imputed values of these columns with care.",
                UserWarning,
                stacklevel=4,
            )

    # -------------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the mean and covariance of the observed data by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``. A
            ``dask.array.Array`` is fitted where its blocks live (see the
            "Fitting with Dask" page); ``transform`` of one is lazy.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. An integer weight is exactly the
            same as repeating the row that many times.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        self._validate_params()
        previous = getattr(self, "_modelled", None)
        if is_dask(X):
            X_fit, weights, kept, moments = self._fit_data_dask(X, sample_weight)
        else:
            X_fit, weights, kept, moments = self._fit_data(X, sample_weight)
        if previous is None or not np.array_equal(previous, kept):
            # warm_start cannot continue from parameters of other columns.
            if self.warm_start and "converged_" in self.__dict__:
                warnings.warn(
                    "warm_start=True, but the modelled columns of X (those "
                    "with an observed value) differ from the fitted model's "
                    f"({int(kept.sum())} of {kept.size} now, "
                    f"{int(previous.sum())} of {previous.size} then): the "
                    "fitted parameters cannot start this fit, so it starts "
                    "afresh, as without warm_start.",
                    UserWarning,
                    stacklevel=2,
                )
            self.__dict__.pop("converged_", None)
        self._modelled = kept
        names = self._names()
        self._modelled_labels = [_describe(j, names) for j in np.flatnonzero(kept)]
        # The relative ridge is fixed for the whole fit, so that EM maximises
        # one penalised objective (and never decreases it).
        mean, variance = moments
        self._ridge = self.reg_covar * variance
        # Deterministic start: observed means and variances, no correlation.
        self._start = self._gaussian(mean, np.diag(variance + self._ridge))
        try:
            self._fit_em(X_fit, weights)
        finally:
            del self._start
        return self

    def _check_modelled(self, n_observed, informative: bool):
        """Columns to model (those with an observed value); refuse nothing to fit."""
        kept = n_observed > 0
        if not kept.any():
            raise ValueError(
                "Every entry of X is missing: there is nothing to estimate. "
                "Check the missing_values marker "
                f"(missing_values={self.missing_values!r})."
            )
        if not informative:
            raise ValueError(
                "Every row with an observed value has sample_weight 0: there is "
                "nothing to estimate. Give such rows a positive weight."
            )
        return kept

    def _fit_data(self, X, sample_weight):
        """In memory: ``(X_fit, weights, kept, (mean, variance))`` for EM."""
        X, mask = self._validate_input(X, reset=True)
        sample_weight = check_sample_weight(sample_weight, X)
        n_observed = (~mask).sum(axis=0)
        # Rows with nothing observed add no information: leave them out.
        informative = ~mask[:, n_observed > 0].all(axis=1)
        kept = self._check_modelled(
            n_observed, bool(np.any(sample_weight[informative] > 0))
        )
        self._check_columns(X, mask, sample_weight, kept)
        if self.add_indicator:
            self.indicator_ = MissingIndicator(
                missing_values=self.missing_values, error_on_new=False
            ).fit(X)
        else:
            self.indicator_ = None

        # Fancy indexing copies already: one copy of X, not two.
        X_fit = np.asarray(X[np.ix_(informative, kept)], dtype=np.float64)
        X_fit[mask[np.ix_(informative, kept)]] = np.nan
        weights = np.asarray(sample_weight[informative], dtype=np.float64)
        return X_fit, weights, kept, observed_moments(X_fit, weights)

    def _fit_data_dask(self, X, sample_weight):
        """On a Dask array: the same as :meth:`_fit_data`, with reductions.

        Rows with no observed value get weight 0 instead of being dropped
        (they add exactly nothing to the statistics).
        """
        import dask.array as da

        X = dask_check_X(
            X, name=type(self).__name__, n_features=None, ensure_min_samples=2
        )
        self.n_features_in_ = int(X.shape[1])
        self.__dict__.pop("feature_names_in_", None)
        sample_weight = dask_weights(sample_weight, X)
        summary = dask_validate(
            partial(_check_block, self._without_fit_state()), X, sample_weight
        )
        surrogate = np.vstack([summary["min"], summary["max"]]).astype(X.dtype)
        self._validate_input(surrogate, reset=True)
        sample_weight = normalize_weights_by_total(
            sample_weight, summary["wsum"], X.shape[0]
        )
        marker = self.missing_values
        mask = da.isnan(X) if is_scalar_nan(marker) else X == marker
        columns = dask_column_summary(X, mask, sample_weight)
        kept = self._check_modelled(columns["n_observed"], columns["informative"])
        self._check_column_summary(
            columns["low"][kept],
            columns["high"][kept],
            columns["together"][np.ix_(kept, kept)],
            kept,
        )
        if self.add_indicator:
            # The indicator only records which columns had missing entries:
            # fit it on two rows with the same missing columns.
            template = np.zeros((2, X.shape[1]), dtype=X.dtype)
            template[0, columns["n_observed"] < X.shape[0]] = marker
            self.indicator_ = MissingIndicator(
                missing_values=marker, error_on_new=False
            ).fit(template)
        else:
            self.indicator_ = None
        index = np.flatnonzero(kept)
        X_fit = da.where(mask[:, index], np.nan, X[:, index]).astype(np.float64)
        # Blockwise, not a reduction: its tasks then fuse the same way in every
        # computation that uses them.
        weights = da.blockwise(
            _informative_weights,
            "i",
            X_fit,
            "ij",
            sample_weight,
            "i",
            dtype=np.float64,
            concatenate=True,
            meta=np.empty((0,), np.float64),
        )
        total = columns["total"][kept]
        moments = dask_observed_moments(
            X_fit, weights, mean=columns["sum"][kept] / total, total=total
        )
        return X_fit, weights, kept, moments

    # --------------------------------------------------------- EM hooks
    def _gaussian(self, mean, covariance):
        d = len(mean)
        labels = getattr(self, "_modelled_labels", None)
        if labels is not None and len(labels) != d:  # pragma: no cover - defensive
            labels = None
        return gaussian_params(
            mean, covariance, labels=labels, reg_covar=self.reg_covar
        )

    def _em_initialize(self, X, sample_weight, random_state):
        # The deterministic start computed by fit (observed means and
        # variances, no correlation); warm starts load the fitted parameters.
        return dict(self._start)

    def _em_start_needs_data(self) -> bool:
        return False

    def _em_groups(self):
        return {"mean": ("mean",), "covariance": ("covariance",)}

    def _em_row_bytes(self, X, params) -> int:
        max_missing = int(np.isnan(X).sum(axis=1).max()) if X.size else 0
        return _row_bytes(X.shape[1], max_missing)

    def _condition(self, X, mask, params, **kwargs):
        """The kernel's conditioning of the rows on one normal (K = 1)."""
        return condition_on_observed(
            X,
            mask,
            params["mean"][np.newaxis],
            params["precision"][np.newaxis],
            params["whiten"][np.newaxis],
            np.array([params["log_det"]]),
            **kwargs,
        )

    def _em_estep(self, X, sample_weight, params, memo=None):
        X = np.asarray(X, dtype=np.float64)
        mask = np.isnan(X)
        patterns = None if memo is None else memo.get("patterns")
        if patterns is None:
            patterns = missing_patterns(mask)
            if memo is not None:  # the rows' patterns, once per chunk and fit
                memo["patterns"] = patterns
        conditional = self._condition(X, mask, params, patterns=patterns)
        weights = np.asarray(sample_weight, dtype=np.float64)
        # Statistics around the mean entering the E-step (see mstep_normal).
        s1, s2 = expected_stats(conditional.filled, weights[:, np.newaxis], conditional)
        total = float(weights.sum())
        stats = {"s0": np.array(total), "s1": s1[0], "s2": s2[0]}
        # The M-step Sigma = S + D maximises E[complete log-lik] - (n/2) tr(D Q),
        # so this penalised log-likelihood is what EM never decreases.
        penalty = 0.5 * float(self._ridge @ np.diag(params["precision"])) * total
        return stats, float(weights @ conditional.log_prob[0]) - penalty

    def _em_project(self, params):
        """A SQUAREM extrapolation's covariance made positive definite again."""
        covariance = params["covariance"]
        scale = float(np.max(np.abs(np.diag(covariance)))) if covariance.size else 1.0
        covariance = project_psd(covariance, 1e-12 * max(scale, 1e-300))
        return self._gaussian(params["mean"], covariance)

    def _em_mstep(self, stats, params):
        # s1 and s2 were taken around the mean entering the E-step.
        return self._gaussian(*mstep_normal(stats, params["mean"], self._ridge))

    def _em_store(self, params):
        kept = self._modelled
        d = len(kept)
        fill = 0.0 if self.keep_empty_features else np.nan
        mean = np.full(d, fill)
        covariance = np.full((d, d), fill)
        mean[kept] = params["mean"]
        covariance[np.ix_(kept, kept)] = params["covariance"]
        self.mean_ = mean
        self.covariance_ = covariance
        self._params = params

    def _em_load(self):
        kept = self._modelled
        return self._gaussian(self.mean_[kept], self.covariance_[np.ix_(kept, kept)])

    # -------------------------------------------------------- transform
    def _dask_map(self, X, method):
        """Lazy ``transform`` / ``score_samples`` over a Dask array's blocks."""
        check_is_fitted(self)
        X = dask_check_X(
            X,
            name=type(self).__name__,
            n_features=self.n_features_in_,
            ensure_min_samples=1,
        )
        if method == "score_samples":
            return dask_map_rows(
                _transform_block,
                X,
                shared=(self._without_fit_state(), method, None),
                dtype=np.float64,
            )
        seed = None
        if self.sample_posterior:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        return dask_map_rows(
            _transform_block,
            X,
            shared=(self._without_fit_state(), method, seed),
            n_columns=len(self.get_feature_names_out()),
        )

    def _check_fitted_input(self, X):
        check_is_fitted(self)
        return self._validate_input(X, reset=False)

    def _iter_conditional(self, X, mask, noise=None):
        """Per chunk of rows, on the modelled columns only, yield ``(rows,
        imputed, chunk_mask, loglik)``: the rows' slice, the rows with missing
        entries filled, where they were missing, and ``log p(x_o)``."""
        params = self._params
        kept = self._modelled
        max_missing = int(mask[:, kept].sum(axis=1).max()) if X.shape[0] else 0
        for rows in iter_chunks(X.shape[0], _row_bytes(int(kept.sum()), max_missing)):
            chunk = np.asarray(X[rows][:, kept], dtype=np.float64)
            chunk_mask = mask[rows][:, kept]
            conditional = self._condition(
                chunk, chunk_mask, params, noise=None if noise is None else noise[rows]
            )
            filled = conditional.filled[0] + params["mean"]
            yield rows, filled, chunk_mask, conditional.log_prob[0]

    def transform(self, X):
        """Replace each missing entry with its conditional expectation.

        The expectation is taken given the observed entries of the same row
        under the fitted normal model (a draw from the conditional
        distribution with ``sample_posterior=True``). Observed entries are
        returned unchanged; ``X`` itself is never modified.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            Imputed data (columns with no observed value at fit dropped unless
            ``keep_empty_features=True``; indicator columns appended with
            ``add_indicator=True``).
        """
        if is_dask(X):
            return self._dask_map(X, "transform")
        X, mask = self._check_fitted_input(X)
        kept = self._modelled
        noise = None
        if self.sample_posterior:
            rng = check_random_state(self.random_state)
            noise = rng.standard_normal(size=(X.shape[0], int(kept.sum())))
        out = np.array(X, copy=True)
        modelled = np.flatnonzero(kept)
        for rows, filled, chunk_mask, _ in self._iter_conditional(X, mask, noise):
            # Write only the missing entries: observed values stay bit-exact
            # (mu + (x - mu) need not round back to x).
            block = out[rows, modelled]
            block[chunk_mask] = filled[chunk_mask]
            out[rows, modelled] = block
        if self.keep_empty_features:
            # As scikit-learn's imputers: missing entries of columns that were
            # empty at fit become 0; their observed entries are kept.
            empty = ~kept
            out[:, empty] = np.where(mask[:, empty], 0.0, out[:, empty])
        else:
            out = out[:, kept]
        if self.add_indicator:
            out = np.hstack([out, self.indicator_.transform(X).astype(out.dtype)])
        return out

    def score_samples(self, X):
        """Observed-data log-likelihood of each row under the fitted model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(x_o)``, the log-density of the row's observed entries (0
            for a row with none). Columns with no observed value at fit are
            not modelled and ignored.
        """
        if is_dask(X):
            return self._dask_map(X, "score_samples")
        X, mask = self._check_fitted_input(X)
        out = np.empty(X.shape[0], dtype=np.float64)
        for rows, _, _, loglik in self._iter_conditional(X, mask):
            out[rows] = loglik
        return out

    def score(self, X, y=None):
        """Mean observed-data log-likelihood per sample (higher is better).

        This is the default score of ``GridSearchCV``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries marked by ``missing_values``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        log_likelihood : float
        """
        return float(np.mean(self.score_samples(X)))

    def get_feature_names_out(self, input_features=None):
        """Get output feature names for transformation.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input features; ``feature_names_in_`` (or ``x0, x1, ...``) if None.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The kept input names, then ``missingindicator_<name>`` for each
            indicator column.
        """
        check_is_fitted(self, "n_features_in_")
        input_features = _check_feature_names_in(self, input_features)
        names = (
            input_features
            if self.keep_empty_features
            else input_features[self._modelled]
        )
        if self.add_indicator:
            indicator = self.indicator_.get_feature_names_out(input_features)
            names = np.concatenate([names, indicator])
        return np.asarray(names, dtype=object)


class MissingBivariateImputer(MultivariateNormalImputer):
    """EM imputation for two normal variables: the textbook case.

    :class:`MultivariateNormalImputer` (same parameters, same estimates) named
    for the textbook two-variable case, which also reports the standard
    deviations and the correlation matrix. It is meant for two columns (the
    correlation of x and y is ``correlation_[0, 1]``) and works the same way
    on any number.

    Parameters
    ----------
    missing_values : int, float or np.nan, default=np.nan
        The placeholder for the missing values.
    tol : float, default=1e-7
        Convergence threshold on the mean observed-data log-likelihood per
        sample (see :class:`MultivariateNormalImputer`).
    max_iter : int, default=100
        Maximum number of EM iterations.
    n_init : int, default=1
        Number of EM runs (the start is deterministic, so 1 suffices).
    random_state : int, RandomState instance or None, default=None
        Seed of the draws of ``sample_posterior=True``.
    warm_start : bool, default=False
        If True, a second :meth:`fit` starts from the fitted parameters
        (afresh, with a warning, if X has other columns).
    verbose : int, default=0
        1 prints the iterations, 2 also times and log-likelihood changes.
    verbose_interval : int, default=10
        Iterations between two messages.
    reg_covar : float, default=0.0
        Non-negative amount added to the diagonal of the covariance.
    sample_posterior : bool, default=False
        If True, draw each missing value from its conditional distribution.
    add_indicator : bool, default=False
        If True, append a :class:`~sklearn.impute.MissingIndicator`.
    keep_empty_features : bool, default=False
        If True, a column with no observed value is kept (filled with 0).
    stopping : {'aitken', 'change'}, default='aitken'
        The stopping rule: 'aitken' stops when Aitken's estimate of the
        distance to the limit of the log-likelihood sequence is below ``tol``;
        'change' when the last change is (scikit-learn's rule).
    accelerate : {None, 'squarem'}, default=None
        None runs plain EM; 'squarem' accelerates it (see
        :class:`MultivariateNormalImputer`).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Maximum-likelihood means.
    covariance_ : ndarray of shape (n_features, n_features)
        Maximum-likelihood covariance (divided by ``n``).
    std_ : ndarray of shape (n_features,)
        Standard deviations, ``sqrt(diag(covariance_))``.
    correlation_ : ndarray of shape (n_features, n_features)
        Correlation matrix; ``correlation_[0, 1]`` for two columns.
    indicator_ : MissingIndicator or None
        The indicator of ``add_indicator=True``.
    converged_ : bool
        Whether EM reached ``tol``.
    n_iter_ : int
        Number of EM iterations made.
    lower_bound_ : float
        Observed-data log-likelihood per sample at the last iteration.
    lower_bounds_ : list of float
        The same at each iteration; it never decreases.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during :meth:`fit`, when all are strings.

    See Also
    --------
    MultivariateNormalImputer : Any number of columns.

    Notes
    -----
    With ``y`` missing in some rows and ``x`` always observed (a *monotone*
    pattern) the maximum-likelihood estimates have a closed form (Anderson,
    1957): the mean and variance of ``x`` from all rows, the regression of
    ``y`` on ``x`` (intercept ``a``, slope ``b``, residual variance ``s2``)
    from the complete rows, combined as ``mean_y = a + b mean_x``,
    ``cov_xy = b var_x`` and ``var_y = s2 + b**2 var_x``. EM converges to
    them; with other patterns it is the only simple way.

    The textbook shortcut (fill in the regression predictions, then take the
    moments of the filled data) gets the means right but leaves out the
    residual variance ``s2`` of every filled value: ``var_y`` comes out short
    by ``n_missing / n * s2`` and the correlation too large.

    Examples
    --------
    Forty pairs from a bivariate normal (means 1.85 and 1, standard
    deviations 1 and 0.75, correlation 0.82) with ``y`` missing in the last
    twenty rows:

    >>> import numpy as np
    >>> from emmix.datasets import make_missing_normal
    >>> from emmix.impute import MissingBivariateImputer
    >>> X, X_complete = make_missing_normal(random_state=0)
    >>> X[18:22]
    array([[0.39775774, 0.50271646],
           [2.29144555, 1.1788866 ],
           [3.16941197,        nan],
           [3.11622497,        nan]])
    >>> imp = MissingBivariateImputer().fit(X)
    >>> imp.mean_.round(3), imp.std_.round(3), round(float(imp.correlation_[0, 1]), 3)
    (array([1.869, 1.016]), array([1.064, 0.799]), 0.841)

    The missing ``y`` are filled with ``E[y | x]``; ``x`` is unchanged:

    >>> imp.transform(X)[18:22].round(3)
    array([[0.398, 0.503],
           [2.291, 1.179],
           [3.169, 1.837],
           [3.116, 1.803]])

    The textbook shortcut (regression from the 20 complete rows, fill in its
    predictions, take the moments of the filled data) gets the same means but
    a ``y`` standard deviation that is too small and a correlation that is too
    large:

    >>> from emmix.impute._normal import naive_regression_fill
    >>> naive = naive_regression_fill(X)
    >>> np.sqrt(np.diag(naive["covariance"])).round(3), round(naive["correlation"], 3)
    (array([1.064, 0.739]), 0.91)

    For reference, the same moments of the forty complete pairs before ``y``
    was hidden (what both methods try to recover):

    >>> X_complete.std(axis=0).round(3), np.corrcoef(X_complete.T)[0, 1].round(3)
    (array([1.064, 0.8  ]), np.float64(0.863))
    """

    def _em_store(self, params):
        super()._em_store(params)
        self.std_ = np.sqrt(np.diag(self.covariance_))
        # NaN (not a warning) when a column had no observed value at fit.
        with np.errstate(invalid="ignore", divide="ignore"):
            self.correlation_ = self.covariance_ / np.outer(self.std_, self.std_)
