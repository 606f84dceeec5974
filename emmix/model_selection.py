"""Choosing the number of components of a mixture.

Two kinds of numbers can rank mixtures with different numbers of components
``K``, and they must not be mixed:

* **information criteria** (:func:`bic <select_n_components>`, AIC) are
  computed on the *training* data: ``-2 * total log-likelihood + penalty``.
  They are totals over the rows (they grow with ``n_samples``) and **lower is
  better**;
* **held-out log-likelihood** (``criterion="cv"``, and the default ``score`` of
  every emmix mixture, hence of :class:`~sklearn.model_selection.GridSearchCV`)
  is the *mean* log-likelihood per row of data the model did not see, averaged
  over cross-validation folds, and **higher is better**.

A BIC of 1234.5 and a held-out score of -3.1 are not on the same scale and not
even in the same direction. :func:`bic_scorer` and :func:`aic_scorer` exist so
that a criterion can be plugged into ``GridSearchCV(scoring=...)``: they are
negated (greater is better, as scikit-learn's scorers must be), and there they
are evaluated on the held-out fold, not on the training data (see their notes).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, check_cv
from sklearn.pipeline import Pipeline

from ._split import fit_from_split

__all__ = [
    "ComponentSelection",
    "ModelSelection",
    "aic_scorer",
    "bic_scorer",
    "select_model",
    "select_n_components",
]

CRITERIA = ("bic", "aic", "cv")


# ------------------------------------------------------------------ helpers
def _final_step(estimator, X):
    """The mixture at the end of ``estimator`` and the data as it sees them.

    A :class:`~sklearn.pipeline.Pipeline` is scored by its last step on the
    output of the steps before it (a pipeline has no ``bic`` of its own).
    """
    if isinstance(estimator, Pipeline):
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        return estimator.steps[-1][1], X
    return estimator, X


def _last_step(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _n_samples(X) -> int:
    return int(np.shape(X)[0])


def _criterion_value(estimator, X, criterion: str, sample_weight=None) -> float:
    """BIC or AIC of a fitted estimator (or pipeline) on ``X``.

    Without weights this is exactly ``estimator.bic(X)`` / ``estimator.aic(X)``.
    With weights the log-likelihood is the weighted sum and the number of
    samples is the sum of the weights, so an integer weight is a repeated row.
    """
    model, Xt = _final_step(estimator, X)
    if sample_weight is None:
        return float(getattr(model, criterion)(Xt))
    weights = np.asarray(sample_weight, dtype=np.float64)
    log_likelihood = float(np.dot(weights, model.score_samples(Xt)))
    penalty_per_parameter = (
        math.log(float(weights.sum())) if criterion == "bic" else 2.0
    )
    return -2.0 * log_likelihood + penalty_per_parameter * model._n_parameters()


def _total_log_likelihood(estimator, X, sample_weight=None) -> float:
    model, Xt = _final_step(estimator, X)
    log_prob = np.asarray(model.score_samples(Xt), dtype=np.float64)
    if sample_weight is None:
        return float(log_prob.sum())
    return float(np.dot(np.asarray(sample_weight, dtype=np.float64), log_prob))


def _n_components_param(estimator) -> str:
    """Name of the ``n_components`` parameter (``step__n_components`` in a pipeline)."""
    params = estimator.get_params(deep=True)
    if "n_components" in params:
        return "n_components"
    if isinstance(estimator, Pipeline):
        name = f"{estimator.steps[-1][0]}__n_components"
        if name in params:
            return name
    raise TypeError(
        f"{type(estimator).__name__} has no 'n_components' parameter; "
        "select_n_components needs a mixture (or a Pipeline ending in one)."
    )


def _fit(estimator, X, sample_weight):
    """Fit, passing ``sample_weight`` to the mixture (the last step of a pipeline)."""
    if sample_weight is None:
        return estimator.fit(X)
    if isinstance(estimator, Pipeline):
        key = f"{estimator.steps[-1][0]}__sample_weight"
        return estimator.fit(X, **{key: sample_weight})
    return estimator.fit(X, sample_weight=sample_weight)


def _take(X, rows):
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


def _make_table(columns: dict):
    """A pandas DataFrame when pandas is installed, otherwise the dict itself."""
    try:
        import pandas as pd
    except ImportError:  # pandas is optional
        return columns
    return pd.DataFrame(columns).set_index("n_components")


# ----------------------------------------------------------------- scorers
def _criterion_model(estimator, X, criterion: str):
    """The mixture a criterion scorer scores, and X transformed for it."""
    model, Xt = _final_step(estimator, X)
    if not callable(getattr(model, criterion, None)):
        raise TypeError(
            f"{criterion}_scorer needs a fitted mixture with a {criterion} method "
            "(e.g. GaussianMixtureEM, PoissonMixture, CoinMixture) or a pipeline "
            f"ending in one, but got {type(model).__name__}, which has no "
            "likelihood over components to penalise. Score it another way (e.g. "
            "its score method, the default of GridSearchCV)."
        )
    return model, Xt


def bic_scorer(estimator, X: ArrayLike, y: None = None) -> float:
    """Negated BIC of a fitted mixture on ``X``: a scorer, greater is better.

    Usable as ``GridSearchCV(..., scoring=bic_scorer)`` for any emmix mixture
    or a :class:`~sklearn.pipeline.Pipeline` ending in one.

    Parameters
    ----------
    estimator : fitted estimator
        A mixture with a ``bic`` method, or a pipeline ending in one.
    X : array-like of shape (n_samples, n_features)
        Data to score.
    y : Ignored
        Not used, present for the scorer signature.

    Returns
    -------
    score : float
        ``-estimator.bic(X)``.

    Notes
    -----
    Inside ``GridSearchCV`` the scorer is called on each **held-out fold**, so
    the log-likelihood term is a held-out one and the penalty uses the fold's
    size, ``log(n_test)``. That is not the textbook BIC, which is computed on
    the training data (what :func:`select_n_components` with
    ``criterion="bic"`` does); both usually agree on well-separated data.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from emmix import GaussianMixtureEM
    >>> from emmix.model_selection import bic_scorer
    >>> search = GridSearchCV(
    ...     GaussianMixtureEM(random_state=0),
    ...     {"n_components": [1, 2, 3]},
    ...     scoring=bic_scorer,
    ... )
    """
    model, Xt = _criterion_model(estimator, X, "bic")
    return -float(model.bic(Xt))


def aic_scorer(estimator, X: ArrayLike, y: None = None) -> float:
    """Negated AIC of a fitted mixture on ``X``: a scorer, greater is better.

    Parameters
    ----------
    estimator : fitted estimator
        A mixture with an ``aic`` method, or a pipeline ending in one.
    X : array-like of shape (n_samples, n_features)
        Data to score.
    y : Ignored
        Not used, present for the scorer signature.

    Returns
    -------
    score : float
        ``-estimator.aic(X)``.

    Notes
    -----
    As for :func:`bic_scorer`, inside ``GridSearchCV`` this is evaluated on the
    held-out fold, not on the training data.
    """
    model, Xt = _criterion_model(estimator, X, "aic")
    return -float(model.aic(Xt))


# ------------------------------------------------------------ the result
class ComponentSelection:
    """Result of :func:`select_n_components`.

    Attributes
    ----------
    criterion : {'bic', 'aic', 'cv'}
        The criterion used.
    greater_is_better : bool
        False for 'bic' and 'aic' (the minimum wins), True for 'cv' (mean
        held-out log-likelihood per sample; the maximum wins).
    n_components_ : ndarray of shape (n_candidates,)
        The numbers of components tried, in the order given.
    scores_ : ndarray of shape (n_candidates,)
        The criterion's value for each candidate (NaN where a fit failed and
        ``error_score=np.nan``).
    best_n_components_ : int
        The number of components chosen.
    best_index_ : int
        Position of ``best_n_components_`` in ``n_components_``.
    best_estimator_ : estimator
        The chosen model, fitted on all the data.
    estimators_ : list of estimator
        Every candidate fitted on all the data (None where the fit failed).
    table_ : pandas.DataFrame or dict of ndarray
        One row per candidate, indexed by ``n_components``, with the columns
        ``<criterion>`` (the value), ``log_likelihood`` (total over the
        training rows, sample-weighted), ``n_parameters``, ``converged``,
        ``n_iter`` and ``fit_time`` (seconds, including cross-validation fits
        for 'cv', plus ``cv_std``, the standard deviation over folds). A dict of
        arrays with the same keys when pandas is not installed.
    """

    def __init__(
        self,
        *,
        criterion: str,
        n_components: np.ndarray,
        scores: np.ndarray,
        columns: dict,
        estimators: list,
    ):
        self.criterion = criterion
        self.greater_is_better = criterion == "cv"
        self.n_components_ = np.asarray(n_components, dtype=np.int64)
        self.scores_ = np.asarray(scores, dtype=np.float64)
        self.estimators_ = estimators
        if np.all(np.isnan(self.scores_)):
            raise ValueError(
                "Every candidate number of components failed to fit; see the "
                "warnings above, or pass error_score='raise' to see the error."
            )
        pick = np.nanargmax if self.greater_is_better else np.nanargmin
        self.best_index_ = int(pick(self.scores_))
        self.best_n_components_ = int(self.n_components_[self.best_index_])
        self.best_estimator_ = estimators[self.best_index_]
        self.table_ = _make_table(columns)

    def __repr__(self) -> str:
        direction = "max" if self.greater_is_better else "min"
        return (
            f"ComponentSelection(criterion={self.criterion!r} ({direction}), "
            f"best_n_components_={self.best_n_components_}, "
            f"candidates={self.n_components_.tolist()})"
        )


# --------------------------------------------------------------- selection
def _grow(previous, X, sample_weight, seed):
    """A fit with one component more, started from ``previous`` split in two.

    None when there is no previous fit, for a pipeline (its last step sees
    transformed data), or when the split is not possible.
    """
    if previous is None or isinstance(previous, Pipeline):
        return None
    try:
        with warnings.catch_warnings():
            # The fresh fit of the same K already warned if it had to.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fit_from_split(previous, X, sample_weight, random_state=seed)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None  # e.g. a split component with a singular covariance


def _dips(candidates, log_likelihoods) -> list[bool]:
    """Whether each candidate's log-likelihood is below a smaller K's.

    A mixture with more components contains every one with fewer, so its
    maximum log-likelihood is never lower; a dip means a local optimum (or a
    fit stopped short of its optimum: use a stricter ``stopping``).
    """
    values = np.asarray(log_likelihoods, dtype=np.float64)
    dips = []
    for k, value in zip(candidates.tolist(), values, strict=True):
        smaller = values[(candidates < k) & np.isfinite(values)]
        best = smaller.max() if smaller.size else -np.inf
        dips.append(bool(value < best - 1e-9 * abs(best)))
    return dips


def _check_candidates(n_components, n_samples: int) -> np.ndarray:
    if isinstance(n_components, Integral):
        candidates = np.arange(1, int(n_components) + 1)
    elif isinstance(n_components, Iterable):
        candidates = np.asarray(list(n_components))
    else:
        raise TypeError(
            "n_components must be an int (try 1..n) or an iterable of ints, "
            f"got {n_components!r}."
        )
    if candidates.ndim != 1 or candidates.size == 0:
        raise ValueError("n_components must give at least one candidate.")
    if not all(
        isinstance(k, Integral | np.integer) and not isinstance(k, bool) and k >= 1
        for k in candidates.tolist()
    ):
        raise ValueError(
            f"n_components must hold positive integers, got {candidates.tolist()}."
        )
    if len(set(candidates.tolist())) != candidates.size:
        raise ValueError(f"n_components has duplicates: {candidates.tolist()}.")
    if candidates.max() > n_samples:
        raise ValueError(
            f"n_components goes up to {int(candidates.max())} but X has only "
            f"{n_samples} rows; lower the largest candidate."
        )
    return candidates.astype(np.int64)


def select_n_components(
    estimator,
    X: ArrayLike,
    n_components: int | Iterable[int] = range(1, 11),
    *,
    criterion: str = "bic",
    cv=5,
    sample_weight: ArrayLike | None = None,
    error_score: str | float = "raise",
) -> ComponentSelection:
    """Fit a mixture for each number of components and pick the best.

    Each candidate is a :func:`~sklearn.base.clone` of ``estimator`` with only
    ``n_components`` changed, so its other settings (``n_init``,
    ``random_state``, covariance type, ...) are kept.

    A mixture with ``K + 1`` components contains every mixture with ``K``, so
    its best log-likelihood is never lower; a fresh start can still land on a
    worse local optimum. So when ``K`` was fitted too, ``K + 1`` is also
    started from the ``K`` fit with its largest component split in two (its
    rows cut by 2-means, then one M-step), and the better of the two fits is
    kept (column ``from_split``). A remaining dip is flagged in the column
    ``dip``. (Not for a :class:`~sklearn.pipeline.Pipeline`.)

    Parameters
    ----------
    estimator : estimator
        An (unfitted) emmix mixture, or a :class:`~sklearn.pipeline.Pipeline`
        ending in one.
    X : array-like of shape (n_samples, n_features)
        Training data.
    n_components : int or iterable of int, default=range(1, 11)
        Candidate numbers of components; an int ``n`` means ``1..n``.
    criterion : {'bic', 'aic', 'cv'}, default='bic'
        'bic' and 'aic' are computed on the training data and the **smallest**
        wins. 'cv' is the mean held-out log-likelihood per sample averaged over
        the folds of ``cv`` and the **largest** wins. The two kinds of numbers
        are on different scales (a total versus a per-sample mean) and in
        opposite directions: compare candidates only within one criterion.
    cv : int, cross-validation generator or iterable, default=5
        Folds for ``criterion='cv'`` (ignored otherwise). An int gives a
        shuffled :class:`~sklearn.model_selection.KFold` seeded with the
        estimator's ``random_state`` when it is an int, because data files are
        often sorted by group and unshuffled folds would then hold out whole
        groups.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the rows, passed to every fit and used in every criterion
        (BIC then uses ``log(sum of weights)`` as the number of samples, so an
        integer weight is exactly a repeated row).
    error_score : 'raise' or float, default='raise'
        What to do when a candidate fails to fit: raise the error, or warn and
        record this value (for example ``np.nan``: that candidate cannot be
        chosen).

    Returns
    -------
    selection : ComponentSelection
        The chosen ``best_estimator_`` (fitted on all the data),
        ``best_n_components_`` and the table ``table_`` of every candidate.

    See Also
    --------
    bic_scorer : The BIC as a scorer for ``GridSearchCV``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from emmix import GaussianMixtureEM
    >>> from emmix.model_selection import select_n_components
    >>> X, _ = make_blobs(300, centers=[[0, 0], [8, 0], [0, 8]], random_state=0)
    >>> selection = select_n_components(
    ...     GaussianMixtureEM(random_state=0), X, range(1, 6), criterion="bic"
    ... )
    >>> selection.best_n_components_
    3
    >>> list(selection.table_.columns)
    ['bic', 'log_likelihood', 'n_parameters', 'converged', 'n_iter', 'fit_time', \
'from_split', 'dip']
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}.")
    if not (error_score == "raise" or isinstance(error_score, Real)):
        raise ValueError(
            f"error_score must be 'raise' or a number, got {error_score!r}."
        )
    n_samples = _n_samples(X)
    candidates = _check_candidates(n_components, n_samples)
    param = _n_components_param(estimator)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (n_samples,):
            raise ValueError(
                f"sample_weight must have shape ({n_samples},), one weight per "
                f"row of X; got shape {sample_weight.shape}."
            )

    splits = None
    if criterion == "cv":
        if isinstance(cv, Integral):
            seed = estimator.get_params(deep=True).get("random_state")
            if isinstance(seed, Integral):
                cv = KFold(n_splits=int(cv), shuffle=True, random_state=int(seed))
            else:
                cv = KFold(n_splits=int(cv), shuffle=True, random_state=None)
        splits = list(check_cv(cv).split(X))

    columns: dict[str, list] = {
        "n_components": [],
        criterion: [],
        "log_likelihood": [],
        "n_parameters": [],
        "converged": [],
        "n_iter": [],
        "fit_time": [],
    }
    if criterion == "cv":
        columns["cv_std"] = []
    estimators: list = []
    scores: list[float] = []

    columns["from_split"] = []
    fitted_by_k: dict[int, object] = {}
    seed = estimator.get_params(deep=True).get("random_state")
    seed = int(seed) if isinstance(seed, Integral) else None

    for k in candidates.tolist():
        start = time.perf_counter()
        spread = np.nan
        from_split = False
        try:
            model = _fit(clone(estimator).set_params(**{param: k}), X, sample_weight)
            grown = _grow(fitted_by_k.get(k - 1), X, sample_weight, seed)
            if grown is not None and _total_log_likelihood(
                grown, X, sample_weight
            ) > _total_log_likelihood(model, X, sample_weight):
                model, from_split = grown, True
            fitted_by_k[k] = model
            if criterion == "cv":
                fold_scores = []
                for train, test in splits:
                    w_train = None if sample_weight is None else sample_weight[train]
                    fold = _fit(
                        clone(estimator).set_params(**{param: k}),
                        _take(X, train),
                        w_train,
                    )
                    fold_model, X_test = _final_step(fold, _take(X, test))
                    w_test = None if sample_weight is None else sample_weight[test]
                    fold_scores.append(fold_model.score(X_test, sample_weight=w_test))
                value = float(np.mean(fold_scores))
                spread = float(np.std(fold_scores))
            else:
                value = _criterion_value(model, X, criterion, sample_weight)
            log_likelihood = _total_log_likelihood(model, X, sample_weight)
        except Exception as exc:
            if error_score == "raise":
                raise
            warnings.warn(
                f"Fitting with n_components={k} failed and is scored "
                f"{error_score}: {type(exc).__name__}: {exc}",
                UserWarning,
                stacklevel=2,
            )
            model, value, spread, log_likelihood = (
                None,
                float(error_score),
                np.nan,
                np.nan,
            )
        elapsed = time.perf_counter() - start
        mixture = None if model is None else _last_step(model)
        estimators.append(model)
        scores.append(value)
        columns["n_components"].append(k)
        columns[criterion].append(value)
        columns["log_likelihood"].append(log_likelihood)
        columns["n_parameters"].append(
            -1 if mixture is None else int(mixture._n_parameters())
        )
        columns["converged"].append(
            False if mixture is None else bool(mixture.converged_)
        )
        columns["n_iter"].append(-1 if mixture is None else int(mixture.n_iter_))
        columns["fit_time"].append(elapsed)
        columns["from_split"].append(from_split)
        if criterion == "cv":
            columns["cv_std"].append(spread)

    columns["dip"] = _dips(candidates, columns["log_likelihood"])
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    return ComponentSelection(
        criterion=criterion,
        n_components=candidates,
        scores=np.asarray(scores),
        columns=arrays,
        estimators=estimators,
    )


# ------------------------------------------- models over a grid (mclust-like)
#: Criteria of :func:`select_model`; all three are "lower is better".
MODEL_CRITERIA = ("bic", "icl", "aic")

_CRITERION_FORMULAS = {
    "bic": "-2 log L + p log n",
    "icl": "BIC + 2 * classification entropy",
    "aic": "-2 log L + 2 p",
}


class ModelSelection:
    """Result of :func:`select_model`: every fit over a grid and the best one.

    Attributes
    ----------
    criterion : {'bic', 'icl', 'aic'}
        The criterion used; in emmix's convention (scikit-learn's) **lower is
        better** for all three. mclust reports ``-BIC`` and ``-ICL`` (higher
        is better): flip the sign to compare with it.
    greater_is_better : bool
        Always False.
    params_ : list of dict
        The grid's parameter combinations, in the order fitted.
    scores_ : ndarray of shape (n_fits,)
        The criterion of each fit (NaN where a fit failed and
        ``error_score=np.nan``).
    estimators_ : list of estimator
        Every fitted model (None where the fit failed).
    best_index_ : int
        Position of the best fit in ``params_``.
    best_params_ : dict
        Its parameters.
    best_score_ : float
        Its criterion.
    best_estimator_ : estimator
        The best model, fitted on all the data. A fit started from a nested
        model's solution carries that start in its parameters
        (``weights_init``, ``means_init``, ``precisions_init``, ``n_init=1``),
        so that refitting a clone of it gives the same model.
    table_ : pandas.DataFrame or dict of ndarray
        One row per fit: the grid's parameters, then ``bic``, ``icl``,
        ``aic``, ``log_likelihood`` (total over the rows, sample-weighted),
        ``n_parameters``, ``n_iter``, ``converged``, ``fit_time`` (seconds,
        all tries of that model) and ``start`` (``"init"`` when the model's
        own start won, else the nested model whose solution started the kept
        fit, e.g. ``"covariance_type=EEI"``). A dict of arrays with the same
        keys when pandas is not installed.
    """

    def __init__(self, *, criterion: str, params: list, estimators: list, columns):
        self.criterion = criterion
        self.greater_is_better = False
        self.params_ = params
        self.estimators_ = estimators
        self.scores_ = np.asarray(columns[criterion], dtype=np.float64)
        if np.all(np.isnan(self.scores_)):
            raise ValueError(
                "Every model of the grid failed to fit; see the warnings above, "
                "or pass error_score='raise' to see the error."
            )
        self.best_index_ = int(np.nanargmin(self.scores_))
        self.best_params_ = dict(params[self.best_index_])
        self.best_score_ = float(self.scores_[self.best_index_])
        self.best_estimator_ = estimators[self.best_index_]
        self._columns = columns
        try:
            import pandas as pd
        except ImportError:  # pandas is optional
            self.table_ = columns
        else:
            self.table_ = pd.DataFrame(columns)

    def _label(self, index: int) -> str:
        """mclust's ``VEV,2`` for a structure and K; the values joined otherwise."""
        params = self.params_[index]
        values = [params[name] for name in sorted(params) if name != "n_components"]
        if "n_components" in params:
            values.append(params["n_components"])
        return ",".join(str(v) for v in values) or "model"

    def top(self, n: int = 3) -> list[int]:
        """Indices of the ``n`` best fits, best first (failed fits excluded)."""
        if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}.")
        ok = np.flatnonzero(~np.isnan(self.scores_))
        order = ok[np.argsort(self.scores_[ok], kind="stable")]
        return order[:n].tolist()

    def summary(self, n: int = 3) -> str:
        """The ``n`` best models, like mclust's ``summary(mclustBIC(...))``.

        Parameters
        ----------
        n : int, default=3
            How many models to list.

        Returns
        -------
        text : str
            One line per model: its label (``VEV,2`` = structure and number of
            components), the criterion (lower is better), mclust's value of it
            (the negative, higher is better), the log-likelihood and the number
            of parameters.
        """
        name = self.criterion.upper()
        rows = self.top(n)
        labels = [self._label(i) for i in rows]
        width = max([len("model"), *map(len, labels)])
        lines = [
            f"Top {len(rows)} models by {name} ({_CRITERION_FORMULAS[self.criterion]}"
            ", lower is better;",
            f"mclust reports -{name}, higher is better):",
            f"  {'model':<{width}} {name:>12} {'mclust ' + name:>12} "
            f"{'log-lik':>12} {'params':>6}",
        ]
        for label, i in zip(labels, rows, strict=True):
            lines.append(
                f"  {label:<{width}} {self.scores_[i]:12.3f} {-self.scores_[i]:12.3f} "
                f"{self._columns['log_likelihood'][i]:12.3f} "
                f"{int(self._columns['n_parameters'][i]):6d}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ModelSelection(criterion={self.criterion!r} (min), "
            f"best={self._label(self.best_index_)}, n_fits={len(self.params_)})"
        )


def _classification_entropy(model, X, sample_weight) -> float:
    """``-sum_i log z_{i, map(i)}``: what ICL adds (halved) to BIC.

    ``z`` are the posterior probabilities and ``map(i)`` the most probable
    component of row ``i`` (mclust's ``icl`` and Biernacki et al.'s ICL use the
    MAP classification; the soft entropy ``-sum z log z`` of McLachlan & Peel
    is close whenever the components are well separated).
    """
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    with np.errstate(divide="ignore"):
        per_row = -np.log(proba.max(axis=1))
    if sample_weight is None:
        return float(per_row.sum())
    return float(np.dot(sample_weight, per_row))


def _grid_record(model, X, sample_weight) -> dict:
    """Everything the table keeps about one fitted model."""
    n = float(_n_samples(X) if sample_weight is None else np.sum(sample_weight))
    log_likelihood = _total_log_likelihood(model, X, sample_weight)
    n_parameters = int(model._n_parameters())
    bic = -2.0 * log_likelihood + n_parameters * math.log(n)
    return {
        "bic": bic,
        "icl": bic + 2.0 * _classification_entropy(model, X, sample_weight),
        "aic": -2.0 * log_likelihood + 2.0 * n_parameters,
        "log_likelihood": log_likelihood,
        "n_parameters": n_parameters,
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
    }


_FAILED_RECORD = {
    "bic": np.nan,
    "icl": np.nan,
    "aic": np.nan,
    "log_likelihood": np.nan,
    "n_parameters": -1,
    "n_iter": -1,
    "converged": False,
}


#: Below this many entries (rows x columns) a grid's fits run their BLAS and
#: OpenMP on one thread: on small data, threads only add start-up and spin
#: time (iris' 126 fits: 15 s on one thread, 26 s with two threads on a
#: loaded two-core machine); the grid's parallelism is ``n_jobs``.
SMALL_DATA_ENTRIES = 100_000


def _small_data_threads(X):
    """One BLAS/OpenMP thread for small data, no limit otherwise.

    Set once around the whole selection (threadpoolctl's set-up costs ~10 ms);
    joblib's worker processes get their own limit from joblib.
    """
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    if _n_samples(X) * int(np.prod(np.shape(X)[1:], dtype=np.int64)) < (
        SMALL_DATA_ENTRIES
    ):
        return threadpool_limits(limits=1)
    return nullcontext()


def _fit_record(estimator, params, X, sample_weight, error_score, start=None):
    """Fit one model (from ``start``'s constructor parameters if given).

    Returns ``(model, record, seconds)``; on failure with a numeric
    ``error_score`` the model is None and the record is NaN, with a warning.
    """
    tick = time.perf_counter()
    try:
        model = clone(estimator).set_params(**params, **(start or {}))
        with warnings.catch_warnings():
            # the table's "converged" column says it, and select_model warns once
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = _fit(model, X, sample_weight)
            record = _grid_record(model, X, sample_weight)
    except Exception as exc:
        if error_score == "raise":
            raise
        warnings.warn(
            f"Fitting {params} failed and is scored {error_score}: "
            f"{type(exc).__name__}: {exc}",
            UserWarning,
            stacklevel=3,
        )
        model, record = None, dict(_FAILED_RECORD)
    return model, record, time.perf_counter() - tick


def _nested_components(templates: list, fitted: list) -> list[list[int]]:
    """Each model's submodels: the fits that can start it.

    ``submodels[j]`` lists the fits ``i != j`` whose solution can start model
    ``j`` (the family's ``_submodel_start`` on ``j``'s template says so). A
    fit that failed starts nothing.
    """
    submodels: list[list[int]] = [[] for _ in templates]
    for j, general in enumerate(templates):
        for i, special in enumerate(fitted):
            if (
                i != j
                and special is not None
                and general._submodel_start(special) is not None
            ):
                submodels[j].append(i)
    return submodels


#: Relative change of a log-likelihood below which two fits are the same
#: optimum (rounding): the first one found is kept.
_SAME = 1e-10


def _climb_nested(estimator, params, fits, submodels, X, sample_weight):
    """Restart each model from its best submodel's solution; keep the better.

    ``fits`` maps an index to ``(model, record, seconds, start)``. Models are
    taken in increasing number of submodels (a submodel has strictly fewer),
    so every submodel is final before the models containing it; EM is
    monotone, so a model started at a submodel's solution ends at least as
    high, and no model reports a lower log-likelihood than one it contains
    (beyond rounding: a restart that only gains ``_SAME`` relatively is not
    kept).
    """
    order = sorted(fits, key=lambda j: (len(submodels[j]), j))
    for j in order:
        inside = [i for i in submodels[j] if fits[i][0] is not None]
        if not inside:
            continue
        best = max(inside, key=lambda i: fits[i][1]["log_likelihood"])
        model, record, seconds, start = fits[j]
        template = clone(estimator).set_params(**params[j])
        begin = template._submodel_start(fits[best][0])
        try:
            new_model, new_record, more = _fit_record(
                estimator, params[j], X, sample_weight, "raise", start=begin
            )
        except Exception:  # only a second try: the model keeps its own fit
            new_model, new_record, more = None, None, 0.0
        seconds += more
        if new_model is not None and (
            model is None
            or new_record["log_likelihood"]
            > record["log_likelihood"] + _SAME * abs(record["log_likelihood"])
        ):
            differs = {
                key: value
                for key, value in params[best].items()
                if params[j].get(key) != value
            }
            start = ",".join(f"{k}={v}" for k, v in differs.items()) or "nested"
            model, record = new_model, new_record
        fits[j] = (model, record, seconds, start)
    return fits


def _groups(submodels: list[list[int]]) -> list[list[int]]:
    """Connected groups of the nesting relation (independent of each other)."""
    parent = list(range(len(submodels)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for j, inside in enumerate(submodels):
        for i in inside:
            parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(submodels)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def select_model(
    estimator,
    X: ArrayLike,
    param_grid,
    *,
    criterion: str = "bic",
    n_jobs: int | None = None,
    sample_weight: ArrayLike | None = None,
    error_score: str | float = "raise",
) -> ModelSelection:
    """Fit a mixture for every combination of a grid and rank them (mclust's
    ``mclustBIC``).

    Typical use: every covariance structure and number of components of a
    Gaussian mixture, ``{"covariance_type": [...], "n_components": range(1,
    10)}``, ranked by BIC.

    Parameters
    ----------
    estimator : estimator
        An (unfitted) emmix mixture; each fit is a
        :func:`~sklearn.base.clone` with the grid's parameters set.
    X : array-like of shape (n_samples, n_features)
        Training data.
    param_grid : dict or list of dict
        As :class:`sklearn.model_selection.ParameterGrid`: parameter names
        mapped to the values to try.
    criterion : {'bic', 'icl', 'aic'}, default='bic'
        How the fits are ranked; **lower is better** for all three (emmix's
        and scikit-learn's convention): ``bic = -2 log L + p log n``, ``aic =
        -2 log L + 2 p`` and ``icl = bic + 2 E`` with ``E = -sum_i log
        z_{i,map(i)}`` the entropy of the MAP classification (Biernacki,
        Celeux & Govaert 2000, as mclust's ``icl``), where ``z`` are the
        posterior probabilities. mclust reports ``-bic`` and ``-icl`` (its
        BIC is ``2 log L - p log n``, higher is better).
    n_jobs : int, default=None
        Fits run in parallel (joblib); None means 1, -1 all cores.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights, for every fit and criterion (``n`` in the penalty is the
        sum of the weights, so an integer weight is a repeated row).
    error_score : 'raise' or float, default='raise'
        What to do when a fit fails: raise, or warn and record this value
        (e.g. ``np.nan``: that model cannot be chosen).

    Returns
    -------
    result : ModelSelection
        ``best_estimator_``, ``best_params_``, ``table_`` (one row per fit)
        and ``summary(n)`` of the top models.

    Notes
    -----
    **Shared starts.** When the estimator has a ``random_state`` that is not
    an int, one int is drawn from it and used by every fit, so the models
    that differ only by their covariance structure start from the same
    responsibilities (the family's ``init_params``).

    **Nested models keep their order.** A structure contained in another
    (EII in VII in VEI in VEV, ...) has parameters that the larger one can
    take, so the larger one's maximum likelihood is at least as high. EM
    finds local maxima, so after the fresh fits each model is fitted again
    from the solution of the best model it contains (for the same number of
    components), and the better of the two is kept: the table never shows a
    more general structure with a lower log-likelihood than one it contains
    (the ``start`` column says where each kept fit began). Families without
    nested models (no ``_submodel_start``) are fitted once each.

    See Also
    --------
    select_n_components : One family, the number of components only (and
        cross-validation).
    emmix.plotting.plot_model_selection : The criterion against K, one line
        per structure.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from emmix import GaussianMixtureEM
    >>> from emmix.model_selection import select_model
    >>> X = load_iris().data
    >>> result = select_model(
    ...     GaussianMixtureEM(random_state=0, tol=1e-6),
    ...     X,
    ...     {"covariance_type": ["EII", "VEV", "VVV"], "n_components": [1, 2, 3]},
    ... )
    >>> result.best_params_
    {'covariance_type': 'VEV', 'n_components': 2}
    >>> print(result.summary(2))  # doctest: +NORMALIZE_WHITESPACE
    Top 2 models by BIC (-2 log L + p log n, lower is better;
    mclust reports -BIC, higher is better):
      model          BIC   mclust BIC      log-lik params
      VEV,2      561.728     -561.728     -215.726     26
      VEV,3      562.551     -562.551     -186.073     38
    """
    from sklearn.model_selection import ParameterGrid
    from sklearn.utils import check_random_state

    if criterion not in MODEL_CRITERIA:
        raise ValueError(
            f"criterion must be one of {MODEL_CRITERIA}, got {criterion!r}."
        )
    if not (error_score == "raise" or isinstance(error_score, Real)):
        raise ValueError(
            f"error_score must be 'raise' or a number, got {error_score!r}."
        )
    if not callable(getattr(estimator, "_n_parameters", None)):
        raise TypeError(
            "select_model needs an emmix mixture (e.g. GaussianMixtureEM), got "
            f"{type(estimator).__name__}."
        )
    params = [dict(p) for p in ParameterGrid(param_grid)]
    if not params:
        raise ValueError("param_grid gives no combination to fit.")
    n_samples = _n_samples(X)
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (n_samples,):
            raise ValueError(
                f"sample_weight must have shape ({n_samples},), one weight per "
                f"row of X; got shape {sample_weight.shape}."
            )
    own = estimator.get_params(deep=False)
    if "random_state" in own and not isinstance(own["random_state"], Integral):
        seed = int(check_random_state(own["random_state"]).randint(2**31 - 1))
        estimator = clone(estimator).set_params(random_state=seed)

    with _small_data_threads(X):
        return _select_model(
            estimator, X, params, criterion, n_jobs, sample_weight, error_score
        )


def _select_model(estimator, X, params, criterion, n_jobs, sample_weight, error_score):
    """select_model's work, once its arguments are checked."""
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs)
    fresh = parallel(
        delayed(_fit_record)(estimator, p, X, sample_weight, error_score)
        for p in params
    )
    fits = {j: (*fit, "init") for j, fit in enumerate(fresh)}

    templates = [clone(estimator).set_params(**p) for p in params]
    submodels = _nested_components(templates, [fits[j][0] for j in range(len(params))])
    groups = [g for g in _groups(submodels) if len(g) > 1]
    climbed = parallel(
        delayed(_climb_nested)(
            estimator, params, {j: fits[j] for j in group}, submodels, X, sample_weight
        )
        for group in groups
    )
    for part in climbed:
        fits.update(part)

    names = sorted({name for p in params for name in p})
    columns: dict[str, list] = {name: [] for name in names}
    order = (criterion, *(c for c in MODEL_CRITERIA if c != criterion))
    keys = (*order, "log_likelihood", "n_parameters", "n_iter", "converged")
    columns.update({key: [] for key in (*keys, "fit_time", "start")})
    estimators = []
    for j, p in enumerate(params):
        model, record, seconds, start = fits[j]
        estimators.append(model)
        for name in names:
            columns[name].append(p.get(name))
        for key in keys:
            columns[key].append(record[key])
        columns["fit_time"].append(seconds)
        columns["start"].append(start)
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    stalled = int(np.sum(~arrays["converged"] & (arrays["n_iter"] >= 0)))
    if stalled:
        warnings.warn(
            f"{stalled} of {len(params)} fits did not converge (see "
            "table_['converged']): raise max_iter, or tol, of the estimator.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return ModelSelection(
        criterion=criterion, params=params, estimators=estimators, columns=arrays
    )
