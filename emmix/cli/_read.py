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
from dataclasses import dataclass, field
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
        The values of the columns used (NaN where missing).
    header : list of str or None
        The names of the columns of ``X``, if the file has a header line.
    lines : ndarray of shape (n_samples,) or None
        The file line (from 1) of each row of a CSV file; None for ``.npy``
        files, whose rows are counted from 1 instead.
    columns : list of int
        The file column (from 0) of each column of ``X``.
    ids : list of str or None
        The row ids of the index column, if the file has one.
    id_name : str or None
        The index column's header cell ("" for pandas's unnamed index).
    file_header : list of str or None
        The header of every column of the file (index and left-out ones too).
    cells : list of list of str or None
        Every cell of every data row, as written in the file (CSV only): what
        ``emmix impute`` writes back unchanged.
    delimiter : str
        The delimiter the file was read with.
    """

    path: Path
    X: np.ndarray
    header: list[str] | None
    lines: np.ndarray | None
    columns: list[int] = field(default_factory=list)
    ids: list[str] | None = None
    id_name: str | None = None
    file_header: list[str] | None = None
    cells: list[list[str]] | None = None
    delimiter: str = ","

    def __post_init__(self):
        if not self.columns:
            self.columns = list(range(self.X.shape[1]))

    def row(self, i: int) -> str:
        """``"line 9"`` (CSV) or ``"row 8"`` (``.npy``) for row ``i`` of ``X``."""
        if self.lines is None or not 0 <= i < len(self.lines):
            return f"row {i + 1}"
        return f"line {int(self.lines[i])}"

    def column(self, j: int) -> str:
        """``"column 'y'"`` (header) or ``"column 2"`` for column ``j`` of ``X``."""
        if self.header is not None and 0 <= j < len(self.header):
            return f"column {self.header[j]!r}"
        if 0 <= j < len(self.columns):
            return f"column {self.columns[j] + 1}"
        return f"column {j + 1}"

    def row_ids(self) -> tuple[str, list[str]]:
        """The name and values of the row-id column the outputs start with.

        The file's index column when it has one (its header cell, "" for
        pandas's, so ``pd.read_csv(..., index_col=0)`` reads the outputs
        back with the input's index); otherwise ``row``, the data rows
        counted from 1.
        """
        if self.ids is not None:
            return self.id_name or "", list(self.ids)
        return "row", [str(i + 1) for i in range(self.X.shape[0])]

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


def _read_rows(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """The non-blank rows of a CSV file with their line numbers."""
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
    return lines


#: Header cells pandas gives an unnamed index column (``df.to_csv()`` writes "").
INDEX_NAMES = frozenset({"", "unnamed: 0"})


def _looks_like_header(first: list[str]) -> bool:
    """Whether the first row of a CSV file is a header line.

    A header has no number in it and no missing marker, except an empty first
    cell (pandas's unnamed index column). A DataFrame with unnamed columns is
    written by ``df.to_csv()`` as ``,0,1,2``: that is a header too.
    """
    if len(first) > 1 and first[0] == "":
        if first[1:] == [str(j) for j in range(len(first) - 1)]:
            return True
        first = first[1:]
    return not any(_is_number(c) or _is_missing(c) for c in first)


def column_specs(text: str | None) -> list[str] | None:
    """``"a,b, 3"`` as ``["a", "b", "3"]``; None stays None."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _position(spec: str, header: list[str] | None, width: int, option: str) -> int:
    """The file column (from 0) that ``spec``, a header name or a position
    counted from 1, names in ``option``."""
    if header is not None and spec in header:
        return header.index(spec)
    if spec.isdigit():
        if 1 <= int(spec) <= width:
            return int(spec) - 1
        raise CLIError(
            f"{option} {spec}: the file has {plural(width, 'column')} "
            f"(positions 1 to {width})"
        )
    if header is None:
        raise CLIError(
            f"{option} {spec!r}: the file has no header line; name columns by "
            f"their position, from 1 to {width}"
        )
    names = ", ".join(repr(name) for name in header)
    raise CLIError(f"{option} {spec!r}: no such column; the columns are {names}")


def _select_columns(
    header: list[str] | None,
    width: int,
    *,
    index: int | None,
    columns: list[str] | None,
    drop: list[str] | None,
) -> list[int]:
    """The file columns (from 0) to use: ``--columns`` in its order, or every
    column but the index; less ``--drop``."""
    if columns is not None:
        chosen = [_position(spec, header, width, "--columns") for spec in columns]
    else:
        chosen = [j for j in range(width) if j != index]
    if drop is not None:
        dropped = {_position(spec, header, width, "--drop") for spec in drop}
        chosen = [j for j in chosen if j not in dropped]
    if len(set(chosen)) != len(chosen):
        raise CLIError("--columns names a column twice")
    if not chosen:
        raise CLIError("no column is left to use (see --columns and --drop)")
    return chosen


def _text_column_hint(header: list[str] | None, j: int) -> str:
    name = header[j] if header is not None and header[j] else str(j + 1)
    if "," in name or " " in name:
        name = repr(name)
    return (
        f"; the column holds text, not numbers: leave it out with --drop {name} "
        "(or choose the columns with --columns)"
    )


def _read_csv(
    path: Path,
    delimiter: str,
    allow_missing: bool,
    *,
    index_col: str | None = None,
    columns: list[str] | None = None,
    drop: list[str] | None = None,
) -> Table:
    lines = _read_rows(path, delimiter)
    first = [cell.strip() for cell in lines[0][1]]
    for cell in first:
        # "1.5;2.0" read with ',' looks like a header cell; say what it is.
        hint = _delimiter_hint(cell, delimiter)
        if hint:
            raise CLIError(
                f"{path}: line {lines[0][0]}: {cell!r} is not a number{hint}"
            )
    has_header = _looks_like_header(first)
    file_header = first if has_header else None
    body = lines[1:] if has_header else lines
    if not body:
        raise CLIError(f"{path}: has a header line but no data rows")
    width = len(first)
    for line_number, row in body:
        if len(row) != width:
            what = "the header" if has_header else "the first row"
            hint = _delimiter_hint(delimiter.join(row), delimiter)
            raise CLIError(
                f"{path}: line {line_number} has {plural(len(row), 'value')} but "
                f"{what} has {width}{hint}"
            )
    # The index column: named by --index-col, or pandas's (an empty or
    # "Unnamed: 0" first header cell).
    if index_col is not None:
        index = _position(index_col, file_header, width, "--index-col")
    elif has_header and width > 1 and first[0].lower() in INDEX_NAMES:
        index = 0
    else:
        index = None
    chosen = _select_columns(
        file_header, width, index=index, columns=columns, drop=drop
    )
    cells = [[cell.strip() for cell in row] for _, row in body]
    values = np.empty((len(body), len(chosen)), dtype=np.float64)
    for i, row in enumerate(cells):
        line_number = body[i][0]
        for jj, j in enumerate(chosen):
            cell = row[j]
            column = f"column {j + 1}" + (
                f" ({file_header[j]!r})" if file_header else ""
            )
            if _is_missing(cell):
                if not allow_missing:
                    raise CLIError(
                        f"{path}: line {line_number}, {column}: missing value; "
                        "fill missing values first (emmix impute DATA -o FILLED.csv)"
                    )
                values[i, jj] = np.nan
                continue
            try:
                values[i, jj] = float(cell)
            except ValueError:
                hint = _delimiter_hint(cell, delimiter) or _text_column_hint(
                    file_header, j
                )
                raise CLIError(
                    f"{path}: line {line_number}, {column}: {cell!r} is not a "
                    f"number{hint}"
                ) from None
            if not math.isfinite(values[i, jj]):
                raise CLIError(
                    f"{path}: line {line_number}, {column}: {cell!r} is not a "
                    "finite number"
                )
    return Table(
        path,
        values,
        None if file_header is None else [file_header[j] for j in chosen],
        np.array([number for number, _ in body]),
        columns=chosen,
        ids=None if index is None else [row[index] for row in cells],
        id_name=None
        if index is None
        else ("" if file_header is None else first[index]),
        file_header=file_header,
        cells=cells,
        delimiter=delimiter,
    )


# ================================================================ public
def read_table(
    path: str | os.PathLike,
    *,
    delimiter: str = ",",
    allow_missing: bool = False,
    index_col: str | None = None,
    columns: list[str] | None = None,
    drop: list[str] | None = None,
) -> Table:
    """Read a numeric table, keeping the file line and the id of each row.

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
            if index_col is not None:
                raise CLIError(f"{path}: a .npy file has no index column (--index-col)")
            array, _, _ = _read_npy(path)
            chosen = _select_columns(
                None, array.shape[1], index=None, columns=columns, drop=drop
            )
            # C order, as the whole array: the fit must not depend on --drop.
            X = np.ascontiguousarray(array[:, chosen])
            table = Table(path, X, None, None, columns=chosen)
        else:
            table = _read_csv(
                path,
                delimiter,
                allow_missing,
                index_col=index_col,
                columns=columns,
                drop=drop,
            )
    except OSError as exc:
        raise CLIError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    X = table.X
    if not allow_missing and np.isnan(X).any():
        i, j = np.argwhere(np.isnan(X))[0]
        raise CLIError(
            f"{path}: {table.row(int(i))}, {table.column(int(j))}: missing value "
            "(NaN); fill missing values first (emmix impute DATA -o FILLED.csv)"
        )
    return table


def read_data(
    path: str | os.PathLike,
    *,
    delimiter: str = ",",
    allow_missing: bool = False,
    index_col: str | None = None,
    columns: list[str] | None = None,
    drop: list[str] | None = None,
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
    index_col : str, default=None
        The column of row ids (a header name or a position counted from 1);
        by default pandas's index column (an empty or ``Unnamed: 0`` first
        header cell), if any. It is not part of ``X``.
    columns : list of str, default=None
        The columns to use, by header name or position (from 1), in this
        order; by default all but the index column.
    drop : list of str, default=None
        Columns to leave out, by header name or position (from 1).

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
    table = read_table(
        path,
        delimiter=delimiter,
        allow_missing=allow_missing,
        index_col=index_col,
        columns=columns,
        drop=drop,
    )
    return table.X, table.header


def read_table_from_args(args) -> Table:
    """The table a command's options ask for (DATA, --delimiter, --index-col,
    --columns, --drop); missing cells allowed."""
    return read_table(
        args.data,
        delimiter=args.delimiter,
        allow_missing=True,
        index_col=args.index_col,
        columns=column_specs(args.columns),
        drop=column_specs(args.drop),
    )


def peek_header(path: str | os.PathLike, delimiter: str = ",") -> list[str] | None:
    """The header line of a CSV file (None without one, or for ``.npy``)."""
    path = Path(path)
    if path.suffix.lower() == ".npy" or not path.is_file():
        return None
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle, delimiter=delimiter):
                if len(row) > 1 or (row and row[0].strip()):
                    first = [cell.strip() for cell in row]
                    return first if _looks_like_header(first) else None
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # read_table then says what is wrong
    return None
