"""select_n_components never shows K + 1 below K (split starts, dip flag)."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from emmix import GaussianMixtureEM, PoissonMixture
from emmix._split import fit_from_split, split_start
from emmix.model_selection import _dips, select_n_components


@pytest.mark.parametrize("seed", [0, 2])
def test_iris_log_likelihood_never_dips(seed):
    # The case: fresh fits alone gave K=7 below K=6 (seed 0) and
    # K=8 below K=7 (seed 2).
    X = load_iris().data
    fresh = [
        GaussianMixtureEM(k, n_init=3, random_state=seed).fit(X).score(X) * len(X)
        for k in range(1, 10)
    ]
    assert np.any(np.diff(fresh) < 0)  # the local optimum the issue reported
    selection = select_n_components(
        GaussianMixtureEM(n_init=3, random_state=seed), X, range(1, 10)
    )
    table = selection.table_
    ll = table["log_likelihood"].to_numpy()
    assert np.all(np.diff(ll) >= 0)
    assert not table["dip"].any()
    assert table["from_split"].any()
    # each row is never worse than the fresh fit of the same K
    assert np.all(ll >= np.asarray(fresh) - 1e-9 * np.abs(fresh))
    # and the kept estimators are what the table says
    for k, est in zip(range(1, 10), selection.estimators_, strict=True):
        assert est.n_components == k
        assert table.loc[k, "log_likelihood"] == pytest.approx(est.score(X) * len(X))


def test_split_start_is_generic_and_weighted():
    rng = np.random.RandomState(0)
    X = np.concatenate(
        [
            rng.poisson(2.0, (200, 2)),
            rng.poisson(9.0, (200, 2)),
            rng.poisson(20, (100, 2)),
        ]
    ).astype(float)
    w = rng.randint(1, 3, size=len(X))
    one = PoissonMixture(2, random_state=0).fit(X, sample_weight=w)
    params = split_start(one, X, w, random_state=0)
    assert params["rates"].shape == (3, 2)
    assert params["weights"].sum() == pytest.approx(1.0)
    grown = fit_from_split(one, X, w, random_state=0)
    assert grown.n_components == 3 and grown.warm_start is False
    assert grown.score(X) >= one.score(X)
    assert grown.get_params() == one.set_params(n_components=3).get_params()


def test_dips_flag_only_real_dips():
    candidates = np.array([1, 2, 3, 5])
    assert _dips(candidates, [-10.0, -8.0, -8.5, -7.0]) == [False, False, True, False]
    assert _dips(candidates, [-10.0, np.nan, -9.0, -11.0]) == [
        False,
        False,
        False,
        True,
    ]


def test_mixed_types_with_categories_grow_by_splits():
    # The K + 1 start needs what the fit learned of the columns (the groups,
    # the categories of the answers): every K fits and none dips.
    from emmix import MixedTypeMixture

    rng = np.random.default_rng(3)
    z = rng.integers(0, 3, 600)
    X = np.column_stack(
        [
            np.array([0.0, 4.0, 8.0])[z] + rng.normal(size=600),
            (z + (rng.random(600) < 0.2)) % 3,
        ]
    )
    est = MixedTypeMixture(
        columns=[("gaussian", [0]), ("categorical", [1])], random_state=0
    )
    selection = select_n_components(est, X, range(1, 6), error_score="raise")
    assert selection.best_n_components_ == 3
    log_likelihoods = [est.score(X) for est in selection.estimators_]
    assert not any(_dips(selection.n_components_, log_likelihoods))
