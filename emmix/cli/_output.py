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


def write_csv(
    path: str | os.PathLike,
    header: list[str] | None,
    rows: Iterable[Iterable[str]],
    delimiter: str = ",",
) -> Path:
    """Write a CSV file (creating its folder); a one-line error if it cannot."""
    import csv

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            if header is not None:
                writer.writerow(header)
            writer.writerows(rows)
    except OSError as exc:
        raise CLIError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


def probability_text(p: float) -> str:
    """A probability for a table: 6 significant digits, and 0 below 1e-12.

    Below 1e-12 a probability is under the rounding error of the row's
    largest one (they sum to 1); printing it would show the engine's floor
    (1e-150) as if it meant something.
    """
    return "0" if p < 1e-12 else f"{p:.6g}"
