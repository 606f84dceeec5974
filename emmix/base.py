"""The public family interface: write a new mixture family in a few dozen lines.

A mixture family is a subclass of :class:`BaseMixture` that says what its
components are. It writes:

``_parameter_groups``
    The names of the component parameters, e.g. ``("rates",)``. Each is a
    key of the ``params`` dict the hooks pass around and is stored as the
    fitted attribute ``rates_``; the mixing weights (``"weights"``) are
    added by the base class. Every group can be held fixed
    (``fixed_params``) and counts in :meth:`~BaseMixture.bic`.
``_component_log_prob(X, params, cache)``
    ``log p(x | k)`` for a chunk of rows, shape ``(n_rows, n_components)``.
``_component_stats(X, resp, params, cache)``
    The expected sufficient statistics of the components: a dict of arrays
    that are **sums over rows**, given responsibilities ``resp`` (which
    already include the sample weights). The base class adds
    ``nk = resp.sum(axis=0)``.
``_component_mstep(stats, params)``
    Maximum-likelihood component parameters from the summed statistics
    (``stats["nk"]`` included): a dict with a value for every group.

and, where the defaults do not fit:

``_non_negative_data``
    True for families of non-negative data (counts, waiting times): negative
    values are refused before any work (and scikit-learn's checks know it).
``_check_data(X)``
    Raise a ``ValueError`` for other values the family cannot model (heads
    above tosses, ...); called on validated data before any work.
``_supports_missing``
    True if ``_component_log_prob`` and ``_component_stats`` integrate NaN
    entries out (then also write ``_conditional_means`` for ``impute``).
    Without it, NaN in ``X`` is refused with a clear error.
``_project_params(params)``
    Bring extrapolated component parameters back into their valid set (for
    ``accelerate="squarem"``), e.g. rates to at least a floor.
``_n_free_parameters(group, value)``
    Free parameters of a group (default: the number of its entries).
``_free_parametrisation(group, value)``
    The group's free coordinates and the map back to its value, for the
    standard errors of :mod:`emmix.inference` (default: every entry; a
    symmetric matrix keeps its upper triangle).
``_initial_params(X)``
    Validated user-given starting values (``rates_init``, ...) by group.
``_model_shape(n_features)``
    What fixes the shapes of the parameters (default: ``n_components`` and
    the number of features; a Gaussian adds its ``covariance_type``). A
    ``warm_start`` fit after a change starts afresh with a warning, and
    ``partial_fit`` raises a ``ValueError`` naming the change.
``_sample_component(rng, params, k, n_samples)``
    Draw rows from component ``k`` (for :meth:`~BaseMixture.sample`).
``_submodel_start(fitted)``
    Starting parameters at a fitted special case of this model (a nested
    covariance structure), so that :func:`emmix.model_selection.select_model`
    keeps nested models in order of log-likelihood (default: None).
``_describe_component(k)`` and ``_plot_components(X, ax, features, names)``
    How the command line and :mod:`emmix.plotting` name and draw the fitted
    components.

Everything else comes from the engine once for all families: the starts
(``init_params``), restarts, the stopping rule, sample weights, chunked
passes in bounded memory on all cores, hard EM, ``fixed_params``, SQUAREM,
``partial_fit``, Dask arrays, ``predict``/``predict_proba``/``score_samples``/
``score``/``bic``/``aic``, and the checks of
:func:`emmix.utils.estimator_checks.check_em_family`.

The engine's parameters (``tol``, ``max_iter``, ``n_init``, ``random_state``,
``warm_start``, ``verbose``, ``verbose_interval``, ``fixed_params``,
``accelerate``, ``stopping``, ``learning_decay``, ``learning_offset``) and the mixture's
(``n_components``, ``init_params``, ``weights_init``, ``assignment``) are
declared once: a family's ``__init__`` takes its own parameters and
``**params``, passes ``**params`` to ``super().__init__``, and its signature
then lists them all (for ``get_params``, ``clone`` and ``repr``).

Example: see the gallery's "Writing your own family" (an exponential mixture).
"""

from __future__ import annotations

import math
import warnings
from abc import ABCMeta, abstractmethod
from functools import partial
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._accel import project_simplex
from ._dask import (
    dask_check_X,
    dask_map_rows,
    dask_validate,
    dask_weighted_mean,
    dask_weights,
    is_dask,
)
from ._em import EMMixin, add_stats, iter_chunks, memoized, sub_cache
from ._responsibilities import (
    INIT_METHODS,
    column_sums,
    initial_responsibilities,
    mixture_weights,
    normalize_log_prob,
)
from ._validation import (
    IntegerInterval,
    check_columns_observed,
    check_n_components,
    check_n_components_counts,
    check_non_negative,
    check_rows_observed,
    check_sample_weight,
    check_weights_init,
    check_X,
    estimator_feature_names,
    fill_column_means,
    normalize_weights_by_total,
)

__all__ = [
    "INIT_METHODS",
    "BaseMixture",
    "format_values",
    "memoized",
    "mixture_weights",
    "normalize_log_prob",
    "sub_cache",
]

#: The mixture-level constructor parameters, declared once:
#: name -> (default, constraints).
MIXTURE_PARAMETERS: dict[str, tuple] = {
    "n_components": (1, [IntegerInterval(Integral, 1, None, closed="left")]),
    "init_params": ("kmeans", [StrOptions(set(INIT_METHODS))]),
    "weights_init": (None, ["array-like", None]),
    "assignment": ("soft", [StrOptions({"soft", "hard"})]),
}


def format_values(values, digits: int = 3) -> str:
    """``values`` as a short bracketed list of rounded numbers (for reports)."""
    array = np.atleast_1d(np.asarray(values, dtype=np.float64))
    return np.array2string(array, precision=digits, suppress_small=True, separator=", ")


def chunked_stats(X, resp, row_bytes, component_stats) -> dict:
    """``component_stats(X, resp)`` summed over row chunks, with ``nk`` added.

    The start's M-step sees all rows at once; its statistics are sums over
    rows, so they are taken chunk by chunk (as in an E-step pass) and never
    need more than a chunk's temporaries. Equal to the one-shot statistics up
    to rounding.
    """
    stats = None
    for rows in iter_chunks(X.shape[0], row_bytes):
        part = component_stats(X[rows], resp[rows])
        part["nk"] = resp[rows].sum(axis=0)
        stats = add_stats(stats, part)
    return stats


def _check_block(estimator, X):
    """The in-memory validation of one block of rows (for Dask input)."""
    estimator._validate_input(X, reset=False)


def _apply_method(estimator, method, X, block_index):
    """``estimator.method(X)`` on one block of rows (for Dask input)."""
    return getattr(estimator, method)(X)


def _weighted_loglik(log_norm, sample_weight, unit_weights: bool) -> float:
    """``sum_i w_i log p(x_i)``, accumulated in float64."""
    if unit_weights:
        return float(np.sum(log_norm, dtype=np.float64))
    positive = sample_weight > 0  # 0 * -inf must not poison the sum
    return float(
        np.dot(
            sample_weight[positive].astype(np.float64),
            log_norm[positive].astype(np.float64),
        )
    )


class BaseMixture(EMMixin, DensityMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of every finite mixture fitted by emmix's EM engine.

    Subclass it to write a family: see the module docstring for the hooks,
    and the gallery's "Writing your own family" for a complete example. A
    missing required hook makes the class abstract: instantiating it raises a
    ``TypeError`` that names the hook.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    **params
        The engine's and the mixture's parameters (``tol``, ``max_iter``,
        ``n_init``, ``init_params``, ``weights_init``, ``assignment``, ...),
        as for :class:`emmix.GaussianMixtureEM`.
    """

    #: Names of the component parameter groups (besides ``"weights"``), or a
    #: dict from a group's name to the keys of ``params`` it covers (the first
    #: is the group's value; the others are derived from it, e.g. a Cholesky
    #: factor of a covariance, and stored as attributes too).
    _parameter_groups: ClassVar[tuple[str, ...] | dict[str, tuple[str, ...]]] = ()
    #: Whether the hooks integrate NaN entries out of the likelihood.
    _supports_missing: ClassVar[bool] = False
    #: Whether the family models non-negative data only (counts, waiting
    #: times): negative values are then refused before any work.
    _non_negative_data: ClassVar[bool] = False
    #: A short name of the family for reports ("Gaussian", "Poisson", ...).
    _family_name: ClassVar[str] = ""
    #: The scikit-learn estimator this family stands in for (its name then
    #: leads the not-fitted message, as scikit-learn's own tests expect).
    _sklearn_counterpart: ClassVar[str | None] = None
    #: Fewer distinct rows than components: "raise" a ValueError, or "warn"
    #: and fit (as scikit-learn's GaussianMixture does).
    _few_distinct_rows: ClassVar[str] = "raise"

    _parameter_constraints: dict = {
        name: constraints for name, (_, constraints) in MIXTURE_PARAMETERS.items()
    }
    #: Families stop near the optimum by default (Aitken's bound on the
    #: distance to the limit, with SQUAREM where EM crawls); only
    #: GaussianMixtureEM keeps scikit-learn's rule, for drop-in numbers.
    _engine_defaults = {
        "stopping": "aitken",
        "tol": 1e-8,
        "max_iter": 1000,
        "accelerate": "squarem",
    }

    def __init__(self, n_components: int = 1, **params):
        self._set_declared_params({"n_components": n_components, **params})

    @classmethod
    def _declared_parameters(cls) -> tuple[str, ...]:
        return (*MIXTURE_PARAMETERS, *super()._declared_parameters())

    @classmethod
    def _parameter_default(cls, name: str):
        if name in MIXTURE_PARAMETERS:
            return MIXTURE_PARAMETERS[name][0]
        return super()._parameter_default(name)

    # ------------------------------------------------------- family hooks
    @abstractmethod
    def _component_log_prob(self, X, params, cache=None):
        """Component log-densities ``log p(x | k)``, shape (n_samples, K).

        ``cache`` is a dict shared with ``_component_stats`` within one E-step
        chunk, where a family may keep what both need; ``cache["memo"]``
        (through :func:`emmix.base.memoized`; with ``large=True`` for arrays of
        the chunk's size, kept within ``working_memory``) lives for a whole
        fit.
        """

    @abstractmethod
    def _component_stats(self, X, resp, params, cache=None) -> dict:
        """Sufficient statistics of the components: sums over the rows.

        ``resp`` already includes the sample weights; ``nk = resp.sum(0)`` is
        added by the base class.
        """

    @abstractmethod
    def _component_mstep(self, stats, params) -> dict:
        """Component parameters (one value per group) from summed statistics.

        ``params`` holds the parameters entering the E-step (None at the
        start, when the statistics come from the starting responsibilities).
        """

    def _check_data(self, X) -> None:
        """Raise a ``ValueError`` for values of ``X`` the family cannot model."""

    def _project_params(self, params) -> dict:
        """Component parameters brought back into their valid set (SQUAREM)."""
        return params

    def _n_free_parameters(self, group: str, value) -> int:
        """Free parameters of a group (default: the number of its entries)."""
        return int(np.size(value))

    def _free_parametrisation(self, group: str, value):
        """Free coordinates of a group and the map back to its value.

        Returns ``(theta, to_value)``: a 1-d float64 vector of the group's
        free parameters and a function from such a vector to the group's
        value (its shape). :mod:`emmix.inference` differentiates the
        log-likelihood in these coordinates. Default: every entry is free.
        A group with constrained entries (a symmetric matrix) overrides it.
        """
        value = np.asarray(value, dtype=np.float64)
        return value.ravel().copy(), lambda theta: theta.reshape(value.shape)

    def _initial_params(self, X) -> dict:
        """Validated user-given starting values of component groups, by key."""
        return {}

    def _derived_attributes(self, params) -> dict:
        """Further fitted attributes computed from the parameters (name -> value)."""
        return {}

    def _submodel_start(self, fitted) -> dict | None:
        """Constructor parameters starting this model at ``fitted``'s solution.

        Only when the fitted estimator ``fitted`` is a special case of this
        model (e.g. a covariance structure it contains), so that EM started
        there ends at least as high; None otherwise (the default: no nesting).
        """
        return None

    def _sample_component(self, rng, params, k: int, n_samples: int):
        """Draw ``n_samples`` rows from component ``k``."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define _sample_component, so it "
            "cannot draw samples."
        )

    def _conditional_means(self, X, params, cache):
        """Per component, each row with its missing entries filled by their
        conditional mean given the row's observed part; shape (n, K, d)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not define _conditional_means, so it "
            "cannot impute missing values."
        )

    def _init_features(self, X):
        """The data the starting responsibilities are drawn on (default: X)."""
        return X

    # --------------------------------------------------------- description
    def _describe_component(self, k: int) -> str:
        """One line about fitted component ``k`` for reports (the command line).

        The default lists the component's weight and the values of its
        parameter groups.
        """
        parts = [f"weight {float(self.weights_[k]):.3f}"]
        for group, keys in self._component_groups().items():
            value = np.asarray(getattr(self, keys[0] + "_"))
            if value.ndim == 0 or value.shape[0] != self.n_components:
                continue  # shared by all components
            parts.append(f"{group} {format_values(value[k])}")
        return ", ".join(parts)

    def _component_label(self, k: int) -> str:
        """The name of component ``k`` in reports and figures."""
        return f"component {k + 1}"

    def _drawn_columns(self, features) -> list[int]:
        """The columns of X that ``_plot_components`` draws for ``features``."""
        return [int(j) for j in features[: min(len(features), self.n_features_in_)]]

    def _plot_components(self, X, ax, features, names):
        """Draw the data and the fitted components on ``ax`` (matplotlib).

        ``features`` are the (0-based) columns to draw, ``names`` the feature
        names or None. Families without a drawing raise NotImplementedError.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not say how to draw its components "
            "(_plot_components)."
        )

    # ------------------------------------------------------- groups
    @classmethod
    def _component_groups(cls) -> dict[str, tuple[str, ...]]:
        groups = cls._parameter_groups
        if isinstance(groups, str):
            groups = (groups,)
        if not isinstance(groups, dict):
            groups = {name: (name,) for name in groups}
        return {name: tuple(keys) for name, keys in groups.items()}

    def _em_groups(self) -> dict[str, tuple[str, ...]]:
        return {"weights": ("weights",), **self._component_groups()}

    def _check_fitted(self) -> None:
        """``check_is_fitted``, in scikit-learn's words for a drop-in."""
        name = self._sklearn_counterpart
        msg = None
        if name is not None:
            msg = (
                f"This {name} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator. "
                f"(%(name)s is emmix's {name}.)"
            )
        check_is_fitted(self, msg=msg)

    def _n_parameters(self) -> int:
        """Free parameters of the fitted model, for BIC and AIC.

        ``K - 1`` weights plus each component group's ``_n_free_parameters``;
        groups held by ``fixed_params`` are not estimated and do not count.
        """
        self._check_fitted()
        fixed = self._em_fixed_groups()
        total = 0 if "weights" in fixed else self.n_components - 1
        for group, keys in self._component_groups().items():
            if group not in fixed:
                total += self._n_free_parameters(group, getattr(self, keys[0] + "_"))
        return int(total)

    # ------------------------------------------------------- engine protocol
    def _em_store(self, params):
        for keys in self._em_groups().values():
            for key in keys:
                setattr(self, key + "_", params[key])
        for name, value in self._derived_attributes(params).items():
            setattr(self, name, value)

    def _em_load(self):
        return {
            key: getattr(self, key + "_")
            for keys in self._em_groups().values()
            for key in keys
        }

    def _em_mstep(self, stats, params):
        new = dict(self._component_mstep(stats, params))
        new["weights"] = mixture_weights(stats["nk"])
        return new

    def _em_project(self, params):
        params = {**params, "weights": project_simplex(params["weights"])}
        return self._project_params(params)

    def _validate_input(self, X, *, reset: bool):
        """Validated X: numeric, 2-d, finite; NaN only where supported.

        NaN marks a missing entry in a family that supports it: it is
        integrated out of the likelihood (the data are taken to be missing at
        random), every row needs at least one observed value and, to fit,
        every column too (its parameters would otherwise be invented). The
        masked entries of a ``numpy.ma`` masked array are missing entries
        (refused by a family without missing-value support).
        """
        X_checked = check_X(
            self,
            X,
            reset=reset,
            allow_nan=self._supports_missing,
            ensure_min_samples=2 if reset else 1,
            masked_fill=np.nan if self._supports_missing else None,
        )
        if self._supports_missing:
            check_rows_observed(X_checked, type(self).__name__)
            if reset:
                check_columns_observed(
                    X_checked,
                    name=type(self).__name__,
                    names=estimator_feature_names(self),
                )
        if self._non_negative_data:
            check_non_negative(
                X_checked, type(self).__name__, estimator_feature_names(self)
            )
        self._check_data(X_checked)
        return X_checked

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._supports_missing
        tags.input_tags.positive_only = self._non_negative_data
        return tags

    def _check_init_arrays(self, X) -> dict:
        """Validated ``weights_init`` and the family's ``_initial_params``."""
        arrays = dict(self._initial_params(X))
        if self.weights_init is not None:
            arrays["weights"] = check_weights_init(
                self.weights_init, self.n_components, X.dtype
            )
        return arrays

    # ------------------------------------------------------------ the start
    def _params_from_resp(self, X, resp, sample_weight):
        """Parameters from weighted responsibilities: one M-step.

        ``resp`` already includes the sample weights. The statistics are
        summed chunk by chunk, so the start's memory is bounded like a pass.
        """
        stats = chunked_stats(
            X,
            resp,
            self._em_row_bytes(X, None),
            lambda X, resp: self._component_stats(X, resp, None),
        )
        return self._em_mstep(stats, None)

    def _em_start_needs_data(self) -> bool:
        return not set(self._em_groups()) <= set(self._init_arrays)

    def _em_check_start_sample(self, X, sample_weight) -> None:
        try:
            check_n_components(X, self.n_components, sample_weight)
        except ValueError as exc:
            raise ValueError(
                f"{exc} (Counted on the {X.shape[0]} rows sampled from the "
                "Dask array X for the start: give the *_init arrays, or more "
                "varied data.)"
            ) from None

    def _em_initialize(self, X, sample_weight, random_state):
        """First parameters, the scikit-learn way.

        Responsibilities are drawn by ``init_params`` unless the user gave
        every parameter group (``*_init``); given groups then override the
        drawn ones.
        """
        user = self._init_arrays
        params = {}
        if self._em_start_needs_data():
            # The start only needs rough parameters: missing entries are
            # filled with their column's mean for it (EM then does it right).
            X = fill_column_means(X, sample_weight)
            features = self._init_features(X)
            resp = initial_responsibilities(
                features,
                self.n_components,
                self.init_params,
                sample_weight,
                random_state,
                # Features computed for the start alone may be centred in place.
                scratch=not np.may_share_memory(features, X),
            )
            del features
            resp *= sample_weight[:, np.newaxis]
            params = self._params_from_resp(X, resp, sample_weight)
        return {**params, **user}

    # ----------------------------------------------------------------- E-step
    def _weighted_log_prob(self, X, params, cache=None):
        with np.errstate(divide="ignore"):
            log_weights = np.log(params["weights"]).astype(X.dtype, copy=False)
        log_prob = self._component_log_prob(X, params, cache=cache)
        log_prob += log_weights
        return log_prob

    def _em_estep(self, X, sample_weight, params, memo=None):
        cache: dict = {} if memo is None else {"memo": memo}
        unit_weights = memoized(
            cache, "unit_weights", lambda: bool(np.all(sample_weight == 1))
        )
        if self.assignment != "hard":
            fused = self._em_fused_estep(
                X, None if unit_weights else sample_weight, params, cache
            )
            if fused is not None:
                stats, log_norm = fused
                return stats, _weighted_loglik(log_norm, sample_weight, unit_weights)
        log_norm, resp = normalize_log_prob(
            self._weighted_log_prob(X, params, cache=cache)
        )
        if self.assignment == "hard":
            # Classification EM: each row goes wholly to its likeliest component.
            labels = np.argmax(resp, axis=1)
            resp[:] = 0.0
            resp[np.arange(resp.shape[0]), labels] = 1.0
        if not unit_weights:
            resp *= sample_weight[:, np.newaxis]
        stats = self._component_stats(X, resp, params, cache=cache)
        stats["nk"] = column_sums(resp)
        return stats, _weighted_loglik(log_norm, sample_weight, unit_weights)

    def _em_fused_estep(self, X, sample_weight, params, cache):
        """The whole E-step of a chunk by a faster route, or None (default).

        Returns the statistics (``nk`` included) and ``log p(x)`` of every
        row, equal to what the hooks give to rounding; ``sample_weight`` is
        None for unit weights. Not used with ``assignment="hard"``.
        """
        return None

    def _em_row_bytes(self, X, params) -> int:
        d, k = X.shape[1], self.n_components
        return X.dtype.itemsize * (k * (d + 6) + 3 * d)

    # -------------------------------------------------------------------- fit
    def _validated_fit_data(self, X, sample_weight, *, reset: bool):
        """``(X, sample_weight, n_positive)`` validated for a fit.

        In memory or on Dask. A Dask array is checked without gathering it:
        lazy shape checks, then one reduction pass running ``_validate_input``
        on every block; the whole-data checks of ``fit`` run on the column
        minima and maxima. ``n_positive`` counts the rows with a positive
        weight on Dask input (None in memory).
        """
        if not is_dask(X):
            X = self._validate_input(X, reset=reset)
            sample_weight = check_sample_weight(sample_weight, X)
            if reset and self._supports_missing:
                # A column observed only in rows of weight 0 is empty too.
                check_columns_observed(
                    X,
                    name=type(self).__name__,
                    names=estimator_feature_names(self),
                    sample_weight=sample_weight,
                )
            return X, sample_weight, None
        X = dask_check_X(
            X,
            name=type(self).__name__,
            n_features=None if reset else self.n_features_in_,
            ensure_min_samples=2 if reset else 1,
        )
        if reset:
            self.n_features_in_ = int(X.shape[1])
            self.__dict__.pop("feature_names_in_", None)
        sample_weight = dask_weights(sample_weight, X)
        summary = dask_validate(
            partial(_check_block, self._without_fit_state()), X, sample_weight
        )
        if reset:
            surrogate = np.vstack([summary["min"], summary["max"]]).astype(X.dtype)
            self._validate_input(surrogate, reset=True)
        sample_weight = normalize_weights_by_total(
            sample_weight, summary["wsum"], X.shape[0]
        )
        return X, sample_weight, summary["npos"]

    def _check_components(self, X, sample_weight, n_positive) -> None:
        """Enough (distinct) rows for ``n_components``, before any work."""
        if n_positive is None:
            check_n_components(
                X,
                self.n_components,
                sample_weight,
                few_distinct=self._few_distinct_rows,
            )
        else:
            # Distinct rows are counted on the start's sample.
            check_n_components_counts(X.shape[0], n_positive, self.n_components)

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with the EM algorithm.

        The model is fitted ``n_init`` times and the parameters with the
        largest log-likelihood are kept. Each run iterates E- and M-steps until
        the change of the mean log-likelihood per sample is below ``tol`` or
        ``max_iter`` iterations were made (then a ``ConvergenceWarning`` is
        issued). With ``warm_start=True`` a second call continues from the
        fitted parameters with a single run.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one row per sample. A ``dask.array.Array`` is
            fitted where its blocks live, with a start drawn from a random
            sample of its rows unless every ``*_init`` array is given (see
            the "Fitting with Dask" page).
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row. An integer weight is exactly the
            same as repeating the row that many times.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        X, sample_weight, n_positive = self._validated_fit_data(
            X, sample_weight, reset=True
        )
        self._em_fixed_groups()  # unknown group names fail before any work
        self._init_arrays = self._check_init_arrays(X)
        self._check_components(X, sample_weight, n_positive)
        self._reset_stream()
        self._check_warm_start(X)
        self._fit_em(X, sample_weight)
        self._fitted_shape = self._model_shape(X.shape[1])
        return self

    # ------------------------------------------------- continuing a fit
    def _model_shape(self, n_features: int) -> dict:
        """What fixes the shapes of the parameters (compared before continuing).

        A family whose parameter shapes depend on more (the covariance type,
        ...) adds it.
        """
        return {"n_components": self.n_components, "n_features": int(n_features)}

    def _shape_changes(self, n_features: int) -> list[str]:
        """How the model asked for now differs from the fitted one (by shape)."""
        fitted = getattr(self, "_fitted_shape", None)
        if fitted is None:  # fitted by an older version: nothing to compare
            return []
        now = self._model_shape(n_features)
        changes = []
        for key in now:
            if key in fitted and fitted[key] != now[key]:
                what = "X has" if key == "n_features" else f"{key} is"
                changes.append(
                    f"{what} {now[key]!r}"
                    + (" features" if key == "n_features" else "")
                    + f" where the fitted model has {fitted[key]!r}"
                )
        return changes

    def _check_warm_start(self, X) -> None:
        """Start afresh, with a warning, when the fitted model cannot be continued.

        ``warm_start=True`` continues from the fitted parameters; after
        ``set_params(n_components=...)`` (or on data with other columns) they
        have other shapes, so the fit starts afresh, as a fit without
        ``warm_start`` would, and says so.
        """
        if not (self.warm_start and hasattr(self, "converged_")):
            return
        changes = self._shape_changes(X.shape[1])
        if not changes:
            return
        warnings.warn(
            f"warm_start=True, but {'; '.join(changes)}: the fitted parameters "
            "cannot start this fit, so it starts afresh (with n_init="
            f"{self.n_init} runs), as without warm_start. Set warm_start=False "
            "(or clone the estimator) before changing the model to silence this "
            "warning.",
            UserWarning,
            stacklevel=3,
        )
        del self.converged_

    def _reset_stream(self):
        for name in ("_stream_stats", "_stream_params", "_stream_t"):
            if hasattr(self, name):
                delattr(self, name)

    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one batch of rows (stepwise EM).

        Keeps running expected sufficient statistics per unit of weight,
        ``S <- (1 - eta_t) S + eta_t S_batch`` with
        ``eta_t = (t + learning_offset) ** -learning_decay``, and sets the
        parameters to the M-step of ``S`` after each batch. The first call
        starts from its batch (by ``init_params`` or the ``*_init`` arrays)
        and must have at least ``n_components`` rows. A later :meth:`fit`
        starts afresh.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch of rows (a Dask array is one batch).
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row of the batch.

        Returns
        -------
        self : object
            The updated estimator. ``n_iter_`` counts the batches seen and
            ``lower_bounds_`` holds each batch's mean log-likelihood under the
            parameters before its update.
        """
        first = not hasattr(self, "_stream_stats")
        if first:
            self._validate_params()
        else:
            self._check_stream_continues()
        X, sample_weight, n_positive = self._validated_fit_data(
            X, sample_weight, reset=first
        )
        if first:
            self._em_fixed_groups()
            self._init_arrays = self._check_init_arrays(X)
            self._check_components(X, sample_weight, n_positive)
        self._partial_fit_em(X, sample_weight)
        if first:
            self._fitted_shape = self._model_shape(X.shape[1])
        return self

    def _check_stream_continues(self) -> None:
        """Refuse a ``partial_fit`` batch after the model changed shape.

        The running statistics belong to the model of the first batch; after
        ``set_params(n_components=...)`` they cannot be updated.
        """
        self._validate_params()
        changes = self._shape_changes(self.n_features_in_)
        if changes:
            raise ValueError(
                f"{type(self).__name__}.partial_fit continues the stream begun by "
                f"its first call, but now {'; '.join(changes)} (set_params since "
                "then?). Its running statistics cannot be updated for another "
                "model: set the parameters back, or call fit(X) (or partial_fit "
                "on a clone of the estimator) to start a new stream."
            )

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit the model and return the most probable component of each row.

        Equal to ``fit(X).predict(X)`` for any ``max_iter`` and ``tol``: the
        labels come from a final E-step with the kept parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    # ---------------------------------------------------------- prediction
    def _dask_map(self, X, method, *, n_columns=None, dtype=None):
        """Lazy ``method`` of this fitted estimator over a Dask array's blocks."""
        self._check_fitted()
        X = dask_check_X(
            X,
            name=type(self).__name__,
            n_features=self.n_features_in_,
            ensure_min_samples=1,
        )
        return dask_map_rows(
            _apply_method,
            X,
            shared=(self._without_fit_state(), method),
            n_columns=n_columns,
            dtype=dtype,
        )

    def _chunked_log_normalize(self, X):
        """Yield ``(rows, log_norm, resp)`` chunk by chunk (bounded memory)."""
        params = self._em_prepare(self._em_load())
        for rows in iter_chunks(X.shape[0], self._em_row_bytes(X, params)):
            yield (
                rows,
                *normalize_log_prob(self._weighted_log_prob(X[rows], params)),
            )

    def _checked_input(self, X):
        self._check_fitted()
        return self._validate_input(X, reset=False)

    def score_samples(self, X):
        """Log-likelihood of each sample under the fitted mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(x)`` for each row.
        """
        if is_dask(X):
            return self._dask_map(X, "score_samples")
        X = self._checked_input(X)
        out = np.empty(X.shape[0], dtype=X.dtype)
        for rows, log_norm, _ in self._chunked_log_normalize(X):
            out[rows] = log_norm
        return out

    def score(self, X, y=None, sample_weight=None):
        """Mean log-likelihood per sample of ``X`` (higher is better).

        This is the default score of ``GridSearchCV``, so a grid over
        ``n_components`` selects by held-out likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        y : Ignored
            Not used, present for API consistency.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the average.

        Returns
        -------
        log_likelihood : float
            Weighted mean of ``score_samples(X)``.
        """
        if is_dask(X):
            return dask_weighted_mean(self.score_samples(X), sample_weight)
        log_prob = self.score_samples(X)
        if sample_weight is None:
            # scikit-learn's score: the mean in the data's dtype.
            return float(np.mean(log_prob))
        weights = check_sample_weight(sample_weight, log_prob[:, np.newaxis])
        return float(np.average(log_prob.astype(np.float64), weights=weights))

    def predict(self, X):
        """Most probable component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component labels.
        """
        if is_dask(X):
            return self._dask_map(X, "predict", dtype=np.int64)
        X = self._checked_input(X)
        out = np.empty(X.shape[0], dtype=np.int64)
        for rows, _, resp in self._chunked_log_normalize(X):
            out[rows] = np.argmax(resp, axis=1)
        return out

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Rows sum to 1.
        """
        if is_dask(X):
            return self._dask_map(X, "predict_proba", n_columns=self.n_components)
        X = self._checked_input(X)
        out = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        for rows, _, resp in self._chunked_log_normalize(X):
            out[rows] = resp
        return out

    def impute(self, X):
        """Fill missing entries (NaN) with their posterior-weighted conditional mean.

        Each missing entry becomes ``sum_k p(k | x_obs) E[x_miss | x_obs, k]``:
        the mean of the fitted mixture's conditional distribution given the
        row's observed values. Observed values are returned unchanged. Only
        families that support missing values can impute.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with NaN for missing entries; every row needs an observed value.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
            A new array; ``X`` is not modified (lazy for a Dask array).
        """
        if not self._supports_missing:
            raise NotImplementedError(
                f"{type(self).__name__} does not support missing values, so it "
                "has nothing to impute."
            )
        if is_dask(X):
            return self._dask_map(X, "impute", n_columns=self.n_features_in_)
        X = self._checked_input(X)
        out = np.array(X, dtype=X.dtype, copy=True)
        mask = np.isnan(out)
        rows = mask.any(axis=1)
        if not rows.any():
            return out
        params = self._em_prepare(self._em_load())
        for chunk in iter_chunks(int(rows.sum()), self._em_row_bytes(X, params)):
            index = np.flatnonzero(rows)[chunk]
            part = out[index]
            cache: dict = {}
            _, resp = normalize_log_prob(self._weighted_log_prob(part, params, cache))
            fill = np.einsum(
                "nk,nkd->nd", resp, self._conditional_means(part, params, cache)
            )
            out[index] = np.where(mask[index], fill, part)
        return out

    def sample(self, n_samples: int = 1):
        """Draw samples from the fitted mixture.

        Uses ``random_state``, so repeated calls with an integer seed return
        the same draws.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Drawn samples, grouped by component.
        y : ndarray of shape (n_samples,)
            Component of each drawn sample.
        """
        self._check_fitted()
        if (
            not isinstance(n_samples, Integral)
            or isinstance(n_samples, (bool, np.bool_))
            or n_samples < 1
        ):
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling "
                "requires at least one sample."
            )
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        params = self._em_load()
        parts = []
        for k, count in enumerate(counts):
            part = np.asarray(
                self._sample_component(rng, params, k, int(count)), dtype=np.float64
            )
            parts.append(part.reshape(int(count), -1) if count else part)
        X = np.vstack([p for p in parts if p.size] or [parts[0]])
        y = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return X, y

    def bic(self, X) -> float:
        """Bayesian information criterion on ``X`` (lower is better).

        ``-2 * log-likelihood + n_parameters * log(n_samples)``, computed on the
        data given (normally the training data).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        bic : float
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X) -> float:
        """Akaike information criterion on ``X`` (lower is better).

        ``-2 * log-likelihood + 2 * n_parameters``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        aic : float
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + 2 * self._n_parameters()
