"""
The two-coin problem
====================

Two coins of unknown bias; in each of five rounds one of them (we do not know
which) is tossed ten times, giving 5, 9, 8, 4 and 7 heads. Which coin is more
likely to show heads, and how likely? This is the example of Do and Batzoglou
(2008), "What is the expectation maximization algorithm?". The fit below comes
from :func:`emmix.cli.cases.two_coins`, which ``emmix demo`` runs too.
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from emmix import CoinMixture
from emmix.cli.cases import two_coins
from emmix.plotting import plot_convergence, plot_mixture

# %%
# As in the paper, both coins are picked with probability 1/2 (the weights are
# held fixed) and EM starts at P(heads) = 0.6 for coin A and 0.5 for coin B:
# ``CoinMixture(2, n_trials=10, weights_init=[0.5, 0.5], probs_init=[[0.6],
# [0.5]], fixed_params={"weights"}, tol=1e-8, max_iter=1000)``.
heads, coins = two_coins()
print("heads per round:", heads[:, 0])
print("P(heads):", coins.probs_[:, 0].round(3))
print("P(coin A | round):", coins.predict_proba(heads)[:, 0].round(2))

# %%
# Ten iterations give the paper's answer, 0.80 and 0.52:
ten = CoinMixture(
    2,
    n_trials=10,
    weights_init=[0.5, 0.5],
    probs_init=[[0.6], [0.5]],
    fixed_params={"weights"},
    tol=0.0,
    max_iter=10,
    accelerate=None,  # ten plain EM iterations, as in the paper
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # stopped on purpose
    ten.fit(heads)
print("after 10 iterations:", ten.probs_[:, 0].round(2))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
fig.suptitle("The two-coin problem: heads per round, and EM's progress")
plot_mixture(coins, heads, axes[0])
plot_convergence(coins, axes[1])

# %%
# Letting EM estimate how often each coin is picked as well gives a slightly
# different answer (the likelihood is higher, with one more parameter):
free = CoinMixture(2, n_trials=10, tol=1e-8, max_iter=1000, random_state=0)
free.fit(heads)
print("P(heads):", free.probs_[:, 0].round(3), "weights:", free.weights_.round(3))
