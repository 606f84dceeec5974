"""The conformance check of an EM family: :func:`check_em_family`.

scikit-learn's ``check_estimator`` tests the estimator API; this tests the
rules that make a family an EM family on emmix's engine (see
``shared/DESIGN.md``, "Invariants for every family"). Each rule is one small
check; a broken rule raises an ``AssertionError`` whose message starts with
``check_em_family(<Family>): <rule> is broken:`` and says what differed.

The rules:

* ``statistics are sums over rows``: the E-step statistics and
  log-likelihood of all rows equal the sums over three row blocks, and a fit
  in small chunks (``working_memory``) equals the one-shot fit;
* ``a fused E-step equals the hooks' E-step``: where a family computes a
  chunk's whole E-step by a faster route (``_em_fused_estep``), its
  statistics and log-likelihood equal the hooks' (with and without sample
  weights);
* ``integer sample_weight equals repeated rows``;
* ``the log-likelihood never decreases`` across iterations;
* ``more restarts are never worse``;
* ``fit_predict equals fit().predict``;
* ``predict_proba rows sum to one`` (and ``predict`` is their argmax);
* ``fitted parameters are finite and valid``;
* ``SQUAREM keeps parameters valid`` (and the log-likelihood non-decreasing);
* ``one partial_fit from a start is one EM step from it``;
* ``a Dask fit equals the in-memory fit`` (when Dask is installed);
* ``a pickle round trip changes nothing``;
* ``missing values are declared`` (NaN is refused unless the family
  supports it; then it fits);
* ``fixed groups do not count as parameters``.

Every check that compares two fits starts both from the same parameters (the
family's own start, drawn once), so the comparison tests the rule and not the
starts.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from functools import partial

import numpy as np
from sklearn import config_context
from sklearn.base import clone

__all__ = ["check_em_family"]

#: Relative tolerance of comparisons that differ only by rounding.
RTOL = 1e-7


class _FixedStart:
    """A start hook that returns the same parameters on every call (picklable)."""

    def __init__(self, params: dict):
        self.params = params

    def __call__(self, X, sample_weight, random_state):
        return {key: np.array(value, copy=True) for key, value in self.params.items()}


def _fail(estimator, rule: str, detail: str):
    raise AssertionError(
        f"check_em_family({type(estimator).__name__}): {rule} is broken: {detail}"
    )


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of short fits
        return fn(*args, **kwargs)


def _start(estimator, X):
    """The family's own start on X, drawn once (``random_state=0``)."""
    probe = clone(estimator).set_params(max_iter=0, n_init=1, random_state=0)
    _quiet(probe.fit, X)
    return probe._em_load()


def _from(estimator, start, **params):
    """A clone that starts every run from ``start``."""
    est = clone(estimator).set_params(n_init=1, random_state=0, **params)
    est._em_initialize = _FixedStart(start)
    return est


def _group_arrays(estimator) -> dict:
    return {key: np.asarray(value) for key, value in estimator._em_load().items()}


def _compare(estimator, rule, one: dict, two: dict, rtol=RTOL, what="parameter"):
    for key in one:
        a = np.asarray(one[key], dtype=np.float64)
        b = np.asarray(two[key], dtype=np.float64)
        scale = max(float(np.max(np.abs(a))) if a.size else 0.0, 1e-300)
        if a.shape != b.shape or not np.allclose(a, b, rtol=rtol, atol=rtol * scale):
            diff = float(np.max(np.abs(a - b))) if a.shape == b.shape else np.nan
            _fail(
                estimator,
                rule,
                f"{what} {key!r} differs (largest difference {diff:.3g}, "
                f"shapes {a.shape} and {b.shape}).",
            )


# ---------------------------------------------------------------- the checks
def check_statistics_additive(estimator, X):
    rule = "statistics are sums over rows"
    n = X.shape[0]
    fitted = _quiet(clone(estimator).set_params(max_iter=3, random_state=0).fit, X)
    w = np.ones(n, dtype=X.dtype)
    params = fitted._em_prepare(fitted._em_load())
    whole, loglik = fitted._em_estep(X, w, params)
    parts = [
        fitted._em_estep(X[rows], w[rows], params)
        for rows in np.array_split(np.arange(n), 3)
    ]
    summed = {
        key: sum(np.asarray(part[0][key], dtype=np.float64) for part in parts)
        for key in whole
    }
    _compare(fitted, rule, whole, summed, rtol=1e-9, what="statistic")
    total = sum(float(part[1]) for part in parts)
    if not np.isclose(float(loglik), total, rtol=1e-9, atol=1e-9):
        _fail(fitted, rule, f"log-likelihood {loglik!r} != sum of blocks {total!r}.")
    start = _start(estimator, X)
    one_shot = _quiet(_from(estimator, start, tol=0.0, max_iter=5).fit, X)
    rows = max(n // 5, 1)
    memory = one_shot._em_row_bytes(X, None) * rows / 2**20
    with config_context(working_memory=memory):
        chunked = _quiet(_from(estimator, start, tol=0.0, max_iter=5).fit, X)
    _compare(estimator, rule, _group_arrays(one_shot), _group_arrays(chunked))


def check_fused_estep(estimator, X):
    rule = "a fused E-step equals the hooks' E-step"
    n = X.shape[0]
    fitted = _quiet(clone(estimator).set_params(max_iter=3, random_state=0).fit, X)
    params = fitted._em_prepare(fitted._em_load())
    weights = np.random.RandomState(0).randint(0, 3, size=n).astype(X.dtype)
    for w in (np.ones(n, dtype=X.dtype), weights):
        stats, loglik = fitted._em_estep(X, w, params)
        # The instance attribute hides the family's fused route.
        fitted._em_fused_estep = lambda *args: None
        try:
            by_hooks, loglik_hooks = fitted._em_estep(X, w, params)
        finally:
            del fitted._em_fused_estep
        _compare(fitted, rule, by_hooks, stats, rtol=1e-9, what="statistic")
        if not np.isclose(float(loglik), float(loglik_hooks), rtol=1e-9, atol=1e-9):
            _fail(fitted, rule, f"log-likelihood {loglik!r} != {loglik_hooks!r}.")


def check_integer_weights_are_repeats(estimator, X):
    rule = "integer sample_weight equals repeated rows"
    rng = np.random.RandomState(0)
    weights = rng.randint(1, 4, size=X.shape[0])
    weights[rng.rand(X.shape[0]) < 0.1] = 0
    start = _start(estimator, X)
    weighted = _quiet(
        _from(estimator, start, tol=0.0, max_iter=10).fit, X, sample_weight=weights
    )
    repeated = _quiet(
        _from(estimator, start, tol=0.0, max_iter=10).fit,
        np.repeat(X, weights, axis=0),
    )
    _compare(estimator, rule, _group_arrays(weighted), _group_arrays(repeated))


def check_log_likelihood_never_decreases(estimator, X):
    rule = "the log-likelihood never decreases"
    est = _quiet(_from(estimator, _start(estimator, X), tol=0.0, max_iter=30).fit, X)
    bounds = np.asarray(est.lower_bounds_, dtype=np.float64)
    drops = np.diff(bounds)
    worst = int(np.argmin(drops)) if drops.size else 0
    if drops.size and drops[worst] < -1e-9 * (1.0 + abs(bounds[worst + 1])):
        _fail(
            est,
            rule,
            f"iteration {worst + 2} lowered the mean log-likelihood from "
            f"{bounds[worst]!r} to {bounds[worst + 1]!r}.",
        )


def check_more_restarts_never_worse(estimator, X):
    rule = "more restarts are never worse"
    one = _quiet(clone(estimator).set_params(n_init=1, random_state=0).fit, X)
    three = _quiet(clone(estimator).set_params(n_init=3, random_state=0).fit, X)
    if three.lower_bound_ < one.lower_bound_ - 1e-12 * abs(one.lower_bound_):
        _fail(
            one,
            rule,
            f"n_init=3 ended at {three.lower_bound_!r}, below n_init=1's "
            f"{one.lower_bound_!r} from the same random_state.",
        )


def check_fit_predict(estimator, X):
    rule = "fit_predict equals fit().predict"
    for max_iter in (1, 100):
        est = clone(estimator).set_params(random_state=0, max_iter=max_iter)
        labels = _quiet(est.fit_predict, X)
        again = _quiet(clone(est).fit, X).predict(X)
        if not np.array_equal(labels, again):
            _fail(
                est,
                rule,
                f"with max_iter={max_iter}, {int(np.sum(labels != again))} labels "
                "differ.",
            )


def check_predict_proba(estimator, X):
    rule = "predict_proba rows sum to one"
    est = _quiet(clone(estimator).set_params(random_state=0).fit, X)
    proba = est.predict_proba(X)
    if proba.shape != (X.shape[0], est.n_components):
        _fail(est, rule, f"predict_proba has shape {proba.shape}.")
    if not np.all((proba >= 0) & (proba <= 1)):
        _fail(est, rule, "a probability lies outside [0, 1].")
    sums = proba.sum(axis=1, dtype=np.float64)
    if not np.allclose(
        sums, 1.0, rtol=0, atol=1e-6 if X.dtype == np.float32 else 1e-12
    ):
        _fail(est, rule, f"row sums range from {sums.min()!r} to {sums.max()!r}.")
    if not np.array_equal(est.predict(X), np.argmax(proba, axis=1)):
        _fail(est, rule, "predict is not the argmax of predict_proba.")


def _check_valid(est, rule):
    for key, value in est._em_load().items():
        if not np.all(np.isfinite(value)):
            _fail(est, rule, f"parameter {key!r} has non-finite entries.")
    weights = np.asarray(est.weights_, dtype=np.float64)
    if np.any(weights <= 0) or not np.isclose(weights.sum(), 1.0, rtol=1e-6):
        _fail(est, rule, f"weights_ {weights} are not a positive simplex point.")


def check_fitted_parameters_valid(estimator, X):
    rule = "fitted parameters are finite and valid"
    _check_valid(_quiet(clone(estimator).set_params(random_state=0).fit, X), rule)


def check_squarem_valid(estimator, X):
    rule = "SQUAREM keeps parameters valid"
    est = _from(
        estimator, _start(estimator, X), tol=0.0, max_iter=30, accelerate="squarem"
    )
    est = _quiet(est.fit, X)
    _check_valid(est, rule)
    bounds = np.asarray(est.lower_bounds_, dtype=np.float64)
    if bounds.size > 1 and np.min(np.diff(bounds)) < -1e-9 * (
        1.0 + np.max(np.abs(bounds))
    ):
        _fail(est, rule, "the log-likelihood decreased along the SQUAREM steps.")


def check_partial_fit_is_em_step(estimator, X):
    rule = "one partial_fit from a start is one EM step from it"
    start = _start(estimator, X)
    streamed = _quiet(_from(estimator, start).partial_fit, X)
    stepped = _from(estimator, start, tol=0.0, max_iter=1, accelerate=None)
    stepped = _quiet(stepped.fit, X)
    _compare(estimator, rule, _group_arrays(stepped), _group_arrays(streamed))


def check_dask_fit(estimator, X):
    rule = "a Dask fit equals the in-memory fit"
    try:
        import dask
        import dask.array as da
    except ImportError:  # pragma: no cover - Dask is optional
        return
    start = _start(estimator, X)
    in_memory = _quiet(_from(estimator, start, tol=0.0, max_iter=5).fit, X)
    blocks = da.from_array(X, chunks=(-(-X.shape[0] // 3), X.shape[1]))
    with dask.config.set(scheduler="synchronous"):
        distributed = _quiet(_from(estimator, start, tol=0.0, max_iter=5).fit, blocks)
        labels = distributed.predict(blocks).compute()
    _compare(estimator, rule, _group_arrays(in_memory), _group_arrays(distributed))
    if not np.array_equal(labels, in_memory.predict(X)):
        _fail(estimator, rule, "predict on the Dask array differs.")


def check_pickle_round_trip(estimator, X):
    rule = "a pickle round trip changes nothing"
    est = _quiet(clone(estimator).set_params(random_state=0).fit, X)
    copy = pickle.loads(pickle.dumps(est))
    for method in ("score_samples", "predict_proba", "predict"):
        if not np.array_equal(getattr(est, method)(X), getattr(copy, method)(X)):
            _fail(est, rule, f"{method} differs after pickling.")


def check_missing_values_declared(estimator, X):
    rule = "missing values are declared"
    holes = np.array(X, dtype=np.float64, copy=True)
    rng = np.random.RandomState(0)
    # One missing entry in about 5% of the rows, never a whole row.
    rows = np.flatnonzero(rng.rand(X.shape[0]) < 0.05)[: max(X.shape[0] // 10, 1)]
    holes[rows, rng.randint(X.shape[1], size=rows.size)] = np.nan
    if X.shape[1] == 1:
        holes = holes[~np.isnan(holes).all(axis=1)]
        holes[0, 0] = np.nan
        holes = np.vstack([holes, X[:1]])
    est = clone(estimator).set_params(random_state=0)
    if not est._supports_missing:
        try:
            _quiet(est.fit, holes)
        except ValueError as exc:
            if "NaN" not in str(exc):
                _fail(est, rule, f"NaN was refused without naming it: {exc}")
            return
        _fail(est, rule, "NaN was accepted although _supports_missing is False.")
    if X.shape[1] == 1:
        return  # a 1-column row with NaN has nothing observed
    est = _quiet(
        _from(estimator, _start(estimator, X), tol=0.0, max_iter=20).fit, holes
    )
    _check_valid(est, rule)
    bounds = np.asarray(est.lower_bounds_, dtype=np.float64)
    if np.min(np.diff(bounds)) < -1e-9 * (1.0 + np.max(np.abs(bounds))):
        _fail(est, rule, "the log-likelihood decreased with missing values.")


def check_fixed_groups_not_counted(estimator, X):
    rule = "fixed groups do not count as parameters"
    est = _quiet(clone(estimator).set_params(random_state=0, max_iter=2).fit, X)
    total = est._n_parameters()
    for group, keys in est._em_groups().items():
        held = _quiet(
            clone(estimator)
            .set_params(random_state=0, max_iter=2, fixed_params={group})
            .fit,
            X,
        )
        removed = total - held._n_parameters()
        expected = (
            est.n_components - 1
            if group == "weights"
            else est._n_free_parameters(group, getattr(est, keys[0] + "_"))
        )
        if removed != expected or expected <= 0:
            _fail(
                est,
                rule,
                f"holding {group!r} fixed removed {removed} parameters, not "
                f"{expected}.",
            )


CHECKS: tuple[Callable, ...] = (
    check_statistics_additive,
    check_fused_estep,
    check_integer_weights_are_repeats,
    check_log_likelihood_never_decreases,
    check_more_restarts_never_worse,
    check_fit_predict,
    check_predict_proba,
    check_fitted_parameters_valid,
    check_squarem_valid,
    check_partial_fit_is_em_step,
    check_dask_fit,
    check_pickle_round_trip,
    check_missing_values_declared,
    check_fixed_groups_not_counted,
)


def check_em_family(estimator, X, *, generate_only: bool = False):
    """Check that a mixture family keeps the rules of EM on emmix's engine.

    Parameters
    ----------
    estimator : BaseMixture instance
        An unfitted estimator of the family, with the parameters to check
        (e.g. ``GaussianMixtureEM(3, covariance_type="diag")``).
    X : array-like of shape (n_samples, n_features)
        Valid data for the family (a few hundred rows suffice), with at least
        ``n_components`` distinct rows and no missing values.
    generate_only : bool, default=False
        If True, return a generator of ``(estimator, check)`` pairs, each
        ``check()`` running one rule (for ``pytest.mark.parametrize``),
        instead of running them.

    Returns
    -------
    checks : generator or None
        With ``generate_only=True``.

    Raises
    ------
    AssertionError
        Naming the family and the broken rule.
    TypeError
        If ``estimator`` is not a mixture on emmix's engine.

    Examples
    --------
    >>> import numpy as np
    >>> from emmix import PoissonMixture
    >>> from emmix.utils.estimator_checks import check_em_family
    >>> X = np.random.RandomState(0).poisson([[2.0], [9.0]] * 100)
    >>> check_em_family(PoissonMixture(n_components=2), X)
    """
    from ..base import BaseMixture

    if not isinstance(estimator, BaseMixture):
        raise TypeError(
            "check_em_family checks mixture families (subclasses of "
            f"emmix.base.BaseMixture), not {type(estimator).__name__}."
        )
    X = np.asarray(X, dtype=np.float64) if not hasattr(X, "dtype") else np.asarray(X)
    checks = ((estimator, partial(check, estimator, X)) for check in CHECKS)
    if generate_only:
        return checks
    for _, check in checks:
        check()
    return None
