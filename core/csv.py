"""CSV files we write for people to open in a spreadsheet: cells that a spreadsheet
would run as a formula are defused, and rows are encoded one at a time so a download
can stream (constant memory, at any size).

OWASP "CSV Injection": a text cell starting with =, +, -, @, a tab or a carriage
return is prefixed with a single quote, so Excel, LibreOffice and Google Sheets show
it as text instead of evaluating it. Numbers we format ourselves (amounts like
"-5.00" never occur: amounts are not negative) are written as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A value as a CSV cell that no spreadsheet will evaluate: None is empty, text
    starting with a formula trigger gets a leading single quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class _Line:
    """A file-like object csv.writer writes one line into, and we take it back."""

    def __init__(self):
        self.buffer = io.StringIO()

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The header, then each row, as CSV lines (CRLF, RFC 4180), every cell made safe.
    A generator: rows are read as the lines are asked for."""
    line = _Line()
    writer = csv.writer(line)
    writer.writerow([safe_cell(name) for name in header])
    yield line.take()
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        yield line.take()
