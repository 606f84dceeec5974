"""Models that travel: ``emmix fit --save`` writes a skops file, and
``emmix predict`` / ``emmix score`` read it back.

skops is imported when a model is saved or loaded (it is not a dependency of
emmix): without it the command says in one line how to install it. A model
is loaded with :func:`skops.io.load` trusting the emmix estimator classes
only, so a file that holds anything else is refused before it is built.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np

from ._errors import CLIError, one_line

SKOPS_HINT = "pip install skops"

#: The estimators a model file may hold.
MODEL_CLASSES = (
    "CategoricalMixture",
    "CoinMixture",
    "GaussianMixtureEM",
    "MixedTypeMixture",
    "PoissonMixture",
    "StudentTMixture",
)
#: Containers a model may hold besides emmix classes (MixedTypeMixture's
#: ``named_estimators_`` is a scikit-learn Bunch, a dict with attributes).
TRUSTED_CONTAINERS = ("sklearn.utils._bunch.Bunch",)


def _skops_io():
    try:
        import skops.io
    except ImportError:
        raise CLIError(
            f"saving and loading models needs skops, which is not installed: "
            f"{SKOPS_HINT}"
        ) from None
    return skops.io


def trusted_types() -> list[str]:
    """The full names of the emmix estimator classes (what a model may be)."""
    import emmix

    classes = [getattr(emmix, name) for name in MODEL_CLASSES]
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in classes]


def plain_estimator(estimator):
    """A copy of ``estimator`` as its public emmix class.

    The command fits a subclass that reports progress (:func:`watched`); the
    file must hold the public class, which anyone can load.
    """
    public = next(
        cls
        for cls in type(estimator).__mro__
        if cls.__module__.startswith("emmix.") and ".cli." not in cls.__module__ + "."
    )
    if public is type(estimator):
        return copy.copy(estimator)
    plain = copy.copy(estimator)
    plain.__class__ = public
    return plain


def save_model(estimator, path: str | os.PathLike, header: list[str] | None) -> Path:
    """Write ``estimator`` to ``path`` with skops.

    With the file's column names, the estimator gets ``feature_names_in_``
    (as if fitted on a DataFrame), so ``emmix predict`` matches the columns of
    a new file by name.
    """
    sio = _skops_io()
    path = Path(path)
    estimator = plain_estimator(estimator)
    if header is not None and getattr(estimator, "feature_names_in_", None) is None:
        estimator.feature_names_in_ = np.asarray(header, dtype=object)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump(estimator, path)
    except OSError as exc:
        raise CLIError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


def load_model(path: str | os.PathLike):
    """The estimator saved in ``path``; a one-line error for anything else."""
    sio = _skops_io()
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"{path}: no such model file (write one with emmix fit --save)")
    trusted = trusted_types()
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a zip that is no skops file, a truncated file
        raise CLIError(f"{path}: not a skops model file ({one_line(exc)})") from None
    unexpected = [
        name
        for name in untrusted
        if name not in trusted and name not in TRUSTED_CONTAINERS
    ]
    if unexpected:
        raise CLIError(
            f"{path}: holds {', '.join(unexpected)}, not an emmix estimator; "
            "refused (only models written by emmix fit --save are loaded)"
        )
    try:
        model = sio.load(path, trusted=[*trusted, *TRUSTED_CONTAINERS])
    except Exception as exc:
        raise CLIError(f"{path}: cannot load the model ({one_line(exc)})") from None
    if f"{type(model).__module__}.{type(model).__qualname__}" not in trusted:
        raise CLIError(f"{path}: holds a {type(model).__name__}, not an emmix model")
    return model
