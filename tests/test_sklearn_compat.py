"""The details a user switching from scikit-learn's GaussianMixture meets.

Each expectation is scikit-learn's own behaviour, observed by running
:class:`sklearn.mixture.GaussianMixture` on the same input (not copied text).
"""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import GaussianMixture

from emmix import GaussianMixtureEM

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def data(n=60, d=2, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(n // 2, d), rng.randn(n - n // 2, d) + 5])
    return X.astype(dtype)


def message_of(estimator, method, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            getattr(estimator, method)(*args)
        except (ValueError, NotFittedError) as exc:
            return type(exc), str(exc)
    raise AssertionError(f"{estimator!r}.{method} raised nothing")


def bad_inits():
    d, k = 2, 2
    not_pd = np.stack([np.eye(d), np.ones((d, d))])
    not_pd[0, 0, 0] = -1.0
    cases = [
        ("full", {"weights_init": np.full((k, 1), 0.5)}),
        ("full", {"weights_init": np.array([1.2, 1.7])}),
        ("full", {"weights_init": np.array([0.2, 0.3])}),
        ("full", {"means_init": np.zeros((k + 1, d))}),
        ("full", {"precisions_init": np.ones((k + 1, d, d))}),
        ("tied", {"precisions_init": np.ones((d + 1, d + 1))}),
        ("diag", {"precisions_init": np.ones((k + 1, d))}),
        ("spherical", {"precisions_init": np.ones(k + 1)}),
        ("full", {"precisions_init": not_pd}),
        ("tied", {"precisions_init": not_pd[0]}),
        ("diag", {"precisions_init": np.full((k, d), -1.0)}),
        ("spherical", {"precisions_init": np.full(k, -1.0)}),
    ]
    return [
        pytest.param(c, kw, id=f"{c}-{next(iter(kw))}-{i}")
        for i, (c, kw) in enumerate(cases)
    ]


@pytest.mark.parametrize("covariance_type, init", bad_inits())
def test_init_errors_contain_scikit_learns_text(covariance_type, init):
    X = data()
    params = dict(n_components=2, covariance_type=covariance_type, **init)
    kind, theirs = message_of(GaussianMixture(**params), "fit", X)
    our_kind, ours = message_of(GaussianMixtureEM(**params), "fit", X)
    assert our_kind is kind
    assert theirs in ours
    # ... and ours says which of our parameters to change.
    assert next(iter(init)) in ours or "precision' should be" in ours


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_singular_and_not_fitted_errors_contain_scikit_learns_text(dtype):
    X = np.vstack([np.ones((5, 3)), np.zeros((5, 3))]).astype(dtype)
    params = dict(n_components=2, reg_covar=0.0, random_state=0)
    _, theirs = message_of(GaussianMixture(**params), "fit", X)
    _, ours = message_of(GaussianMixtureEM(**params), "fit", X)
    assert theirs in ours
    for method in ("predict", "score", "score_samples", "predict_proba"):
        _, theirs = message_of(GaussianMixture(), method, X)
        _, ours = message_of(GaussianMixtureEM(), method, X)
        assert theirs in ours
    _, theirs = message_of(GaussianMixture(), "sample", 1)
    _, ours = message_of(GaussianMixtureEM(), "sample", 1)
    assert theirs in ours


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", ["kmeans", "random", "random_from_data"])
def test_fewer_distinct_rows_than_components_fitted_like_scikit_learn(
    covariance_type, init_params
):
    X = np.repeat([[0.0, 1.0], [3.0, -1.0]], 5, axis=0)
    params = dict(
        n_components=10,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = GaussianMixture(**params).fit(X)
    with pytest.warns(ConvergenceWarning, match="larger than the number of distinct"):
        gm = GaussianMixtureEM(**params).fit(X)
    # The same optimum: components on a point have variances near reg_covar
    # (precisions near 1e6), which magnify rounding, hence the tolerances.
    assert gm.score(X) == pytest.approx(ref.score(X), rel=1e-6)
    np.testing.assert_array_equal(gm.predict(X), ref.predict(X))
    np.testing.assert_allclose(gm.weights_, ref.weights_, atol=1e-8)
    used = ref.weights_ > 1e-6
    np.testing.assert_allclose(gm.means_[used], ref.means_[used], atol=1e-6)
    covariances, ref_covariances = gm.covariances_, ref.covariances_
    if covariance_type != "tied":
        covariances, ref_covariances = covariances[used], ref_covariances[used]
    np.testing.assert_allclose(covariances, ref_covariances, rtol=1e-3, atol=1e-8)
    # A component that k-means gives no row at all (weight ~1e-16) sits at the data's
    # mean, where scikit-learn's sits at the origin (docs: differences).
    empty = ref.weights_ < 1e-12 if init_params == "kmeans" else []
    expected = np.broadcast_to(X.mean(0), gm.means_[empty].shape)
    np.testing.assert_allclose(gm.means_[empty], expected, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_score_is_the_mean_in_the_datas_dtype(dtype):
    X = data(n=501, d=3, dtype=dtype)
    gm = GaussianMixtureEM(2, random_state=0).fit(X)
    ref = GaussianMixture(2, random_state=0).fit(X)
    log_prob = gm.score_samples(X)
    assert log_prob.dtype == dtype
    # scikit-learn's score: float(score_samples(X).mean()), bit for bit.
    assert gm.score(X) == float(log_prob.mean())
    assert ref.score(X) == float(ref.score_samples(X).mean())
    assert isinstance(gm.lower_bound_, np.floating)
    assert isinstance(ref.lower_bound_, np.floating)


def test_convergence_warning_is_attributed_to_the_library():
    X = data()
    # scikit-learn's warning is attributed to its module, so a filter on the
    # module silences it; ours to emmix's, so the same kind of filter works.
    for estimator, module in (
        (GaussianMixture(2, max_iter=1, random_state=0), r"sklearn\.mixture"),
        (GaussianMixtureEM(2, max_iter=1, random_state=0), r"emmix\."),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.filterwarnings(
                "ignore", category=ConvergenceWarning, module=module
            )
            estimator.fit(X)
        assert not [w for w in caught if w.category is ConvergenceWarning]
    with pytest.warns(ConvergenceWarning) as caught:
        GaussianMixtureEM(2, max_iter=1, random_state=0).fit(X)
    assert re.search(r"emmix[/\\]", caught[0].filename)


def test_pickled_state_like_scikit_learns():
    X = data()
    gm = GaussianMixtureEM(2, random_state=0, verbose=0).fit(X)
    ref = GaussianMixture(2, random_state=0).fit(X)
    state = gm.__getstate__()
    assert state["_sklearn_version"] == ref.__getstate__()["_sklearn_version"]
    assert not {"_init_time", "_iter_time"} & set(state)
    again = pickle.loads(pickle.dumps(gm))
    assert not hasattr(again, "_sklearn_version")
    np.testing.assert_array_equal(again.means_, gm.means_)


def test_invalid_parameter_names_our_class():
    with pytest.raises(ValueError, match="parameter of GaussianMixtureEM must be"):
        GaussianMixtureEM(covariance_type="bad").fit(data())
