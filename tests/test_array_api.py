"""GaussianMixtureEM under array_api_dispatch: computed in the input's namespace.

Every result is compared with the numpy path on the same data and start (in
float64 to 1e-10), and checked to be an array of the input's namespace and
device. Namespaces: array-api-strict (in the test extra) always; PyTorch on
the CPU, and on CUDA, and CuPy, where installed.
"""

from __future__ import annotations

import importlib.util
import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.utils._array_api import device as array_device
from sklearn.utils._array_api import get_namespace, move_to

from emmix import GaussianMixtureEM

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
INITS = ["kmeans", "k-means++", "random", "random_from_data"]


def _namespaces():
    out = []
    if importlib.util.find_spec("array_api_strict") is not None:
        out.append(("array_api_strict", None))
    if importlib.util.find_spec("torch") is not None:
        out.append(("torch", "cpu"))
        import torch

        if torch.cuda.is_available():
            out.append(("torch", "cuda"))
    if importlib.util.find_spec("cupy") is not None:
        out.append(("cupy", None))
    return out


NAMESPACES = _namespaces()
pytestmark = pytest.mark.skipif(not NAMESPACES, reason="no Array API namespace")


@pytest.fixture(autouse=True)
def _dispatch_allowed(monkeypatch):
    # scikit-learn refuses array_api_dispatch unless SCIPY_ARRAY_API=1 is set;
    # it reads the variable when dispatch is turned on. The emmix path does
    # not hand namespace arrays to scipy, so setting it here is enough (the
    # subprocess of tests/test_sklearn_suite.py sets it before any import).
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")


def to_xp(name, device, a):
    if name == "array_api_strict":
        import array_api_strict

        return array_api_strict.asarray(a)
    if name == "torch":
        import torch

        return torch.asarray(a, device=device)
    import cupy

    return cupy.asarray(a)


def to_np(a):
    return move_to(a, xp=np, device="cpu")


def blobs(n=400, d=3, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    centres = np.array([[0.0] * d, [4.0] * d, [0.0, 5.0] + [-3.0] * (d - 2)])
    labels = rng.randint(0, 3, n)
    return (centres[labels] + rng.randn(n, d) * (0.5 + labels[:, None])).astype(dtype)


def assert_same_namespace(result, X):
    assert get_namespace(result)[0] is get_namespace(X)[0]
    assert array_device(result) == array_device(X)


@pytest.mark.parametrize("namespace, device", NAMESPACES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("init_params", INITS)
def test_float64_equals_numpy_path(namespace, device, covariance_type, init_params):
    X = blobs()
    params = dict(
        n_components=3,
        covariance_type=covariance_type,
        init_params=init_params,
        random_state=0,
        tol=1e-10,
        max_iter=25,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        ref = GaussianMixtureEM(**params).fit(X)
        Xx = to_xp(namespace, device, X)
        with sklearn.config_context(array_api_dispatch=True):
            gm = GaussianMixtureEM(**params).fit(Xx)
            proba = gm.predict_proba(Xx)
            labels = gm.predict(Xx)
            log_prob = gm.score_samples(Xx)
            score, bic, aic = gm.score(Xx), gm.bic(Xx), gm.aic(Xx)
            drawn, drawn_labels = gm.sample(50)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_same_namespace(getattr(gm, name), Xx)
        np.testing.assert_allclose(
            to_np(getattr(gm, name)), getattr(ref, name), rtol=1e-10, atol=1e-10
        )
    np.testing.assert_allclose(to_np(gm.precisions_), ref.precisions_, rtol=1e-10)
    assert gm.n_iter_ == ref.n_iter_
    # The first bound is that of the start, which with one seed row per
    # component (k-means++, random_from_data) has covariances near reg_covar:
    # a log-likelihood near -1e7 made of cancelling terms.
    assert gm.lower_bounds_[0] == pytest.approx(ref.lower_bounds_[0], rel=1e-9)
    np.testing.assert_allclose(gm.lower_bounds_[1:], ref.lower_bounds_[1:], rtol=1e-10)
    for result in (proba, labels, log_prob, drawn, drawn_labels):
        assert_same_namespace(result, Xx)
    np.testing.assert_allclose(to_np(proba), ref.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(to_np(labels), ref.predict(X))
    np.testing.assert_allclose(to_np(log_prob), ref.score_samples(X), rtol=1e-10)
    for value, expected in (
        (score, ref.score(X)),
        (bic, ref.bic(X)),
        (aic, ref.aic(X)),
    ):
        assert isinstance(value, float)
        assert value == pytest.approx(expected, rel=1e-10)
    ref_drawn, ref_labels = ref.sample(50)
    np.testing.assert_allclose(to_np(drawn), ref_drawn, rtol=1e-10)
    np.testing.assert_array_equal(to_np(drawn_labels), ref_labels)


@pytest.mark.parametrize("namespace, device", NAMESPACES)
@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_kmeans_starts_under_dispatch(namespace, device, init_params):
    """scikit-learn raises NotImplementedError here; we fit, as the numpy path.

    The replacement of scikit-learn's
    test_gaussian_mixture_raises_where_array_api_not_implemented (same data
    shape, covariance type and starts).
    """
    rng = np.random.RandomState(1)
    X = np.vstack([rng.randn(40, 2) + c for c in ([0, 0], [6, 0], [0, 6])])
    params = dict(n_components=3, covariance_type="diag", init_params=init_params)
    ref = GaussianMixtureEM(**params, random_state=3).fit(X)
    Xx = to_xp(namespace, device, X)
    with sklearn.config_context(array_api_dispatch=True):
        gm = GaussianMixtureEM(**params, random_state=3).fit(Xx)
        # numpy input under dispatch takes the numpy path (scikit-learn
        # refuses this start there too).
        also = GaussianMixtureEM(**params, random_state=3).fit(X)
    np.testing.assert_allclose(to_np(gm.means_), ref.means_, rtol=1e-10)
    np.testing.assert_allclose(to_np(gm.covariances_), ref.covariances_, rtol=1e-10)
    np.testing.assert_array_equal(also.means_, ref.means_)


@pytest.mark.parametrize("namespace, device", NAMESPACES)
def test_kmeans_plusplus_seeds_match_scikit_learn(namespace, device):
    from sklearn.cluster import kmeans_plusplus

    from emmix.mixture._gaussian_xp import kmeans_plusplus_indices

    for seed in range(6):
        X = blobs(n=300, d=4, seed=seed)
        weights = np.random.RandomState(seed).rand(300) if seed % 2 else np.ones(300)
        _, expected = kmeans_plusplus(
            X, 6, random_state=np.random.RandomState(seed), sample_weight=weights
        )
        Xx = to_xp(namespace, device, X)
        with sklearn.config_context(array_api_dispatch=True):
            xp, _ = get_namespace(Xx)
            got = kmeans_plusplus_indices(
                xp,
                Xx,
                6,
                to_xp(namespace, device, weights),
                np.random.RandomState(seed),
            )
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("namespace, device", NAMESPACES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_sample_weight_hard_fixed_and_inits(namespace, device, covariance_type):
    X = blobs(seed=2)
    weights = np.random.RandomState(0).randint(0, 4, X.shape[0]).astype(float)
    ref_gm = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0)
    ref_gm.fit(X)
    variants = [
        ({"init_params": "k-means++"}, weights),
        ({"init_params": "random_from_data", "assignment": "hard"}, None),
        (
            {
                "means_init": ref_gm.means_,
                "weights_init": ref_gm.weights_,
                "precisions_init": ref_gm.precisions_,
                "fixed_params": {"means"},
            },
            weights,
        ),
    ]
    for extra, sample_weight in variants:
        params = dict(
            n_components=3,
            covariance_type=covariance_type,
            random_state=0,
            max_iter=15,
            **extra,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
            ref = GaussianMixtureEM(**params).fit(X, sample_weight=sample_weight)
            Xx = to_xp(namespace, device, X)
            w = (
                None
                if sample_weight is None
                else to_xp(namespace, device, sample_weight)
            )
            with sklearn.config_context(array_api_dispatch=True):
                gm = GaussianMixtureEM(**params).fit(Xx, sample_weight=w)
                score = gm.score(Xx, sample_weight=w)
        np.testing.assert_allclose(to_np(gm.means_), ref.means_, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            to_np(gm.covariances_), ref.covariances_, rtol=1e-10, atol=1e-12
        )
        assert score == pytest.approx(
            ref.score(X, sample_weight=sample_weight), rel=1e-10
        )


@pytest.mark.parametrize("namespace, device", NAMESPACES)
def test_float32_stays_float32(namespace, device):
    X = blobs(dtype=np.float32)
    ref = GaussianMixtureEM(3, random_state=0).fit(X)
    Xx = to_xp(namespace, device, X)
    with sklearn.config_context(array_api_dispatch=True):
        xp, _ = get_namespace(Xx)
        gm = GaussianMixtureEM(3, random_state=0).fit(Xx)
        log_prob = gm.score_samples(Xx)
    assert gm.means_.dtype == xp.float32 and log_prob.dtype == xp.float32
    np.testing.assert_allclose(to_np(gm.means_), ref.means_, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("namespace, device", NAMESPACES)
def test_partial_fit_and_pickle(namespace, device):
    X = blobs(seed=3)
    ref = GaussianMixtureEM(3, random_state=0)
    Xx = to_xp(namespace, device, X)
    with sklearn.config_context(array_api_dispatch=True):
        gm = GaussianMixtureEM(3, random_state=0)
        for part in range(4):
            rows = slice(100 * part, 100 * (part + 1))
            ref.partial_fit(X[rows])
            gm.partial_fit(Xx[rows, ...])
    np.testing.assert_allclose(to_np(gm.means_), ref.means_, rtol=1e-10)
    if namespace != "array_api_strict":  # its arrays do not pickle
        again = pickle.loads(pickle.dumps(gm))
        np.testing.assert_array_equal(to_np(again.means_), to_np(gm.means_))


@pytest.mark.parametrize("namespace, device", NAMESPACES)
def test_unsupported_under_dispatch_are_clear(namespace, device):
    X = blobs()
    Xx = to_xp(namespace, device, X)
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(NotImplementedError, match="accelerate='squarem'"):
            GaussianMixtureEM(2, accelerate="squarem").fit(Xx)
        with pytest.raises(NotImplementedError, match="covariance_type='VEV'"):
            GaussianMixtureEM(2, covariance_type="VEV").fit(Xx)
        X_nan = X.copy()
        X_nan[3, 1] = np.nan
        with pytest.raises(ValueError, match=r"NaN.*numpy array"):
            GaussianMixtureEM(2).fit(to_xp(namespace, device, X_nan))
        with pytest.raises(ValueError, match="The parameter 'means' should have"):
            GaussianMixtureEM(2, means_init=np.zeros((3, 3))).fit(Xx)
        with pytest.raises(ValueError, match="n_components = 5, n_samples = 4"):
            GaussianMixtureEM(5).fit(Xx[:4, ...])


def test_numpy_input_under_dispatch_takes_the_numpy_path():
    X = blobs()
    ref = GaussianMixtureEM(3, random_state=0).fit(X)
    with sklearn.config_context(array_api_dispatch=True):
        gm = GaussianMixtureEM(3, random_state=0).fit(X)
    assert isinstance(gm.means_, np.ndarray)
    np.testing.assert_array_equal(gm.means_, ref.means_)
