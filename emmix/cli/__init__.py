"""The ``emmix`` command: ``demo``, ``fit``, ``predict``, ``score``, ``impute``.

Every problem with the user's input (a missing or unreadable file, a
non-numeric cell, a wrong delimiter, data the model cannot take, an output
that would overwrite an input) ends in one line on stderr,
``emmix: error: FILE: problem``, and exit status 2: a user of the command
never sees a Python traceback for a bad file.

The package is split by job: ``_parser`` (the arguments), ``_read`` (CSV and
``.npy`` files, places in them), ``_progress`` (the progress line),
``_report`` (numbers, JSON, tables), ``_figures``, ``_model`` (saved models,
skops), one module per command (``_fit``, ``_predict`` for ``predict`` and
``score``, ``_impute``, ``_demo``) and :mod:`emmix.cli.cases` (the classic
cases shared by ``emmix demo`` and the gallery). Only the parser is imported
up front: NumPy, scikit-learn, the estimators and matplotlib load inside the
command that needs them, so ``emmix --version`` and ``--help`` are quick.
"""

from __future__ import annotations

import sys

from ._errors import CLIError, one_line
from ._parser import build_parser

__all__ = ["CLIError", "build_parser", "main", "read_data"]


def __getattr__(name: str):
    # read_data needs NumPy: import it on first use, not with the package.
    if name == "read_data":
        from ._read import read_data

        return read_data
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``emmix`` console script.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (``sys.argv[1:]`` if None).

    Returns
    -------
    status : int
        0 on success, 2 on a usage or data error (reported in one line on
        stderr), 130 when interrupted.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except CLIError as exc:
        print(f"emmix: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        # The commands relay the estimators' errors with the file and place;
        # anything that slips through still gets one line, not a traceback.
        print(f"emmix: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emmix: interrupted", file=sys.stderr)
        return 130
