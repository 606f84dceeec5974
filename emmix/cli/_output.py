"""Where the commands write: output folders, and never over an input file."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ._errors import CLIError


def make_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and its parents) if needed; a one-line error if not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{folder}: cannot create the output folder ({exc})") from None
    return folder


def refuse_overwrite(
    outputs: Iterable[str | os.PathLike],
    inputs: Iterable[str | os.PathLike],
    option: str,
) -> None:
    """Raise a :class:`CLIError` if a file the command writes is an input file.

    Parameters
    ----------
    outputs : iterable of path-like
        The files the command will write.
    inputs : iterable of path-like
        The files it reads.
    option : str
        What the user should change, for the message (``"--out folder"``).
    """
    inputs = list(inputs)
    for output in outputs:
        for source in inputs:
            # samefile sees through "./", "..", symbolic and hard links; an
            # output that does not exist yet cannot be an existing input.
            if Path(output).exists() and os.path.samefile(output, source):
                raise CLIError(
                    f"{output}: is the input file {source}; writing it would "
                    f"overwrite the data: choose another {option}"
                )
