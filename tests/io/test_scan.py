"""Tests for the numpy record scanner behind the fast CSV path."""

from __future__ import annotations

import csv
import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.io._scan import scan_records

_PIECES = [b"a", b"1", b",", b";", b'"', b'"', b"\n", b"\r\n", b" ", "é".encode()]
_FIELDS = ("starts", "ends", "lines", "fields", "blank", "crlf")


def scan(data: bytes, delimiter: str = ",", chunk: int = 1 << 20):
    return scan_records(io.BytesIO(data), delimiter, chunk_bytes=chunk)


def test_records_lines_and_fields():
    data = b'id,note\r\n1,"a,\r\nb"\r\n\r\n2,x,y\r\n3,z'
    result = scan(data)
    assert result.usable
    assert result.lines.tolist() == [1, 2, 4, 5, 6]
    assert result.fields.tolist() == [2, 2, 1, 3, 2]
    assert result.blank.tolist() == [False, False, True, False, False]
    assert result.crlf.tolist() == [True, True, True, True, False]
    assert data[result.starts[1]:result.ends[1]] == b'1,"a,\r\nb"\r'


def test_quote_problems_are_reported():
    assert not scan(b'a,b\n1,5"11\n').quotes_ok  # quote inside an unquoted field
    assert not scan(b'a,b\n1,"x"y\n').quotes_ok  # text after a closing quote
    assert scan(b'a,b\n1,"never closed\n').unterminated
    assert scan(b"a,b\n1,x\ry\n").lone_cr
    assert scan(b'\xef\xbb\xbf"a",b\n', chunk=2).usable is False  # BOM not declared skipped
    assert scan_records(io.BytesIO(b'\xef\xbb\xbf"a",b\n'), ",", skip_bytes=3).usable


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=60), st.integers(1, 9))
def test_chunk_boundaries_do_not_matter(pieces, chunk):
    data = b"".join(pieces)
    whole, chunked = scan(data), scan(data, chunk=chunk)
    assert (whole.quotes_ok, whole.unterminated, whole.lone_cr) == (
        chunked.quotes_ok, chunked.unterminated, chunked.lone_cr)
    if whole.usable:
        for name in _FIELDS:
            assert np.array_equal(getattr(whole, name), getattr(chunked, name)), name


_CELL = st.text(alphabet=st.sampled_from(list('ab ,;"\n') + ["é"]), max_size=6)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(_CELL, min_size=1, max_size=4), min_size=1, max_size=8),
       st.sampled_from(["\n", "\r\n"]), st.integers(1, 16))
def test_agrees_with_the_csv_module_on_well_formed_files(rows, eol, chunk):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=eol).writerows(rows)
    data = buffer.getvalue().encode()
    result = scan(data, chunk=chunk)
    assert result.usable
    reader = csv.reader(io.StringIO(buffer.getvalue(), newline=""))
    expected_fields, expected_lines, line = [], [], 1
    for row in reader:
        expected_fields.append(len(row) if row else 1)
        expected_lines.append(line)
        line = reader.line_num + 1
    assert result.fields.tolist() == expected_fields
    assert result.lines.tolist() == expected_lines
