"""Reading the user's table (CSV or ``.npy``), and naming places in it.

The estimators count rows and columns of ``X`` from 0; a user counts the lines
of a CSV file from 1 and knows its columns by name. :class:`Table` keeps the
file line of every row, so :meth:`Table.relay` can turn an estimator's
"row 7, column 1" into "line 9, column 'y'".
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._errors import CLIError, one_line, plural

#: Cell contents read as a missing value.
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})
#: Delimiters suggested when a cell looks like several values run together.
OTHER_DELIMITERS = (";", "\t", "|", ",", " ")


@dataclass
class Table:
    """A numeric table read from a file, with where each row came from.

    Attributes
    ----------
    path : Path
        The file.
    X : ndarray of shape (n_samples, n_features)
        The values (NaN where missing).
    header : list of str or None
        The column names, if the file has a header line.
    lines : ndarray of shape (n_samples,) or None
        The file line (from 1) of each row of a CSV file; None for ``.npy``
        files, whose rows are counted from 1 instead.
    """

    path: Path
    X: np.ndarray
    header: list[str] | None
    lines: np.ndarray | None

    def row(self, i: int) -> str:
        """``"line 9"`` (CSV) or ``"row 8"`` (``.npy``) for row ``i`` of ``X``."""
        if self.lines is None or not 0 <= i < len(self.lines):
            return f"row {i + 1}"
        return f"line {int(self.lines[i])}"

    def column(self, j: int) -> str:
        """``"column 'y'"`` (header) or ``"column 2"`` for column ``j`` of ``X``."""
        if self.header is not None and 0 <= j < len(self.header):
            return f"column {self.header[j]!r}"
        return f"column {j + 1}"

    def relay(self, exc: BaseException) -> CLIError:
        """An estimator's error as the command's one line, places translated.

        ``X[7, 1] = -3.0 at row 7, column 1`` becomes ``-3.0 at line 9,
        column 'y'``; ``Row 7 of X`` becomes ``Line 9``.
        """
        return CLIError(f"{self.path}: {self.translate(one_line(exc))}")

    def translate(self, message: str) -> str:
        """``message`` with the 0-based places of ``X`` as places in the file."""
        column_name = r"(?: \('(?:[^'\\]|\\.)*'\))?"  # a DataFrame's name, if any

        def cell(match: re.Match) -> str:
            i, j = int(match["i"]), int(match["j"])
            return f"{self.row(i)}, {self.column(j)}"

        # "X[7, 1] = -3.0 at row 7, column 1": say the place once.
        message = re.sub(
            r"\bX\[\d+, \d+\] = (?P<value>\S+)(?P<between>(?: heads)?) at "
            rf"row (?P<i>\d+), column (?P<j>\d+){column_name}",
            lambda m: f"{m['value']}{m['between']} at {cell(m)}",
            message,
        )
        message = re.sub(
            rf"\brow (?P<i>\d+), column (?P<j>\d+){column_name}", cell, message
        )
        message = re.sub(
            r"\bRow (?P<i>\d+) of X\b",
            lambda m: self.row(int(m["i"])).capitalize(),
            message,
        )
        return re.sub(r"\brow (?P<i>\d+)\b", lambda m: self.row(int(m["i"])), message)


# =============================================================== CSV details
def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING_TOKENS


def _delimiter_hint(cell: str, delimiter: str) -> str:
    """A suggestion when ``cell`` looks like numbers joined by another delimiter."""
    for other in OTHER_DELIMITERS:
        if other != delimiter and other in cell.strip():
            parts = [p for p in cell.strip().split(other) if p.strip()]
            if len(parts) > 1 and all(_is_number(p) or _is_missing(p) for p in parts):
                name, option = {
                    "\t": ("tabs", "'\\t'"),
                    " ": ("spaces", "' '"),
                }.get(other, (f"'{other}'", f"'{other}'"))
                return (
                    f"; the file seems to use {name} as delimiter: pass "
                    f"--delimiter {option}"
                )
    return ""


def _read_npy(path: Path) -> tuple[np.ndarray, list[str] | None, None]:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CLIError(f"{path}: not a readable .npy file ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise CLIError(f"{path}: holds several arrays; save one array with np.save")
    if array.dtype.kind not in "biuf":
        raise CLIError(
            f"{path}: holds {array.dtype} values, not numbers; save a numeric array"
        )
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2:
        raise CLIError(
            f"{path}: holds an array of shape {array.shape}; expected one row "
            "per sample, shape (n_samples, n_features)"
        )
    if array.size == 0:
        raise CLIError(f"{path}: the array is empty (shape {array.shape})")
    array = array.astype(np.float64)
    if np.isinf(array).any():
        i, j = (int(v) for v in np.argwhere(np.isinf(array))[0])
        raise CLIError(
            f"{path}: row {i + 1}, column {j + 1}: {array[i, j]} is not a finite number"
        )
    return array, None, None


def _read_csv(
    path: Path, delimiter: str, allow_missing: bool
) -> tuple[np.ndarray, list[str] | None, np.ndarray]:
    try:
        # utf-8-sig drops the byte-order mark spreadsheet programs write.
        with open(path, newline="", encoding="utf-8-sig") as handle:
            lines = [
                (reader.line_num, row)
                for reader in [csv.reader(handle, delimiter=delimiter)]
                for row in reader
                # Blank lines are skipped; ",," is a row of missing values.
                if len(row) > 1 or (row and row[0].strip())
            ]
    except UnicodeDecodeError:
        raise CLIError(
            f"{path}: not a text file (cannot decode it as UTF-8); emmix reads "
            "CSV text files and NumPy .npy files"
        ) from None
    except csv.Error as exc:
        raise CLIError(f"{path}: not a valid CSV file ({exc})") from None
    if not lines:
        raise CLIError(f"{path}: the file is empty")

    first = [cell.strip() for cell in lines[0][1]]
    for cell in first:
        # "1.5;2.0" read with ',' looks like a header cell; say what it is.
        hint = _delimiter_hint(cell, delimiter)
        if hint:
            raise CLIError(
                f"{path}: line {lines[0][0]}: {cell!r} is not a number{hint}"
            )
    # A header is a first row in which no cell is a number or a missing marker.
    has_header = not any(_is_number(c) or _is_missing(c) for c in first)
    header = first if has_header else None
    body = lines[1:] if has_header else lines
    if not body:
        raise CLIError(f"{path}: has a header line but no data rows")
    width = len(first)
    values = np.empty((len(body), width), dtype=np.float64)
    for i, (line_number, row) in enumerate(body):
        if len(row) != width:
            what = "the header" if has_header else "the first row"
            hint = _delimiter_hint(delimiter.join(row), delimiter)
            raise CLIError(
                f"{path}: line {line_number} has {plural(len(row), 'value')} but "
                f"{what} has {width}{hint}"
            )
        for j, cell in enumerate(row):
            cell = cell.strip()
            column = f"column {j + 1}" + (f" ({header[j]!r})" if header else "")
            if _is_missing(cell):
                if not allow_missing:
                    raise CLIError(
                        f"{path}: line {line_number}, {column}: missing value; "
                        "fill missing values first (emmix impute DATA -o FILLED.csv)"
                    )
                values[i, j] = np.nan
                continue
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise CLIError(
                    f"{path}: line {line_number}, {column}: {cell!r} is not a "
                    f"number{_delimiter_hint(cell, delimiter)}"
                ) from None
            if not math.isfinite(values[i, j]):
                raise CLIError(
                    f"{path}: line {line_number}, {column}: {cell!r} is not a "
                    "finite number"
                )
    return values, header, np.array([number for number, _ in body])


# ================================================================ public
def read_table(
    path: str | os.PathLike, *, delimiter: str = ",", allow_missing: bool = False
) -> Table:
    """Read a numeric table, keeping the file line of each row.

    The same as :func:`read_data`, returning a :class:`Table`.
    """
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{path}: no such file")
    if path.is_dir():
        raise CLIError(f"{path}: is a directory, not a data file")
    if not os.access(path, os.R_OK):
        raise CLIError(f"{path}: cannot be read (permission denied)")
    try:
        if path.suffix.lower() == ".npy":
            X, header, lines = _read_npy(path)
        else:
            X, header, lines = _read_csv(path, delimiter, allow_missing)
    except OSError as exc:
        raise CLIError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    table = Table(path, X, header, lines)
    if not allow_missing and np.isnan(X).any():
        i, j = np.argwhere(np.isnan(X))[0]
        raise CLIError(
            f"{path}: {table.row(int(i))}, {table.column(int(j))}: missing value "
            "(NaN); fill missing values first (emmix impute DATA -o FILLED.csv)"
        )
    return table


def read_data(
    path: str | os.PathLike, *, delimiter: str = ",", allow_missing: bool = False
) -> tuple[np.ndarray, list[str] | None]:
    """Read a numeric table from a CSV or ``.npy`` file.

    Parameters
    ----------
    path : str or path-like
        ``*.npy`` files are read with :func:`numpy.load`; anything else is
        read as delimited text, with an optional header line (detected: a
        first line with no number in it).
    delimiter : str, default=","
        The CSV delimiter.
    allow_missing : bool, default=False
        Whether empty cells and NA markers (``NA``, ``nan``, ``?``, ...) are
        read as NaN; otherwise they are an error.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The values, as float64.
    header : list of str or None
        The column names, if the file has a header line.

    Raises
    ------
    CLIError
        With a one-line message naming the file and the problem.
    """
    table = read_table(path, delimiter=delimiter, allow_missing=allow_missing)
    return table.X, table.header
