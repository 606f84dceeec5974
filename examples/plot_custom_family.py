"""
Writing your own family: a mixture of exponentials
==================================================

emmix does not ship a mixture of exponential distributions; here is one,
written on the public family interface :class:`emmix.base.BaseMixture` with
public imports only. It says what a component is (its log-density, its
sufficient statistics, its M-step) and gets everything else from the engine:
starts and restarts, sample weights, chunked passes on all cores, hard EM,
``fixed_params``, SQUAREM, ``partial_fit``, Dask arrays, BIC, and the
scikit-learn API. It then passes scikit-learn's ``check_estimator`` and
emmix's own conformance check of the EM rules,
:func:`~emmix.utils.estimator_checks.check_em_family`.

Within component ``k`` every feature ``j`` of a row is exponential with rate
``lambda_kj``: ``log p(x | k) = sum_j log lambda_kj - lambda_kj x_j``; the
statistics are ``N_k = sum_i r_ik`` (added by the engine) and
``S_kj = sum_i r_ik x_ij``; the M-step is ``lambda_kj = N_k / S_kj``.
"""

# %%
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from sklearn.utils.estimator_checks import check_estimator

from emmix.base import BaseMixture
from emmix.utils.estimator_checks import check_em_family

# %%
# The family, in 29 lines (20 without blank lines), public imports only.


class ExponentialMixture(BaseMixture):
    """Mixture of independent exponential distributions (rates ``rates_``)."""

    _parameter_groups = ("rates",)
    _non_negative_data = True  # negative values are refused before any work

    def __init__(self, n_components=1, *, rate_floor=1e-10, **params):
        super().__init__(n_components, **params)
        self.rate_floor = rate_floor

    def _component_log_prob(self, X, params, cache=None):
        rates = params["rates"]
        return np.sum(np.log(rates), axis=1) - X @ rates.T

    def _component_stats(self, X, resp, params, cache=None):
        return {"sum_x": resp.T @ X}

    def _component_mstep(self, stats, params):
        nk = stats["nk"][:, np.newaxis] + 10 * np.finfo(float).eps
        return {"rates": np.maximum(nk / stats["sum_x"], self.rate_floor)}

    def _project_params(self, params):
        return {**params, "rates": np.maximum(params["rates"], self.rate_floor)}

    def _sample_component(self, rng, params, k, n_samples):
        rates = params["rates"][k]
        return rng.exponential(1.0 / rates, size=(n_samples, rates.size))


# %%
# Fit it on waiting times from two sources, one with mean 1 and one with
# mean 10 (rates 1 and 0.1), mixed 70 / 30.
rng = np.random.RandomState(0)
X = np.concatenate([rng.exponential(1.0, 700), rng.exponential(10.0, 300)])[:, None]
# A tight tolerance: EM crawls when components overlap (see the user guide).
model = ExponentialMixture(2, n_init=3, tol=1e-10, max_iter=5000, random_state=0)
model.fit(X)
order = np.argsort(model.rates_[:, 0])
print("rates:  ", model.rates_[order, 0].round(3))
print("weights:", model.weights_[order].round(3))
print(
    "BIC for K = 1, 2, 3:",
    [round(ExponentialMixture(k, random_state=0).fit(X).bic(X), 1) for k in (1, 2, 3)],
)

# %%
# The same numbers as a direct maximisation of the likelihood with scipy.


def negative_log_likelihood(theta):
    weight, rates = expit(theta[0]), np.exp(theta[1:])
    log_w = np.log([weight, 1 - weight])
    log_p = np.log(rates) - X * rates + log_w
    return -logsumexp(log_p, axis=1).sum()


best = minimize(
    negative_log_likelihood,
    [0.0, 0.0, -2.0],
    method="Nelder-Mead",
    options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 10_000},
)
print("direct optimum log-likelihood:", round(-best.fun, 6))
print("EM log-likelihood:            ", round(model.score(X) * len(X), 6))

# %%
# The family passes scikit-learn's estimator checks and emmix's EM rules
# (statistics additive over chunks, integer weights equal repeated rows, the
# log-likelihood never decreasing, SQUAREM, partial_fit, Dask, pickling...).
check_estimator(ExponentialMixture())
check_em_family(ExponentialMixture(n_components=2), X)
print("check_estimator and check_em_family passed")

# %%
# It fits a Dask array where its blocks live, with the in-memory numbers.
blocks = da.from_array(X, chunks=250)
on_dask = ExponentialMixture(n_components=2, random_state=0).fit(blocks)
print("Dask fit rates:", np.sort(on_dask.rates_[:, 0]).round(3))

# %%
# A histogram of the data and the fitted mixture density.
grid = np.linspace(0, np.percentile(X, 99), 400)[:, None]
fig, ax = plt.subplots(figsize=(6, 4))
ax.hist(
    X[:, 0], bins=80, range=(0, grid[-1, 0]), density=True, color="0.8", label="data"
)
ax.plot(grid, np.exp(model.score_samples(grid)), color="black", label="mixture")
ax.set_xlabel("waiting time")
ax.set_ylabel("density")
ax.set_yscale("log")
ax.set_title("A user-written family: mixture of two exponentials")
ax.legend()
plt.show()
