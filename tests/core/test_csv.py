"""core.csv: cells a spreadsheet would evaluate are written as text (OWASP CSV injection)."""

import csv
import inspect
import io

import pytest

from core.csv import csv_lines, safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1:A2)", "'+SUM(A1:A2)"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("", ""),
        (None, ""),
        (1500, "1500"),
        (True, "true"),
    ],
)
def test_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_lines_are_generated_one_by_one_and_read_back_as_written():
    rows = iter([["=cmd", 'say "hi", twice', 3], ["x\ny", None, "-1"]])

    lines = csv_lines(["a", "b", "c"], rows)

    assert inspect.isgenerator(lines)
    assert next(lines) == "a,b,c\r\n"
    parsed = list(csv.reader(io.StringIO("".join(lines), newline="")))
    assert parsed == [["'=cmd", 'say "hi", twice', "3"], ["x\ny", "", "'-1"]]
