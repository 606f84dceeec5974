"""MixedTypeMixture: one latent class over groups of columns of different families.

A row's columns are split into groups, each modelled by a family (Gaussian,
Poisson, binomial, ... or a family written by a user). Given the component
``k`` the groups are independent, so

* E-step: ``log p(x | k) = sum_g log p_g(x_g | k)``, each term the group's own
  ``_component_log_prob`` on its columns; the responsibilities are shared and
  each group takes its own sufficient statistics from them;
* M-step: each group's own M-step on its statistics; the mixing weights are
  shared (``N_k / N``).

Nothing here knows what a Gaussian or a count is: every group is a fitted
clone of its family, called through the family interface of
:class:`emmix.base.BaseMixture`, and its parameters travel in the one
parameter dict of the engine under keys prefixed by the group's name
(``"gaussian__means"``), so restarts, chunking, sample weights, hard EM,
``fixed_params``, SQUAREM, ``partial_fit`` and Dask work as for any family.

A missing value (NaN) is integrated out by the family of its group. A row
whose columns of one group are all missing adds nothing to that group: the
group's hooks see only the rows where it has an observed value, and its
M-step counts their mass alone (``"<group>__nk"``).
"""

from __future__ import annotations

import re
import warnings
from numbers import Integral

import numpy as np
from scipy.sparse import issparse
from sklearn.base import clone
from sklearn.utils import Bunch

from .._dask import is_dask
from .._validation import (
    _describe_column,
    check_rows_observed,
    check_X,
    estimator_feature_names,
)
from ..base import BaseMixture, memoized, sub_cache
from ._categorical import sampled_kmeans_start

__all__ = ["MixedTypeMixture"]

#: Family names accepted in ``columns`` -> the class's name in emmix.mixture.
#: ("categorical" is found once emmix ships a CategoricalMixture.)
FAMILIES = {
    "gaussian": "GaussianMixtureEM",
    "poisson": "PoissonMixture",
    "coin": "CoinMixture",
    "binomial": "CoinMixture",
    "bernoulli": "CoinMixture",
    "categorical": "CategoricalMixture",
}

#: Separator of a group's name and its own keys (as in scikit-learn's
#: nested parameters): ``"gaussian__means"``.
SEP = "__"


# ------------------------------------------------------- column groups
def _family_class(name: str):
    from .. import mixture

    cls = getattr(mixture, FAMILIES.get(name.lower(), ""), None)
    if cls is None:
        known = sorted(k for k, v in FAMILIES.items() if hasattr(mixture, v))
        raise ValueError(
            f"MixedTypeMixture: unknown family {name!r} in columns; give one of "
            f"{known}, a BaseMixture subclass or an instance of one."
        )
    return cls


def _family_label(family) -> str:
    """The default name of a group of ``family`` (before de-duplication)."""
    if isinstance(family, str):
        return family.lower()
    cls = family if isinstance(family, type) else type(family)
    return re.sub("_+", "_", cls.__name__.lower()).strip("_") or "group"


def _split_entry(entry):
    """``(columns, options)`` from a dict value: ``cols`` or ``(cols, options)``."""
    if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict):
        return entry[0], entry[1]
    return entry, {}


def group_specs(columns) -> list[tuple[str, object, object, dict]]:
    """``columns`` as a list of ``(name, family, column spec, options)``.

    Accepts a dict ``{family: cols}`` / ``{family: (cols, options)}``, a list
    of ``(family, cols)`` or ``(family, cols, options)``, or None (every
    column in one Gaussian group). Names are the family names, de-duplicated
    with ``-1``, ``-2``, ... as scikit-learn's ``make_column_transformer``.
    """
    if columns is None:
        return [("gaussian", "gaussian", None, {})]
    if isinstance(columns, dict):
        items = [(family, *_split_entry(entry)) for family, entry in columns.items()]
    elif isinstance(columns, (list, tuple)):
        items = []
        for i, entry in enumerate(columns):
            if not isinstance(entry, (list, tuple)) or len(entry) not in (2, 3):
                raise ValueError(
                    f"MixedTypeMixture: columns[{i}] = {entry!r} must be a pair "
                    "(family, columns) or a triple (family, columns, options)."
                )
            options = entry[2] if len(entry) == 3 else {}
            if not isinstance(options, dict):
                raise TypeError(
                    f"MixedTypeMixture: the options of columns[{i}] must be a dict "
                    f"of the family's parameters, got {options!r}."
                )
            items.append((entry[0], entry[1], options))
    else:
        raise TypeError(
            "MixedTypeMixture: columns must be a dict {family: columns}, a list "
            f"of (family, columns[, options]) or None; got {columns!r}."
        )
    if not items:
        raise ValueError("MixedTypeMixture: columns is empty; give at least one group.")
    labels = [_family_label(family) for family, _, _ in items]
    counts = {label: labels.count(label) for label in labels}
    seen: dict[str, int] = {}
    specs = []
    for label, (family, cols, options) in zip(labels, items, strict=True):
        name = label
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            name = f"{label}-{seen[label]}"
        specs.append((name, family, cols, dict(options)))
    return specs


def make_group_estimator(name: str, family, options: dict, n_components: int):
    """An unfitted estimator of ``family`` with ``n_components`` and ``options``.

    Only the family's own parameters may be set per group: the engine's and
    the mixture's (``tol``, ``weights_init``, ...) belong to the mixture.
    """
    if isinstance(family, str):
        family = _family_class(family)
    if isinstance(family, type):
        if not issubclass(family, BaseMixture):
            raise TypeError(
                f"MixedTypeMixture: group {name!r} has family {family.__name__}, "
                "which is not an emmix.base.BaseMixture subclass."
            )
        estimator = family()
    elif isinstance(family, BaseMixture):
        estimator = clone(family)
    else:
        raise TypeError(
            f"MixedTypeMixture: group {name!r} has family {family!r}; give a family "
            f"name ({sorted(FAMILIES)}), a BaseMixture subclass or an instance."
        )
    shared = set(type(estimator)._declared_parameters())
    misplaced = sorted(set(options) & shared)
    if misplaced:
        raise ValueError(
            f"MixedTypeMixture: the options of group {name!r} set {misplaced}, "
            "which belong to the whole mixture (one latent class for all groups): "
            "set them on MixedTypeMixture itself."
        )
    try:
        estimator.set_params(**options, n_components=n_components, fixed_params=None)
    except ValueError as exc:
        raise ValueError(
            f"MixedTypeMixture: invalid options for group {name!r}: {exc}"
        ) from None
    return estimator


def resolve_columns(spec, n_features: int, names, group: str) -> np.ndarray:
    """Column positions of one group: ints (negative from the end), names, a
    slice or a boolean mask over the columns of X."""
    where = f"MixedTypeMixture: columns of group {group!r}"
    if spec is None:
        return np.arange(n_features)
    if isinstance(spec, slice):
        return np.arange(n_features)[spec]
    if isinstance(spec, (str, Integral)):
        spec = [spec]
    values = (
        list(np.asarray(spec, dtype=object).ravel())
        if not isinstance(spec, list)
        else list(spec)
    )
    if not values:
        raise ValueError(f"{where} is empty; give at least one column.")
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        if len(values) != n_features:
            raise ValueError(
                f"{where} is a boolean mask of length {len(values)}, but X has "
                f"{n_features} columns."
            )
        return np.flatnonzero(np.asarray(values, dtype=bool))
    out = []
    for value in values:
        if isinstance(value, str):
            if names is None:
                raise ValueError(
                    f"{where} names column {value!r}, but X has no column names: "
                    "pass a DataFrame, or give column positions."
                )
            found = np.flatnonzero(np.asarray(names, dtype=object) == value)
            if not found.size:
                raise ValueError(
                    f"{where} names column {value!r}, which X does not have "
                    f"(its columns: {list(names)})."
                )
            out.append(int(found[0]))
        elif isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)):
            if not -n_features <= value < n_features:
                raise ValueError(
                    f"{where} includes column {value}, but X has {n_features} columns."
                )
            out.append(int(value) % n_features)
        else:
            raise TypeError(
                f"{where} includes {value!r}: give column positions (int) or "
                "names (str)."
            )
    return np.asarray(out, dtype=np.intp)


def _check_partition(groups, n_features: int, names) -> None:
    """Every column of X in exactly one group."""
    owner: dict[int, str] = {}
    for name, _, cols in groups:
        for j in cols:
            if j in owner:
                raise ValueError(
                    f"MixedTypeMixture: {_describe_column(int(j), names)} of X is in "
                    f"groups {owner[j]!r} and {name!r}; each column belongs to one "
                    "group."
                )
            owner[int(j)] = name
    missing = [j for j in range(n_features) if j not in owner]
    if missing:
        what = ", ".join(_describe_column(j, names) for j in missing[:5])
        raise ValueError(
            f"MixedTypeMixture: {what} of X {'is' if len(missing) == 1 else 'are'} "
            "in no group of columns. Put every column in a group (a density "
            "model cannot ignore data), or drop it from X."
        )


def _index(cols: np.ndarray):
    """A slice for contiguous columns (views, no copies), else the positions."""
    if cols.size and np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size)):
        return slice(int(cols[0]), int(cols[0]) + cols.size)
    return cols


_COLUMN = re.compile(r"\bcolumn (\d+)(?: \('(?:[^'\\]|\\.)*'\))?")
_CELL = re.compile(r"\bX\[(\d+), (\d+)\]")


def translate_message(message: str, cols, rows, names) -> str:
    """A group's message about its columns (and rows) rewritten for the whole X."""

    def column(match):
        j = int(match.group(1))
        return _describe_column(int(cols[j]), names) if j < len(cols) else match[0]

    def cell(match):
        i, j = int(match.group(1)), int(match.group(2))
        if j >= len(cols):
            return match[0]
        i = int(rows[i]) if rows is not None and i < len(rows) else i
        return f"X[{i}, {int(cols[j])}]"

    return _CELL.sub(cell, _COLUMN.sub(column, message))


def _describe_group(name: str, est, cols) -> str:
    """A group as ``"gaussian: GaussianMixtureEM(covariance_type='full') on
    columns [0, 1]"`` (what fixes its parameters' shapes)."""
    shape = est._model_shape(int(cols.size))
    options = ", ".join(
        f"{key}={value!r}"
        for key, value in shape.items()
        if key not in ("n_components", "n_features")
    )
    columns = [int(c) for c in cols]
    return f"{name}: {type(est).__name__}({options}) on columns {columns}"


def _strip_weight(text: str) -> str:
    return re.sub(r"^weight [^,]*,\s*", "", text)


# ------------------------------------------------------------ estimator
class MixedTypeMixture(BaseMixture):
    """Mixture over groups of columns of different types (latent class model).

    One latent component ``k`` drives every column; given it, groups of
    columns are independent and each is modelled by its own family:
    Gaussian measurements, Poisson counts, binary or binomial answers, or a
    family written on :mod:`emmix.base`. This is the latent class / latent
    profile model with mixed indicators (StepMix's "mixed" measurement).

    Parameters
    ----------
    n_components : int, default=1
        The number of latent classes (mixture components).
    columns : dict, list or None, default=None
        The groups of columns and their families:

        - a dict ``{family: cols}`` or ``{family: (cols, options)}``, e.g.
          ``{"gaussian": [0, 1], "poisson": [3], "coin": ([2], {"n_trials": 1})}``;
        - a list of ``(family, cols)`` or ``(family, cols, options)``, like
          scikit-learn's ``make_column_transformer``, which allows two groups
          of one family (named ``gaussian-1``, ``gaussian-2``);
        - None: every column in one Gaussian group (the model of
          :class:`GaussianMixtureEM`, with this estimator's stopping rule).

        ``family`` is a name (``"gaussian"``, ``"poisson"``, ``"coin"`` or
        ``"binomial"``; ``"categorical"`` where emmix has a
        ``CategoricalMixture``), a :class:`~emmix.base.BaseMixture` subclass,
        or an instance of one (whose own parameters are used). ``cols`` are
        column positions, column names of a DataFrame, a slice or a boolean
        mask; every column of X must be in exactly one group. ``options`` are
        the family's own parameters (``covariance_type``, ``n_trials``,
        ``means_init``, ...). The engine's and the mixture's parameters
        (``tol``, ``weights_init``, ``fixed_params``, ...) are set on this
        estimator, for all groups.
    tol, max_iter, n_init, init_params, weights_init, random_state, \
warm_start, verbose, verbose_interval, assignment, stopping, accelerate, \
learning_decay, learning_offset
        As for :class:`PoissonMixture`: by default the fit stops near the
        optimum (``stopping='aitken'``, ``tol=1e-8``, ``max_iter=1000``,
        ``accelerate='squarem'``); ``stopping='change'``, ``tol=1e-3``,
        ``max_iter=100``, ``accelerate=None`` are scikit-learn's (and
        :class:`GaussianMixtureEM`'s) defaults. The k-means starts cluster each
        group's own start features (a Gaussian's values, proportions of heads
        for coins, ...), each column scaled to unit variance when there are
        several groups. On more than ``max(10_000, 100 * n_components)`` rows
        with equal sample weights, ``init_params='kmeans'`` clusters a uniform
        random sample of that many rows (drawn from ``random_state``) and
        gives every row the component of its nearest centre, as
        :class:`CategoricalMixture` does.
    fixed_params : set of str, default=None
        Parameter groups held at their initial values: ``'weights'`` or a
        group's parameter prefixed by the group's name, e.g.
        ``'gaussian__means'``, ``'poisson__rates'``. Give their values in the
        group's options (``means_init``, ...) or ``weights_init``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights (shared by all groups).
    estimators_ : list of BaseMixture
        One fitted estimator per group, in the order of ``columns``, with the
        group's parameters as its own fitted attributes (``means_``,
        ``rates_``, ...) and the shared ``weights_``. Each is a valid fitted
        mixture of its own columns (``estimators_[0].predict(X[:, cols])``
        classifies by that group alone).
    named_estimators_ : Bunch
        The same, by group name.
    columns_ : dict of str to ndarray of int
        The positions in X of each group's columns.
    <group>__<param>_ : ndarray
        Each group's parameters under their prefixed names (e.g.
        ``gaussian__means_``), as the engine stores them.
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_, \
feature_names_in_
        As for :class:`GaussianMixtureEM`.

    See Also
    --------
    GaussianMixtureEM, PoissonMixture, CoinMixture : The families of a group.

    Notes
    -----
    Missing values (NaN) are accepted when every group's family supports
    them: each is integrated out by its family (missing at random), and a row
    needs at least one observed value. The number of free parameters (for
    :meth:`bic`) is ``K - 1`` plus each group's own count.

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import MixedTypeMixture
    >>> rng = np.random.RandomState(0)
    >>> z = rng.rand(400) < 0.4
    >>> X = np.column_stack([
    ...     rng.normal(np.where(z, 3.0, 0.0), 1.0),    # a measurement
    ...     rng.poisson(np.where(z, 8.0, 2.0)),         # a count
    ...     rng.binomial(1, np.where(z, 0.9, 0.2)),     # a yes/no answer
    ... ])
    >>> model = MixedTypeMixture(
    ...     n_components=2,
    ...     columns={"gaussian": [0], "poisson": [1], "coin": [2]},
    ...     random_state=0,
    ... ).fit(X)
    >>> order = np.argsort(model.named_estimators_["gaussian"].means_[:, 0])
    >>> model.weights_[order].round(2)
    array([0.59, 0.41])
    >>> model.named_estimators_["poisson"].rates_[order, 0].round(1)
    array([2. , 8.3])
    """

    _parameter_constraints: dict = {"columns": [dict, list, tuple, None]}
    _family_name = "mixed"

    def __init__(self, n_components: int = 1, *, columns=None, **params):
        super().__init__(n_components, **params)
        self.columns = columns

    # ------------------------------------------------------------ the groups
    def _group_prototypes(self) -> list[tuple[str, BaseMixture]]:
        """``(name, unfitted estimator)`` per group, from ``columns``."""
        return [
            (name, make_group_estimator(name, family, options, self.n_components))
            for name, family, _, options in group_specs(self.columns)
        ]

    def _resolve_groups(self, n_features: int, names) -> list:
        """``(name, estimator, column positions)`` per group, for this X."""
        specs = group_specs(self.columns)
        groups = [
            (
                name,
                make_group_estimator(name, family, options, self.n_components),
                resolve_columns(cols, n_features, names, name),
            )
            for name, family, cols, options in specs
        ]
        _check_partition(groups, n_features, names)
        return groups

    def _set_groups(self, groups) -> None:
        self.estimators_ = [est for _, est, _ in groups]
        self.named_estimators_ = Bunch(**{name: est for name, est, _ in groups})
        self.columns_ = {name: cols for name, _, cols in groups}
        self._group_index = [(name, est, _index(cols)) for name, est, cols in groups]

    def _groups(self, n_features: int | None = None):
        """``(name, estimator, column index)`` per group.

        Set by validation; an estimator given parameters without a fit (a
        start for ``K + 1`` components from a ``K`` fit) resolves its columns
        from ``n_features_in_`` / ``feature_names_in_`` when it has them.
        """
        if not hasattr(self, "_group_index"):
            n_features = getattr(self, "n_features_in_", n_features)
            if n_features is None:
                raise AttributeError(
                    "MixedTypeMixture has no columns yet: fit it (or set "
                    "n_features_in_) first."
                )
            names = estimator_feature_names(self)
            self._set_groups(self._resolve_groups(int(n_features), names))
        return self._group_index

    @property
    def _supports_missing(self) -> bool:
        try:
            return all(est._supports_missing for _, est in self._group_prototypes())
        except (TypeError, ValueError):
            return False

    def _component_groups(self) -> dict[str, tuple[str, ...]]:
        if hasattr(self, "_group_index"):
            pairs = [(name, est) for name, est, _ in self._group_index]
        else:
            pairs = self._group_prototypes()
        return {
            name + SEP + group: tuple(name + SEP + key for key in keys)
            for name, est in pairs
            for group, keys in est._component_groups().items()
        }

    def _em_fixed_groups(self) -> frozenset:
        fixed = super()._em_fixed_groups()
        # Each group's M-step reads its own fixed groups (a Gaussian's
        # covariance is estimated around fixed means).
        for name, est, _ in self._groups():
            own = {g[len(name) + 2 :] for g in fixed if g.startswith(name + SEP)}
            est.fixed_params = own or None
        return fixed

    @staticmethod
    def _sub_params(params, name: str) -> dict:
        """One group's parameters, under its own keys, with the shared weights."""
        prefix = name + SEP
        sub = {"weights": params["weights"]}
        for key, value in params.items():
            if key.startswith(prefix):
                sub[key[len(prefix) :]] = value
        return sub

    @staticmethod
    def _prefixed(sub: dict, name: str) -> dict:
        return {name + SEP + k: v for k, v in sub.items() if k != "weights"}

    # -------------------------------------------------------------- checks
    def _validated_fit_data(self, X, sample_weight, *, reset: bool):
        if not (reset and is_dask(X)):
            return super()._validated_fit_data(X, sample_weight, reset=reset)
        # The blocks are checked before the mixture knows its columns.
        self._set_groups(self._resolve_groups(int(X.shape[1]), None))
        try:
            return super()._validated_fit_data(X, sample_weight, reset=reset)
        except AttributeError as exc:
            # A group whose family learns from the whole data before it can
            # check a block (a categorical group's categories) has its own
            # Dask pass, which the mixture does not compose.
            raise TypeError(
                "MixedTypeMixture cannot fit this Dask array: a group's family "
                f"must see all the data before checking a block ({exc}). Fit on "
                "a numpy array (or compute() the Dask array)."
            ) from exc

    def _validate_input(self, X, *, reset: bool):
        """Validated X: each group's columns checked by its own family."""
        supports_missing = self._supports_missing
        X_checked = check_X(
            self,
            X,
            reset=reset,
            allow_nan=supports_missing,
            ensure_min_samples=2 if reset else 1,
            masked_fill=np.nan if supports_missing else None,
        )
        names = estimator_feature_names(self)
        if reset or not hasattr(self, "_group_index"):
            groups = self._resolve_groups(X_checked.shape[1], names)
            if reset:
                for name, est, _ in groups:
                    try:
                        est._validate_params()
                    except ValueError as exc:
                        raise type(exc)(
                            f"MixedTypeMixture, group {name!r}: {exc}"
                        ) from None
            self._set_groups(groups)
        if supports_missing:
            check_rows_observed(X_checked, type(self).__name__)
        copied = False
        for name, est, index in self._groups():
            rows, values = self._validate_group(
                name, est, X_checked, self.columns_[name], reset
            )
            if values is None:
                continue
            # A family whose validation re-codes its columns (categories to
            # codes 0..C-1) gets its own codes in the X the hooks see.
            if not copied:
                X_checked = np.array(X_checked, copy=True)
                copied = True
            if rows is None:
                X_checked[:, index] = values
            else:
                X_checked[rows[:, np.newaxis], self.columns_[name]] = values
        return X_checked

    def _validate_group(self, name, est, X, cols, reset):
        """The group's own ``_validate_input`` on its columns, errors and
        warnings rewritten to name the columns of the whole X.

        Returns ``(rows, values)``: the validated values of the group's
        columns (in ``rows``, None for all) where validation changed them,
        else ``values`` None.
        """
        Xg = X[:, _index(cols)]
        rows = None
        if self._supports_missing:
            observed = ~np.isnan(Xg).all(axis=1)
            if not observed.all():
                rows = np.flatnonzero(observed)
                Xg = Xg[rows]
        if Xg.shape[0] == 0:
            return rows, None
        names = estimator_feature_names(self)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                values = est._validate_input(Xg, reset=reset)
            except ValueError as exc:
                family = est._family_name or type(est).__name__
                raise ValueError(
                    f"MixedTypeMixture, group {name!r} ({family}): "
                    + translate_message(str(exc), cols, rows, names)
                ) from None
        for warning in caught:
            warnings.warn(
                f"MixedTypeMixture, group {name!r}: "
                + translate_message(str(warning.message), cols, rows, names),
                warning.category,
                stacklevel=4,
            )
        values = np.asarray(values)
        if values is Xg or np.array_equal(values, Xg, equal_nan=True):
            return rows, None
        return rows, values

    def _model_shape(self, n_features: int) -> dict:
        groups = self._resolve_groups(n_features, estimator_feature_names(self))
        return {
            **super()._model_shape(n_features),
            "groups": tuple(_describe_group(*group) for group in groups),
        }

    # ----------------------------------------------------------- the start
    def _initial_params(self, X) -> dict:
        out = {}
        for name, est, index in self._groups():
            out.update(self._prefixed(est._initial_params(X[:, index]), name))
        return out

    def _init_features(self, X):
        parts = [est._init_features(X[:, index]) for _, est, index in self._groups()]
        if len(parts) == 1:
            return parts[0]  # one group: exactly that family's start
        # Several families: each column on one scale, so that no group's
        # units decide the k-means start. (A family's sparse start features,
        # a categorical one-hot, are made dense here: one start's copy.)
        features = np.hstack(
            [
                np.asarray(p.toarray() if issparse(p) else p, dtype=X.dtype)
                for p in parts
            ]
        )
        features -= features.mean(axis=0)
        scale = features.std(axis=0)
        features /= np.where(scale > 0, scale, 1.0)
        return features

    def _em_initialize(self, X, sample_weight, random_state):
        # k-means on a sample of rows when there are many (documented with
        # init_params).
        params = sampled_kmeans_start(self, X, sample_weight, random_state)
        if params is None:
            return super()._em_initialize(X, sample_weight, random_state)
        return params

    def _params_from_resp(self, X, resp, sample_weight):
        # Each family's own start from the responsibilities (the Gaussian's
        # takes its statistics around the data mean).
        params = {}
        for name, est, index in self._groups(X.shape[1]):
            sub = est._params_from_resp(
                np.ascontiguousarray(X[:, index]), resp, sample_weight
            )
            given = getattr(self, "_init_arrays", {})
            missing = [
                key
                for keys in est._em_groups().values()
                for key in keys
                if key not in sub and name + SEP + key not in given
            ]
            if missing:
                # Its start sets more than one M-step from responsibilities
                # does (the t's degrees of freedom, in its _em_initialize).
                raise TypeError(
                    f"MixedTypeMixture: group {name!r} has family "
                    f"{type(est).__name__}, whose start from responsibilities "
                    f"gives no {missing} (its own start sets them); a group's "
                    "start is that M-step alone, so give them in the group's "
                    "options (e.g. its *_init parameters)."
                )
            params.setdefault("weights", sub["weights"])
            params.update(self._prefixed(sub, name))
        return params

    def _em_stream_start(self, params):
        out = dict(params)
        for name, est, _ in self._groups():
            sub = est._em_stream_start(self._sub_params(params, name))
            out.update(self._prefixed(sub, name))
        return out

    # ------------------------------------------------------------- E-step
    def _em_prepare(self, params):
        prepared = {
            name: est._em_prepare(self._sub_params(params, name))
            for name, est, _ in self._groups()
        }
        return {**params, "_groups": prepared}

    def _prepared(self, params) -> dict:
        if "_groups" in params:
            return params["_groups"]
        return self._em_prepare(params)["_groups"]

    @staticmethod
    def _group_cache(cache, name):
        """The group's own per-chunk cache (its keys never meet another's)."""
        return sub_cache(cache, ("group", name))

    @staticmethod
    def _group_columns(X, index, cache, name):
        """The group's columns of a chunk: a C-ordered copy kept in the
        fit-long memo within its budget (the families' products then read
        contiguous rows on every pass, and no pass copies them again)."""
        return memoized(
            cache,
            ("columns", name),
            lambda: np.ascontiguousarray(X[:, index]),
            large=True,
        )

    def _observed_rows(self, Xg, cache, name):
        """Rows of a chunk with an observed value in the group (None: all)."""
        if not self._supports_missing_fitted():
            return None

        def compute():
            observed = ~np.isnan(Xg).all(axis=1)
            return None if observed.all() else np.flatnonzero(observed)

        return memoized(cache, ("observed", name), compute)

    def _supports_missing_fitted(self) -> bool:
        return all(est._supports_missing for _, est, _ in self._groups())

    def _group_log_prob(self, est, Xg, rows, params, cache, weighted: bool):
        fn = est._weighted_log_prob if weighted else est._component_log_prob
        if rows is None:
            return fn(Xg, params, cache)
        # Rows without an observed value of the group: it adds nothing.
        out = np.zeros((Xg.shape[0], self.n_components), dtype=Xg.dtype)
        if weighted:
            with np.errstate(divide="ignore"):
                out += np.log(params["weights"]).astype(Xg.dtype)
        if rows.size:
            out[rows] = fn(Xg[rows], params, cache)
        return out

    def _weighted_log_prob(self, X, params, cache=None):
        prepared = self._prepared(params)
        log_prob = None
        for name, est, index in self._groups():
            sub_cache = self._group_cache(cache, name)
            Xg = self._group_columns(X, index, cache, name)
            rows = self._observed_rows(Xg, cache, name)
            # The first group adds the log-weights, its own fast way.
            part = self._group_log_prob(
                est, Xg, rows, prepared[name], sub_cache, weighted=log_prob is None
            )
            if log_prob is None:
                log_prob = part
            else:
                log_prob += part
        return log_prob

    def _component_log_prob(self, X, params, cache=None):
        prepared = self._prepared(params)
        log_prob = np.zeros((X.shape[0], self.n_components), dtype=X.dtype)
        for name, est, index in self._groups():
            Xg = self._group_columns(X, index, cache, name)
            rows = self._observed_rows(Xg, cache, name)
            log_prob += self._group_log_prob(
                est, Xg, rows, prepared[name], self._group_cache(cache, name), False
            )
        return log_prob

    def _component_stats(self, X, resp, params, cache=None) -> dict:
        prepared = self._prepared(params)
        stats = {}
        all_rows_nk = None
        for name, est, index in self._groups():
            Xg = self._group_columns(X, index, cache, name)
            rows = self._observed_rows(Xg, cache, name)
            r = resp
            if rows is not None:
                Xg, r = Xg[rows], resp[rows]
            sub = dict(
                est._component_stats(
                    Xg, r, prepared[name], self._group_cache(cache, name)
                )
            )
            # The group's own mass: rows where it has an observed value (the
            # same sum for every group observed in all rows: taken once).
            if rows is not None:
                sub["nk"] = np.ones(r.shape[0], dtype=r.dtype) @ r
            else:
                if all_rows_nk is None:
                    all_rows_nk = np.ones(r.shape[0], dtype=r.dtype) @ r
                sub["nk"] = all_rows_nk.copy()
            stats.update(self._prefixed(sub, name))
        return stats

    def _conditional_means(self, X, params, cache):
        prepared = self._prepared(params)
        out = np.repeat(X[:, np.newaxis, :], self.n_components, axis=1)
        for name, est, index in self._groups():
            Xg = X[:, index]
            rows = self._observed_rows(Xg, cache, name)
            sub_cache = self._group_cache(cache, name)
            if rows is None:
                out[:, :, index] = est._conditional_means(Xg, prepared[name], sub_cache)
                continue
            if rows.size:
                cols = np.arange(X.shape[1])[index]
                out[np.ix_(rows, np.arange(self.n_components), cols)] = (
                    est._conditional_means(Xg[rows], prepared[name], sub_cache)
                )
            empty = np.setdiff1d(np.arange(X.shape[0]), rows)
            if empty.size:
                # Nothing of the group observed: the family's own fill of rows
                # with all its entries missing (its components' means).
                out[
                    np.ix_(
                        empty,
                        np.arange(self.n_components),
                        np.arange(X.shape[1])[index],
                    )
                ] = self._unconditional_means(est, Xg[empty], prepared[name])
        return out

    def _unconditional_means(self, est, Xg, params):
        """Component means of a group for rows with none of its values."""
        cache: dict = {}
        est._weighted_log_prob(Xg, params, cache)
        return est._conditional_means(Xg, params, cache)

    # ------------------------------------------------------------- M-step
    def _component_mstep(self, stats, params):
        new = {}
        for name, est, _ in self._groups():
            prefix = name + SEP
            sub_stats = {
                key[len(prefix) :]: value
                for key, value in stats.items()
                if key.startswith(prefix)
            }
            sub_params = None if params is None else self._sub_params(params, name)
            new.update(
                self._prefixed(est._component_mstep(sub_stats, sub_params), name)
            )
        return new

    def _project_params(self, params):
        out = dict(params)
        for name, est, _ in self._groups():
            sub = est._project_params(self._sub_params(params, name))
            out.update(self._prefixed(sub, name))
        return out

    def _em_row_bytes(self, X, params) -> int:
        k, itemsize = self.n_components, X.dtype.itemsize
        own = itemsize * (X.shape[1] + 2 * k)  # a group's columns, the sum
        # The groups run one after the other, each one's (n, K) temporaries
        # freed before the next: the largest group's count, not their sum
        # (measured on 200,000 rows of 3 groups, 2 cores: chunks of 16,667
        # rows 1.1-1.2x faster than of 8,334; per-chunk calls of every group).
        largest = 0
        for _, est, index in self._groups():
            shape = np.empty((0, X.shape[1]), dtype=X.dtype)[:, index]
            largest = max(largest, est._em_row_bytes(shape, None))
        return int(own + largest)

    # ------------------------------------------------------- fitted state
    def _em_store(self, params):
        super()._em_store(params)
        if not (hasattr(self, "_group_index") or hasattr(self, "n_features_in_")):
            return  # parameters set before any data: the groups come at fit
        for name, est, _ in self._groups():
            est._em_store(self._sub_params(params, name))
            est.n_features_in_ = int(self.columns_[name].size)

    def _n_free_parameters(self, group: str, value) -> int:
        name, own = group.split(SEP, 1)
        return self.named_estimators_[name]._n_free_parameters(own, value)

    def _free_parametrisation(self, group: str, value):
        name, own = group.split(SEP, 1)
        return self.named_estimators_[name]._free_parametrisation(own, value)

    def _sample_component(self, rng, params, k: int, n_samples: int):
        out = np.empty((n_samples, self.n_features_in_), dtype=np.float64)
        for name, est, index in self._groups():
            out[:, index] = est._sample_component(
                rng, self._sub_params(params, name), k, n_samples
            )
        return out

    # --------------------------------------------------------- description
    def _describe_component(self, k: int) -> str:
        parts = [f"weight {float(self.weights_[k]):.3f}"]
        for name, est, _ in self._groups():
            parts.append(f"{name}: {_strip_weight(est._describe_component(k))}")
        return "; ".join(parts)

    def _group_of(self, feature: int):
        for name, est, index in self._groups():
            cols = self.columns_[name]
            if feature in cols:
                return name, est, index, cols
        raise ValueError(
            f"feature {feature} is not a column of X (it has {self.n_features_in_})."
        )

    def _local_features(self, features):
        """The group of ``features[0]`` and the features of it, as its positions."""
        name, est, index, cols = self._group_of(int(features[0]))
        local = [int(np.flatnonzero(cols == f)[0]) for f in features if f in cols]
        return name, est, index, cols, local

    def _drawn_columns(self, features) -> list[int]:
        _, est, _, cols, local = self._local_features(features)
        return [int(cols[j]) for j in est._drawn_columns(local)]

    def _plot_components(self, X, ax, features, names):
        """Draw the group of ``features[0]`` with its family's own drawing
        (its other features among ``features`` too; points coloured by that
        group's most probable component)."""
        _, est, index, cols, local = self._local_features(features)
        if names is None:
            names = estimator_feature_names(self)
        if names is None:
            names = [f"feature {j}" for j in range(X.shape[1])]
        sub_names = [str(names[j]) for j in cols]
        if len(local) == 1 and cols.size > 1:
            other = next(j for j in range(cols.size) if j != local[0])
            local = [local[0], other]
        return est._plot_components(X[:, index], ax, tuple(local), sub_names)
