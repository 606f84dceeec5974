"""
Streaming with partial_fit, and SQUAREM
=======================================

``partial_fit`` runs stepwise (online) EM: the model sees one batch at a time,
keeps only running sufficient statistics, and so fits data larger than memory
in one pass. Here the batches come from a generator that never holds more
than one batch; the held-out log-likelihood after each batch approaches that
of an ordinary fit on all the data.

``accelerate="squarem"`` speeds up EM where it crawls (heavily overlapping
components): the same optimum in a fraction of the passes over the data.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from emmix import GaussianMixtureEM, PoissonMixture

MEANS = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
COVS = [np.array([[1.0, 0.5], [0.5, 1.0]]), 0.5 * np.eye(2), np.diag([2.0, 1.0])]


def draw(n, rng):
    counts = rng.multinomial(n, [0.5, 0.3, 0.2])
    X = np.concatenate(
        [
            rng.multivariate_normal(MEANS[k], COVS[k], size=c)
            for k, c in enumerate(counts)
        ]
    )
    return X[rng.permutation(n)]


def stream(n_batches, size, seed=0):
    """Batches from a generator (a file reader would do the same)."""
    rng = np.random.RandomState(seed)
    for _ in range(n_batches):
        yield draw(size, rng)


X_test = draw(20_000, np.random.RandomState(1))
online = GaussianMixtureEM(n_components=3, random_state=0)
held_out = []
for batch in stream(n_batches=110, size=545):
    online.partial_fit(batch)
    held_out.append(online.score(X_test))

full = GaussianMixtureEM(n_components=3, random_state=0)
full.fit(np.concatenate(list(stream(n_batches=110, size=545))))
print(
    f"held-out log-likelihood: one pass {held_out[-1]:.4f}, batch fit "
    f"{full.score(X_test):.4f}"
)

# %%
rng = np.random.RandomState(0)
z = rng.rand(1000) < 0.4
counts = np.where(z, rng.poisson(1.3, 1000), rng.poisson(2.7, 1000))[:, None]
start = {"weights_init": [0.5, 0.5], "rates_init": [[1.0], [3.0]]}
plain = PoissonMixture(2, tol=1e-10, max_iter=100_000, accelerate=None, **start)
plain.fit(counts)
fast = PoissonMixture(2, tol=1e-10, max_iter=100_000, accelerate="squarem", **start)
fast.fit(counts)
print(f"passes over the data: EM {plain.n_iter_}, SQUAREM {fast.n_iter_}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
fig.suptitle("Stepwise EM over batches, and SQUAREM acceleration")
ax1.set_title("partial_fit: one pass over batches", fontsize="medium")
ax2.set_title("EM and SQUAREM to the same optimum", fontsize="medium")
ax1.plot(np.arange(1, len(held_out) + 1), held_out, label="partial_fit, one pass")
ax1.axhline(full.score(X_test), color="k", linestyle="--", label="fit on all data")
ax1.set(xlabel="batches seen", ylabel="held-out log-likelihood per row")
ax1.legend()
ax2.plot(plain.lower_bounds_, label=f"EM ({plain.n_iter_} passes)")
ax2.plot(fast.lower_bounds_, label=f"SQUAREM ({fast.n_iter_} passes)")
ax2.set(xscale="log", xlabel="recorded step", ylabel="log-likelihood per row")
ax2.ticklabel_format(axis="y", useOffset=False)
ax2.legend()
plt.show()
