"""
Bivariate normal data with missing values
=========================================

Forty pairs ``(x, y)`` from a bivariate normal distribution; ``y`` is missing
in the last twenty rows. :class:`~emmix.impute.MissingBivariateImputer`
estimates the means, standard deviations and correlation by EM, and fills each
missing ``y`` with its conditional expectation given ``x``. The data
(:func:`emmix.datasets.make_missing_normal` with ``random_state=0``) and the fit
come from :func:`emmix.cli.cases.missing_bivariate`, which ``emmix demo`` runs
too.
"""

# %%
import numpy as np

from emmix.cli.cases import missing_bivariate
from emmix.plotting import plot_convergence, plot_imputation

X, X_complete, imputer = missing_bivariate()
print(X[18:23])

print("means:      ", imputer.mean_.round(3))
print("std devs:   ", imputer.std_.round(3))
print("correlation:", round(float(imputer.correlation_[0, 1]), 3))
print("EM iterations:", imputer.n_iter_)

# %%
# The filled-in values lie on the regression line of ``y`` on ``x``; the
# dashed ellipse is the fitted normal distribution (2 standard deviations).
ax = plot_imputation(imputer, X, feature_names=["x", "y"])

# %%
# The observed-data log-likelihood increases at every iteration.
ax = plot_convergence(imputer)

# %%
# For comparison, the moments of the forty complete pairs before ``y`` was
# hidden:
print(
    "complete data: means",
    X_complete.mean(axis=0).round(3),
    "std",
    X_complete.std(axis=0).round(3),
    "corr",
    np.corrcoef(X_complete.T)[0, 1].round(3),
)
