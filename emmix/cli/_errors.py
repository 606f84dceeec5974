"""The command's one-line error, and small text helpers (no heavy imports)."""

from __future__ import annotations


class CLIError(Exception):
    """A problem to report in one line (exit status 2), never as a traceback."""


def plural(n: int, word: str) -> str:
    """``"1 row"``, ``"2 rows"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces made single spaces."""
    return " ".join(str(text).split())
