"""A family written on the public interface only, as in the gallery.

Shared by the tests of the interface and of the mixed-type mixture (a test
module cannot import the gallery's example).
"""

import numpy as np

from emmix.base import BaseMixture

__all__ = ["ExponentialMixture"]


class ExponentialMixture(BaseMixture):
    _parameter_groups = ("rates",)
    _non_negative_data = True

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
