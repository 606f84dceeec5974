"""
Poisson mixture on counts
=========================

Counts from three groups with different rates (2, 8 and 20 events), mixed
together. :class:`~emmix.PoissonMixture` recovers the rates and the group
sizes without knowing which count came from which group. The counts and the
fit come from :func:`emmix.cli.cases.poisson_counts`, which ``emmix demo``
runs too: ``make_poisson_mixture(500, rates=[2, 8, 20], weights=[.5, .3, .2],
random_state=0)``, then ``PoissonMixture(n_init=3, random_state=0)`` with K
from 1 to 5 compared by BIC.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from emmix.cli.cases import poisson_counts
from emmix.plotting import plot_convergence, plot_mixture

case = poisson_counts()
X, model = case.X, case.selection.best_estimator_
print("BIC chooses K =", case.selection.best_n_components_)

order = np.argsort(model.rates_[:, 0])
print("rates:  ", model.rates_[order, 0].round(2))
print("weights:", model.weights_[order].round(3))
print("log-likelihood:", round(model.score(X) * len(X), 2))

# %%
# The bars are the observed frequency of each count, the black line the
# fitted mixture's expected frequency, the dashed lines its components.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
fig.suptitle("A Poisson mixture on counts from two groups")
plot_mixture(model, X, axes[0])
plot_convergence(model, axes[1])

# %%
# The posterior probabilities say how sure the model is about each count's
# group: a count of 5 lies between the first two groups.
counts = np.array([[0], [5], [12], [30]])
print(model.predict_proba(counts)[:, order].round(3))
