"""The progress line of a running fit, and estimator subclasses that feed it."""

from __future__ import annotations

import math
import sys
import time

import numpy as np

#: Seconds a fit must run before the progress line appears (short fits stay quiet).
PROGRESS_DELAY = 0.5
#: Shortest time between two refreshes of the progress line.
PROGRESS_INTERVAL = 0.1


class Progress:
    """One self-overwriting line with the state of a running fit.

    It appears only when the fit has run longer than :data:`PROGRESS_DELAY`
    seconds, only on a terminal, and never with ``--quiet``: piped or
    redirected output stays free of carriage returns.

    Parameters
    ----------
    stream : file-like, default=sys.stdout
        Where to draw.
    enabled : bool, default=True
        False turns the display off whatever the stream.
    """

    def __init__(self, stream=None, enabled: bool = True):
        self.stream = sys.stdout if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled and isatty is not None and isatty())
        self.label = ""
        self.started = time.perf_counter()
        self.last_draw = -math.inf
        self.width = 0
        self._estimator = None
        self.run = 0
        self.iteration = 0

    def task(self, label: str) -> None:
        """Start a new task: the progress line's prefix."""
        self.label = label
        self.started = time.perf_counter()
        self._estimator = None

    def start_run(self, estimator) -> None:
        """An EM run (one of ``n_init``) starts on ``estimator``."""
        if estimator is not self._estimator:
            self._estimator, self.run = estimator, 0
        self.run += 1
        self.iteration = 0

    def iteration_done(self, estimator, log_likelihood: float) -> None:
        """One EM iteration ended with this mean log-likelihood per sample."""
        self.iteration += 1
        if not self.enabled:
            return
        now = time.perf_counter()
        if (
            now - self.started < PROGRESS_DELAY
            or now - self.last_draw < PROGRESS_INTERVAL
        ):
            return
        self.last_draw = now
        k = getattr(estimator, "n_components", None)
        parts = [self.label] if self.label else []
        if k is not None:
            parts.append(f"K={k}")
        n_init = getattr(estimator, "n_init", 1)
        if n_init > 1:
            parts.append(f"run {self.run}/{n_init}")
        parts.append(f"iteration {self.iteration}")
        parts.append(f"log-likelihood {log_likelihood:.6g} per sample")
        text = "  ".join(parts)
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def close(self) -> None:
        """Erase the line, so the next output starts on a clean line."""
        if self.enabled and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
        self.width = 0


def watched(cls, progress: Progress):
    """A subclass of ``cls`` that reports each EM run and iteration to ``progress``.

    The engine's per-pass hooks (``_em_initialize`` starts a run, ``_em_pass`` is
    one E-step over all rows) are wrapped, so the engine itself needs no
    callback argument, and clones made by :func:`select_n_components` report
    too. The subclass keeps the name of ``cls``.
    """

    class Watched(cls):
        def _em_initialize(self, X, sample_weight, random_state):
            progress.start_run(self)
            return super()._em_initialize(X, sample_weight, random_state)

        def _em_pass(self, X, sample_weight, params):
            stats, loglik = super()._em_pass(X, sample_weight, params)
            total = float(np.sum(sample_weight, dtype=np.float64))
            progress.iteration_done(self, loglik / total if total else math.nan)
            return stats, loglik

    Watched.__name__ = cls.__name__
    Watched.__qualname__ = cls.__qualname__
    Watched.__doc__ = cls.__doc__
    return Watched
