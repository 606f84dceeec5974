"""
Choosing the number of components
=================================

Three ways to choose K for a mixture, on data with three well-separated
groups: BIC and AIC on the training data (lower is better), and the mean
held-out log-likelihood per sample by cross-validation (higher is better).
The first two are totals over the rows, the last a per-row mean: the numbers
are not comparable across methods, only the chosen K is.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emmix import GaussianMixtureEM, PoissonMixture
from emmix.datasets import make_poisson_mixture
from emmix.model_selection import bic_scorer, select_n_components
from emmix.plotting import plot_criterion

X, _ = make_blobs(400, centers=[[0, 0], [10, 0], [0, 10]], random_state=0)
estimator = GaussianMixtureEM(random_state=0)

fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
fig.suptitle("Choosing the number of components: BIC, AIC and cross-validation")
for ax, criterion in zip(axes, ["bic", "aic", "cv"], strict=True):
    selection = select_n_components(estimator, X, range(1, 7), criterion=criterion)
    plot_criterion(selection, ax)
    print(criterion, "->", selection.best_n_components_)

# %%
# The table of one selection:
selection = select_n_components(estimator, X, range(1, 7), criterion="bic")
print(selection.table_.round(4).to_string())

# %%
# GridSearchCV works out of the box, alone or in a pipeline; its default
# score is the held-out mean log-likelihood.
pipe = make_pipeline(StandardScaler(), GaussianMixtureEM(random_state=0))
search = GridSearchCV(pipe, {"gaussianmixtureem__n_components": range(1, 7)})
search.fit(X)
print("GridSearchCV:", search.best_params_)

# %%
# For counts, an extra component can copy an existing one at almost no cost
# in held-out likelihood, so that curve is flat beyond the true K; BIC's
# penalty (here as a GridSearchCV scorer, computed on each held-out fold)
# settles it.
counts, _ = make_poisson_mixture(300, rates=[1, 10, 30], random_state=0)
for scoring in [None, bic_scorer]:
    search = GridSearchCV(
        PoissonMixture(random_state=0), {"n_components": range(1, 7)}, scoring=scoring
    ).fit(counts)
    name = "held-out log-likelihood" if scoring is None else "negated BIC"
    print(
        f"{name:>24}: K = {search.best_params_['n_components']}",
        search.cv_results_["mean_test_score"].round(3),
    )
