"""
Fourteen covariance structures on iris (mclust's models)
========================================================

mclust writes each component covariance as
:math:`\\Sigma_k = \\lambda_k D_k A_k D_k^T`: a volume :math:`\\lambda_k`, a
shape :math:`A_k` (diagonal, determinant 1) and an orientation :math:`D_k`
(orthogonal). Its fourteen models say, letter by letter, whether the volume,
the shape and the orientation are Equal across components, Variable, or the
Identity: ``EII``, ``VII``, ... ``VVV``. ``GaussianMixtureEM`` accepts every
one as ``covariance_type`` (scikit-learn's ``spherical``, ``diag``, ``tied``
and ``full`` are ``VII``, ``VVI``, ``EEE`` and ``VVV``), and
:func:`~emmix.model_selection.select_model` fits every structure for every
number of components and ranks them, like mclust's ``mclustBIC``.

emmix's BIC is scikit-learn's, :math:`-2 \\log L + p \\log n`, **lower is
better**; mclust reports :math:`2 \\log L - p \\log n`, higher is better: the
same numbers with the sign flipped. On iris mclust's best three are VEV,2
(-561.73), VEV,3 (-562.55) and VVV,2 (-574.02).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris

from emmix import GaussianMixtureEM
from emmix.mixture import COVARIANCE_STRUCTURES
from emmix.model_selection import select_model
from emmix.plotting import plot_mixture, plot_model_selection

X = load_iris().data

start = time.perf_counter()
result = select_model(
    GaussianMixtureEM(random_state=0, tol=1e-5, max_iter=1000),
    X,
    # mclust's default grid; n_jobs=2 would run the fits on two processes,
    # worth it beyond a few seconds of work
    {"covariance_type": list(COVARIANCE_STRUCTURES), "n_components": range(1, 10)},
)
print(f"{len(result.params_)} fits in {time.perf_counter() - start:.1f} s")
print(result.summary(5))

# %%
# The BIC of every structure against K (mclust's BIC plot, upside down: here
# the best model is the lowest point).
ax = plot_model_selection(result)
ax.figure.set_size_inches(8, 5)

# %%
# The table has one row per fit. ``start`` says where the kept fit began:
# its own start (the k-means responsibilities shared by every structure with
# the same K), or the solution of a structure it contains, whenever that
# climbed higher -- so a more general structure never shows a lower
# log-likelihood than one it contains.
table = result.table_
print(table.sort_values("bic").head(8).round(3).to_string(index=False))

# %%
# The chosen model: two components (setosa, and versicolor with virginica),
# with equal shapes but their own volumes and orientations.
best = result.best_estimator_
print("volumes", np.round(best.volume_, 4))
print("shapes", np.round(best.shape_, 4))
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
plot_mixture(best, X, axes[0], features=(0, 1), feature_names=load_iris().feature_names)
plot_mixture(best, X, axes[1], features=(2, 3), feature_names=load_iris().feature_names)
