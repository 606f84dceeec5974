"""
Latent class analysis of survey answers
=======================================

Eight yes/no questions answered by 1500 people who belong to three unseen
groups with different answer profiles. :class:`~emmix.CategoricalMixture`
(latent class analysis, as R's ``poLCA``) takes the answers as strings,
chooses the number of classes by BIC, and recovers each class's probability
of answering "yes" to every question. Some answers are missing: they are
integrated out of the likelihood.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from emmix import CategoricalMixture
from emmix.datasets import make_latent_class

p_yes = np.array(
    [
        [0.9, 0.9, 0.8, 0.9, 0.2, 0.1, 0.2, 0.1],  # class A
        [0.9, 0.8, 0.2, 0.1, 0.8, 0.9, 0.2, 0.2],  # class B
        [0.1, 0.2, 0.1, 0.2, 0.2, 0.1, 0.9, 0.8],  # class C
    ]
)
codes, y = make_latent_class(1500, p_yes, weights=[0.5, 0.3, 0.2], random_state=0)
questions = [f"Q{j + 1}" for j in range(codes.shape[1])]
answers = pd.DataFrame(np.where(codes == 1, "yes", "no"), columns=questions)
# One answer in twenty is missing.
answers = answers.mask(np.random.RandomState(1).uniform(size=answers.shape) < 0.05)

# %%
# BIC over the number of classes: the lowest is the model to keep.
n_classes = range(1, 6)
models = [
    CategoricalMixture(k, n_init=3, random_state=0).fit(answers) for k in n_classes
]
bic = [m.bic(answers) for m in models]
best = models[int(np.argmin(bic))]
print("BIC:", np.round(bic, 1))
print("classes:", best.n_components, " weights:", best.weights_.round(3))
print("entropy R^2:", round(best.entropy_r2(answers), 3))

# %%
# The profile plot: each class's probability of "yes" to each question
# (dashed: the probabilities the answers were drawn from).
yes = best.categories_[0].tolist().index("yes")
fitted = np.array([p[:, yes] for p in best.category_probs_]).T
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
axes[0].plot(list(n_classes), bic, marker="o")
axes[0].set_xlabel("number of classes")
axes[0].set_ylabel("BIC (lower is better)")
axes[0].set_title("choosing the number of classes")
for k in np.argsort(-best.weights_):
    (line,) = axes[1].plot(
        questions,
        fitted[k],
        marker="o",
        label=f"class {k + 1} ({best.weights_[k]:.0%})",
    )
    true = np.argmin(np.abs(p_yes - fitted[k]).sum(axis=1))
    axes[1].plot(questions, p_yes[true], linestyle="--", color=line.get_color())
axes[1].set_ylim(0, 1)
axes[1].set_ylabel('probability of "yes"')
axes[1].set_title("latent class profiles")
axes[1].legend(fontsize="small")
fig.suptitle("Latent class analysis of eight yes/no questions")

# %%
# Each person's posterior class probabilities; a missing answer simply does
# not count, and :meth:`~emmix.CategoricalMixture.impute` fills it with its
# most probable value given the other answers.
gaps = answers[answers.isna().any(axis=1)].head(3)
print(gaps)
print(best.predict_proba(gaps).round(3))
print(best.impute(gaps))
