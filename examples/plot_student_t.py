"""
Robust clustering with t components
===================================

Three groups of points with heavy-tailed (t, 4 degrees of freedom) spread,
plus 5% of far outliers scattered over a wide box. A Gaussian mixture must
explain the outliers with its means and covariances, so its components move
and swell. A mixture of multivariate t distributions,
:class:`~emmix.StudentTMixture`, gives each far point a small weight ``u`` in
its M-step (``u = (nu + d) / (nu + delta)``, with ``delta`` the point's
Mahalanobis distance) and keeps the groups where they are; it also estimates
how heavy each group's tails are (the degrees of freedom ``nu``).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from emmix import GaussianMixtureEM, StudentTMixture
from emmix.datasets import make_t_mixture
from emmix.plotting import plot_mixture

centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
X, y = make_t_mixture(950, centres, dofs=4.0, random_state=1)
outliers = np.random.RandomState(1).uniform(-60, 60, size=(50, 2))
X = np.vstack([X, outliers])

# Both fits start from the same point: the true centres, unit scales.
start = {
    "weights_init": np.full(3, 1 / 3),
    "means_init": centres,
    "precisions_init": np.stack([np.eye(2)] * 3),
}
t_mix = StudentTMixture(3, max_iter=500, **start).fit(X)
gauss = GaussianMixtureEM(3, max_iter=500, **start).fit(X)

for name, model in [("t", t_mix), ("Gaussian", gauss)]:
    error = np.abs(model.means_ - centres).max()
    print(f"{name:>8}: largest error of a centre {error:.2f}")
print("degrees of freedom:", t_mix.dofs_.round(2))

# %%
# One t component takes the outliers into its tails (its ``nu`` falls below
# 1, a very heavy tail) instead of moving its centre to them.

# %%
# The t mixture's ellipses (of its scale matrices) sit on the three groups;
# the Gaussian's are dragged and inflated by the outliers. Both panels show
# the central region; the outliers lie far beyond it.
fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
for ax, model, name in [
    (axes[0], t_mix, "t mixture"),
    (axes[1], gauss, "Gaussian mixture"),
]:
    plot_mixture(model, X, ax)
    ax.scatter(*centres.T, marker="x", color="black", s=80, label="true centres")
    ax.set_xlim(-12, 18)
    ax.set_ylim(-12, 18)
    ax.set_title(name)
fig.suptitle("Three groups and 5% far outliers: t versus Gaussian mixture")
plt.show()
