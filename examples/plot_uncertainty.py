"""
Uncertainty of a mixture's estimates
====================================

How precise are a mixture's estimated weights and rates, and is a further
component supported by the data? :mod:`emmix.inference` answers with
asymptotic standard errors from the observed information, the nonparametric
and parametric bootstrap, and the bootstrap likelihood-ratio test of ``K``
against ``K + 1`` components. Here on counts from two groups with rates 2 and
8.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from emmix import PoissonMixture
from emmix.datasets import make_poisson_mixture
from emmix.inference import bootstrap, bootstrap_lrt, standard_errors

X, _ = make_poisson_mixture(600, rates=[2.0, 8.0], weights=[0.4, 0.6], random_state=0)
# PoissonMixture stops near the optimum by default (Aitken's rule).
model = PoissonMixture(n_components=2, random_state=0).fit(X)
order = np.argsort(model.rates_[:, 0])

# %%
# Standard errors three ways: they agree on a well-separated case.
info = standard_errors(model, X)
nonparametric = bootstrap(model, X, n_boot=100, random_state=0)
parametric = bootstrap(model, X, n_boot=100, kind="parametric", random_state=0)
for name, k in [("low", order[0]), ("high", order[1])]:
    print(
        f"rate {name}: {model.rates_[k, 0]:.3f}   se: information "
        f"{info['rates_'][k, 0]:.3f}, nonparametric "
        f"{nonparametric.standard_errors_['rates_'][k, 0]:.3f}, parametric "
        f"{parametric.standard_errors_['rates_'][k, 0]:.3f}"
    )

# %%
# The bootstrap draws of each rate, with the 95% percentile interval and the
# normal interval from the information-based standard error.
low, high = nonparametric.confidence_intervals(0.95)["rates_"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for ax, k in zip(axes, order, strict=True):
    draws = nonparametric.draws_["rates_"][:, k, 0]
    ax.hist(draws, bins=20, color="0.8", edgecolor="white")
    ax.axvline(model.rates_[k, 0], color="black", label="estimate")
    ax.axvspan(low[k, 0], high[k, 0], color="C0", alpha=0.2, label="bootstrap 95%")
    for sign in (-1, 1):
        ax.axvline(
            model.rates_[k, 0] + sign * 1.96 * info["rates_"][k, 0],
            color="C1",
            linestyle="--",
            label="information 95%" if sign < 0 else None,
        )
    ax.set_xlabel(f"rate of component {k + 1}")
axes[0].set_ylabel("bootstrap replicates")
axes[0].legend(loc="upper left", fontsize="small")

# %%
# Is a third component supported? The likelihood-ratio statistic has no
# chi-squared distribution here, so its null distribution is simulated from
# the two-component fit.
test = bootstrap_lrt(model, X, n_components=(2, 3), n_boot=19, random_state=0)
print(test)
test = bootstrap_lrt(model, X, n_components=(1, 2), n_boot=19, random_state=0)
print(test)
