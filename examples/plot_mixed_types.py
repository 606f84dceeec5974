"""
Mixed data types: measurements, counts and yes/no answers
=========================================================

Patients of three hidden profiles answer a survey: two measurements (blood
pressure and a lab value, Gaussian), a number of visits last year (Poisson)
and two yes/no questions (smoker, on medication). Given the profile the
columns are independent, each of its own type: this is a latent class model
with mixed indicators. :class:`~emmix.MixedTypeMixture` fits it with one
latent class over groups of columns, each modelled by its own family
(:class:`~emmix.GaussianMixtureEM`, :class:`~emmix.PoissonMixture`,
:class:`~emmix.CoinMixture`), and with 15% of the answers missing.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from emmix import MixedTypeMixture
from emmix.model_selection import select_n_components
from emmix.plotting import plot_mixture

rng = np.random.RandomState(0)
n = 1500
profile = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
means = np.array([[120.0, 4.0], [140.0, 6.0], [160.0, 5.0]])
sds = np.array([[8.0, 0.6], [10.0, 0.8], [12.0, 0.7]])
visits = np.array([1.0, 4.0, 10.0])
smoker = np.array([0.15, 0.5, 0.7])
medication = np.array([0.05, 0.6, 0.9])
data = pd.DataFrame(
    {
        "pressure": rng.normal(means[profile, 0], sds[profile, 0]),
        "lab": rng.normal(means[profile, 1], sds[profile, 1]),
        "visits": rng.poisson(visits[profile]).astype(float),
        "smoker": rng.binomial(1, smoker[profile]).astype(float),
        "medication": rng.binomial(1, medication[profile]).astype(float),
    }
)
data = data.mask(rng.rand(*data.shape) < 0.15)  # 15% missing answers (NaN)
print(data.head())

# %%
# Each group of columns names its family; its options go with it. The
# number of profiles is chosen by BIC.
columns = {
    "gaussian": (["pressure", "lab"], {"covariance_type": "diag"}),
    "poisson": ["visits"],
    "coin": ["smoker", "medication"],
}
selection = select_n_components(
    MixedTypeMixture(columns=columns, n_init=3, random_state=0),
    data,
    n_components=range(1, 6),
)
model = selection.best_estimator_
print("BIC chooses K =", selection.best_n_components_)

# %%
# Each group's parameters are those of a fitted estimator of its family;
# the mixing weights are shared.
groups = model.named_estimators_
order = np.argsort(groups["gaussian"].means_[:, 0])
print("weights:        ", model.weights_[order].round(3))
print("mean pressure:  ", groups["gaussian"].means_[order, 0].round(1))
print("visits per year:", groups["poisson"].rates_[order, 0].round(2))
print("P(smoker):      ", groups["coin"].probs_[order, 0].round(2))
print("P(medication):  ", groups["coin"].probs_[order, 1].round(2))
for k in order:
    print(model._describe_component(k))

# %%
# Each group is drawn by its own family: the Gaussian measurements as
# ellipses (points coloured by the measurements' most probable profile), the
# visits as observed against fitted frequencies (of the rows that answered).
# For the scatter, missing measurements are filled with their
# posterior-weighted conditional means (``impute``).
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
plot_mixture(model, model.impute(data), axes[0], features=(0, 1))
plot_mixture(model, data, axes[1], features=(2,))
plt.show()
