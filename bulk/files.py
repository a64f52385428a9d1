"""Reading an uploaded refund file: UTF-8 text (a BOM is fine), parsable CSV with a
header row naming the columns, at most MAX_FILE_BYTES and MAX_ROWS data rows. Anything
else is refused with a message that says what to fix, before anything is stored."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from core.errors import ValidationFailed

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
COLUMNS = ("payment_id", "amount", "reason", "note")
# A cell longer than this is not a refund instruction (csv's own limit is 128 KiB).
MAX_CELL_LENGTH = 1000


@dataclass(frozen=True)
class FileRow:
    number: int  # data rows from 1 (the header is not counted)
    payment_id: str
    amount: str
    reason: str
    note: str


def refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, param="file")


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab a spreadsheet in another locale writes, whichever
    splits the header row into the columns we need."""
    header = text.split("\n", 1)[0]
    for delimiter in (",", ";", "\t"):
        names = {name.strip().strip('"').lower() for name in header.split(delimiter)}
        if set(COLUMNS) <= names:
            return delimiter
    return ","


def read_refund_file(content: bytes) -> list[FileRow]:
    """The file's rows, or ValidationFailed(param="file") saying why it is not one."""
    if len(content) > MAX_FILE_BYTES:
        raise refused(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it into "
            "smaller files."
        )
    if not content.strip():
        raise refused("The file is empty: upload a CSV with a header row and refunds below it.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refused(
            "This is not a CSV file: it is not UTF-8 text. Export it from your spreadsheet "
            "as “CSV UTF-8”."
        ) from None
    if "\x00" in text:
        raise refused("This is not a CSV file: it holds binary data.")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=_delimiter(text))
    try:
        header = next(reader, None)
        if header is None:
            raise refused("The file is empty.")
        names = [name.strip().lower() for name in header]
        missing = [column for column in COLUMNS if column not in names]
        if missing:
            raise refused(
                "The header row lacks the column"
                + ("s " if len(missing) > 1 else " ")
                + ", ".join(missing)
                + ": the first row must name payment_id, amount, reason and note."
            )
        where = {column: names.index(column) for column in COLUMNS}
        rows: list[FileRow] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line (often the last one)
            if len(rows) >= MAX_ROWS:
                raise refused(
                    f"The file has more than {MAX_ROWS:,} rows: split it into smaller files."
                )
            if any(len(cell) > MAX_CELL_LENGTH for cell in cells):
                raise refused(
                    f"Line {reader.line_num}: a cell is longer than {MAX_CELL_LENGTH} characters."
                )

            def cell(column: str, cells=cells) -> str:
                index = where[column]
                return cells[index].strip() if index < len(cells) else ""

            rows.append(
                FileRow(
                    number=len(rows) + 1,
                    payment_id=cell("payment_id"),
                    amount=cell("amount"),
                    reason=cell("reason"),
                    note=cell("note"),
                )
            )
    except csv.Error as error:
        raise refused(
            f"This is not a readable CSV file (line {reader.line_num}: {error})."
        ) from None
    if not rows:
        raise refused("The file has a header row but no refunds below it.")
    return rows
