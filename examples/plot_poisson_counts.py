"""
Poisson mixture on counts
=========================

Counts from three groups with different rates (2, 8 and 20 events), mixed
together. :class:`~emmix.PoissonMixture` recovers the rates and the group
sizes without knowing which count came from which group.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from emmix import PoissonMixture
from emmix.datasets import make_poisson_mixture
from emmix.plotting import plot_convergence, plot_mixture

X, y = make_poisson_mixture(
    500, rates=[2.0, 8.0, 20.0], weights=[0.5, 0.3, 0.2], random_state=0
)
model = PoissonMixture(n_components=3, n_init=3, random_state=0).fit(X)

order = np.argsort(model.rates_[:, 0])
print("rates:  ", model.rates_[order, 0].round(2))
print("weights:", model.weights_[order].round(3))
print("log-likelihood:", round(model.score(X) * len(X), 2))

# %%
# The bars are the observed frequency of each count, the black line the
# fitted mixture's expected frequency, the dashed lines its components.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
plot_mixture(model, X, axes[0])
plot_convergence(model, axes[1])

# %%
# The posterior probabilities say how sure the model is about each count's
# group: a count of 5 lies between the first two groups.
counts = np.array([[0], [5], [12], [30]])
print(model.predict_proba(counts)[:, order].round(3))
