"""A start for ``K + 1`` components from a fitted ``K``-component mixture.

Used by :func:`emmix.model_selection.select_n_components` (so that adding a
component never shows a lower log-likelihood because a fresh start found a
worse local optimum) and by :func:`emmix.inference.bootstrap_lrt`. Works on
every family through the public family interface: the largest component's
rows (weighted by their responsibilities) are cut in two by 2-means on the
family's start features, and one M-step of the family's statistics gives the
``K + 1`` parameters; EM then runs from there.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

from ._validation import check_sample_weight, fill_column_means

__all__ = ["fit_from_split", "split_start"]


def split_start(model, X, sample_weight=None, random_state=None):
    """Parameters for ``K + 1`` components: the largest component cut in two.

    Parameters
    ----------
    model : fitted BaseMixture
        The ``K``-component fit.
    X : ndarray of shape (n_samples, n_features)
        Validated data (NaN allowed where the family supports it).
    sample_weight : ndarray of shape (n_samples,), default=None
    random_state : int, RandomState instance or None

    Returns
    -------
    params : dict or None
        Parameters of a ``K + 1`` mixture (as ``_em_load`` gives them), or
        None when the component cannot be cut (its rows are all alike).
    """
    sample_weight = check_sample_weight(sample_weight, X)
    # X is validated already: the posterior straight from the fitted model
    # (predict_proba would validate it again and warn that a model fitted on
    # a DataFrame now gets an array without column names).
    resp = np.empty((X.shape[0], model.n_components), dtype=np.float64)
    for rows, _, part in model._chunked_log_normalize(X):
        resp[rows] = part
    j = int(np.argmax(model.weights_))
    mass = resp[:, j] * sample_weight
    rows = mass > 1e-8 * mass.max()
    filled = fill_column_means(X, sample_weight)
    features = np.asarray(model._init_features(filled), dtype=np.float64)
    if np.unique(features[rows], axis=0).shape[0] < 2:
        return None
    km = KMeans(2, n_init=3, random_state=check_random_state(random_state))
    km.fit(features[rows], sample_weight=mass[rows])
    labels = km.predict(features)
    new = np.column_stack([resp, resp[:, j] * (labels == 1)])
    new[:, j] *= labels == 0
    new *= sample_weight[:, np.newaxis]
    if np.any(new.sum(axis=0) <= 0):
        return None
    # A copy of the fit, not a clone: what its validation learned of the
    # columns (their names, MixedTypeMixture's groups, the categories of
    # categorical answers) is what the statistics of K + 1 components need.
    target = copy.deepcopy(model)
    target.set_params(n_components=model.n_components + 1)
    return target._params_from_resp(filled, new, sample_weight)


def fit_from_split(model, X, sample_weight=None, random_state=None):
    """A ``K + 1`` fit of ``clone(model)`` started from :func:`split_start`.

    Returns the fitted estimator (same parameters as ``model`` but
    ``n_components``), or None when no split exists or the family holds
    parameter groups fixed (their given values have ``K`` components).
    """
    if model._em_fixed_groups():
        return None
    X_checked = model._validate_input(X, reset=False)
    params = split_start(model, X_checked, sample_weight, random_state)
    if params is None:
        return None
    est = clone(model).set_params(n_components=model.n_components + 1)
    warm = est.warm_start
    est.set_params(warm_start=True)
    est._em_store(params)
    est.n_features_in_ = model.n_features_in_
    if hasattr(model, "feature_names_in_"):
        est.feature_names_in_ = model.feature_names_in_
    est.converged_ = False
    est.lower_bound_ = -np.inf  # no history: the stopping rule starts afresh
    est.fit(X, sample_weight=sample_weight)
    est.set_params(warm_start=warm)
    return est
