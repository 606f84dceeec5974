"""partial_fit: stepwise (online) EM over a stream of batches."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from emmix import CoinMixture, GaussianMixtureEM, PoissonMixture
from emmix.datasets import make_coin_rounds, make_poisson_mixture


def draw_gaussian(n, rng):
    means = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
    covs = [
        np.array([[1.0, 0.5], [0.5, 1.0]]),
        0.5 * np.eye(2),
        np.array([[2.0, -0.6], [-0.6, 1.0]]),
    ]
    counts = rng.multinomial(n, [0.5, 0.3, 0.2])
    X = np.concatenate(
        [
            rng.multivariate_normal(means[k], covs[k], size=c)
            for k, c in enumerate(counts)
        ]
    )
    return X[rng.permutation(n)]


def batches_from_generator(rng, n_batches, size):
    """A stream that never holds more than one batch in memory."""
    for _ in range(n_batches):
        yield draw_gaussian(size, rng)


def test_one_pass_within_two_percent_of_batch_fit():
    # The target: 60,000 points in 110 mini-batches, one pass.
    rng = np.random.RandomState(0)
    X = draw_gaussian(60_000, rng)
    X_test = draw_gaussian(20_000, rng)
    batch = GaussianMixtureEM(3, random_state=0).fit(X)
    stream = GaussianMixtureEM(3, random_state=0)
    for chunk in np.array_split(X, 110):
        stream.partial_fit(chunk)
    gap = (batch.score(X_test) - stream.score(X_test)) / abs(batch.score(X_test))
    assert gap < 0.02
    assert stream.n_iter_ == 110
    assert len(stream.lower_bounds_) == 110


def test_stream_from_generator_recovers_components():
    rng = np.random.RandomState(1)
    model = GaussianMixtureEM(3, random_state=0)
    for chunk in batches_from_generator(rng, n_batches=60, size=500):
        model.partial_fit(chunk)
    order = np.argsort(model.weights_)[::-1]
    assert_allclose(model.weights_[order], [0.5, 0.3, 0.2], atol=0.03)
    assert_allclose(model.means_[order[0]], [0.0, 0.0], atol=0.1)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_stream_far_from_origin_keeps_precision(covariance_type):
    # Statistics are taken around a pinned reference, so an offset of 1e6
    # must not cost digits.
    rng = np.random.RandomState(2)
    X = draw_gaussian(20_000, rng)
    a = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0)
    b = GaussianMixtureEM(3, covariance_type=covariance_type, random_state=0)
    for chunk in np.array_split(X, 40):
        a.partial_fit(chunk)
        b.partial_fit(chunk + 1e6)
    assert_allclose(b.means_ - 1e6, a.means_, atol=1e-6)
    assert_allclose(b.covariances_, a.covariances_, rtol=1e-6)


def test_poisson_and_coin_streams_approach_batch_fit():
    X, _ = make_poisson_mixture(
        n_samples=20_000, rates=[2.0, 9.0], weights=[0.6, 0.4], random_state=0
    )
    batch = PoissonMixture(2, random_state=0).fit(X)
    stream = PoissonMixture(2, random_state=0)
    for chunk in np.array_split(X, 50):
        stream.partial_fit(chunk)
    assert_allclose(
        np.sort(stream.rates_.ravel()), np.sort(batch.rates_.ravel()), rtol=0.03
    )

    X, _ = make_coin_rounds(
        n_rounds=20_000,
        n_trials=10,
        probs=[0.2, 0.8],
        weights=[0.5, 0.5],
        random_state=0,
    )
    batch = CoinMixture(2, n_trials=10, random_state=0).fit(X)
    stream = CoinMixture(2, n_trials=10, random_state=0)
    for chunk in np.array_split(X, 50):
        stream.partial_fit(chunk)
    assert_allclose(
        np.sort(stream.probs_.ravel()), np.sort(batch.probs_.ravel()), atol=0.01
    )


def test_fit_after_partial_fit_starts_afresh():
    rng = np.random.RandomState(3)
    X = draw_gaussian(3000, rng)
    model = GaussianMixtureEM(3, random_state=0)
    model.partial_fit(X[:1000])
    model.partial_fit(X[1000:2000])
    model.fit(X)
    fresh = GaussianMixtureEM(3, random_state=0).fit(X)
    assert_allclose(model.means_, fresh.means_)
    model.partial_fit(X[:500])  # a new stream after fit
    assert model.n_iter_ == 1


def test_partial_fit_checks_feature_count():
    rng = np.random.RandomState(4)
    model = GaussianMixtureEM(2, random_state=0).partial_fit(draw_gaussian(100, rng))
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(np.ones((10, 3)))


def test_fixed_weights_held_in_stream():
    rng = np.random.RandomState(5)
    X = draw_gaussian(4000, rng)
    model = GaussianMixtureEM(
        3, weights_init=[0.2, 0.3, 0.5], fixed_params={"weights"}, random_state=0
    )
    for chunk in np.array_split(X, 8):
        model.partial_fit(chunk)
    assert_allclose(model.weights_, [0.2, 0.3, 0.5])
