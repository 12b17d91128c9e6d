"""Tests for custseg.io.read_table: formats, encodings, delimiters, quoting, rejects, errors."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import custseg.io._text as text_module
from custseg import InputFileError, InvalidParameterError
from custseg.io import REJECT_COLUMNS, ReadResult, read_table

NA = pd.NA


def rows_of(result: ReadResult) -> list[list]:
    """The frame as lists, missing cells as None."""
    frame = result.frame.astype(object)
    return frame.where(frame.notna(), None).values.tolist()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------- the result


def test_result_shape_and_info(write):
    path = write("c.csv", "id,age\n0001,31\n0002,45\n")
    result = read_table(path)
    assert isinstance(result, ReadResult)
    assert list(result.frame.columns) == ["id", "age"]
    assert isinstance(result.frame.index, pd.RangeIndex)
    assert result.line_numbers.dtype == np.int64
    assert result.line_numbers.tolist() == [2, 3]
    assert tuple(result.rejects.columns) == REJECT_COLUMNS
    assert result.rejects.empty
    info = result.info
    for key in ("path", "format", "encoding", "delimiter", "rows_read", "sha256", "columns",
                "renamed_columns", "blank_lines"):
        assert key in info
    assert info["path"] == str(path)
    assert info["format"] == "csv"
    assert info["encoding"] == "utf-8"
    assert info["delimiter"] == ","
    assert info["rows_read"] == 2
    assert info["sha256"] == sha256(path)
    assert info["columns"] == ["id", "age"]
    assert info["renamed_columns"] == {}
    assert info["blank_lines"] == 0
    assert "rows=2" in repr(result)


def test_every_csv_column_is_text_and_ids_keep_zeros(write, parser):
    path = write("c.csv", "id,spend,when\n0001,12.50,2024-01-02\n0042,-3,\n")
    result = read_table(path)
    assert all(isinstance(t, pd.StringDtype) for t in result.frame.dtypes)
    assert rows_of(result) == [["0001", "12.50", "2024-01-02"], ["0042", "-3", None]]
    assert result.frame["when"].isna().tolist() == [False, True]
    assert result.info["parser"] == parser


def test_blank_and_whitespace_cells_are_missing(write, parser):
    path = write("c.csv", 'id,a,b\n1, ,""\n2,"  ",x\n')
    assert rows_of(read_table(path)) == [["1", None, None], ["2", None, "x"]]


def test_values_are_not_trimmed(write, parser):
    path = write("c.csv", 'id,name\n1, Ann \n2,"  Bob"\n')
    assert rows_of(read_table(path)) == [["1", " Ann "], ["2", "  Bob"]]


def test_columns_as_text_false_types_numbers(write):
    path = write("c.csv", "id,n,x,name,empty\n0001,3,1.5,a,\n0002,,2e3,b,\n")
    frame = read_table(path, columns_as_text=False).frame
    assert frame["id"].tolist() == [1, 2]
    assert str(frame["n"].dtype) == "Int64"
    assert frame["x"].dtype == np.float64
    assert frame["x"].tolist() == [1.5, 2000.0]
    assert isinstance(frame["name"].dtype, pd.StringDtype)
    assert frame["empty"].isna().all()


# ------------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiters_are_detected(write, parser, delim):
    text = delim.join(["id", "name", "spend"]) + "\n"
    text += delim.join(["0001", "Ann Lee", "12,5" if delim == ";" else "12.5"]) + "\n"
    text += delim.join(["0002", "Bob", "7"]) + "\n"
    result = read_table(write("t.txt", text))
    assert result.info["delimiter"] == delim
    assert result.frame.columns.tolist() == ["id", "name", "spend"]
    assert result.frame["name"].tolist() == ["Ann Lee", "Bob"]


def test_semicolon_with_decimal_commas(write, parser):
    path = write("eu.csv", "id;income;score\n1;12,5;3,25\n2;7,75;1,5\n3;8;2\n")
    result = read_table(path)
    assert result.info["delimiter"] == ";"
    assert result.frame["income"].tolist() == ["12,5", "7,75", "8"]


def test_whitespace_separated(write):
    path = write("ws.txt", 'id   age  city\n0001  31  Oslo\n  0002\t45   "New York"\n\n0003 52 Lyon\n')
    result = read_table(path)
    assert result.info["delimiter"] == "whitespace"
    assert rows_of(result) == [["0001", "31", "Oslo"], ["0002", "45", "New York"],
                               ["0003", "52", "Lyon"]]
    assert result.line_numbers.tolist() == [2, 3, 5]
    assert result.info["blank_lines"] == 1


def test_whitespace_ragged_row_is_rejected(write):
    path = write("ws.dat", "a b c\n1 2 3\n4 5\n6 7 8\n")
    result = read_table(path, delimiter="whitespace")
    assert result.frame["a"].tolist() == ["1", "6"]
    assert result.rejects["line"].tolist() == [3]
    assert result.info["rows_read"] == 3


def test_delimiter_override(write, parser):
    path = write("c.csv", "a;b,c\n1;2,3\n")
    assert read_table(path, delimiter=",").frame.columns.tolist() == ["a;b", "c"]
    assert read_table(path, delimiter=";").frame.columns.tolist() == ["a", "b,c"]


def test_single_column(write, parser):
    result = read_table(write("ids.csv", "id\n0001\n0002\n\n0003\n"))
    assert result.frame["id"].tolist() == ["0001", "0002", "0003"]
    assert result.line_numbers.tolist() == [2, 3, 5]
    assert result.info["blank_lines"] == 1


# ------------------------------------------------------------------------------- encodings


def test_utf8(write, parser):
    result = read_table(write("u.csv", "id,city\n1,Zürich\n2,São Paulo\n3,東京\n"))
    assert result.info["encoding"] == "utf-8"
    assert result.frame["city"].tolist() == ["Zürich", "São Paulo", "東京"]


def test_utf8_bom_is_stripped_from_first_header(write, parser):
    result = read_table(write("b.csv", b"\xef\xbb\xbfCustomerID,name\r\n0001,Ann\r\n"))
    assert result.info["encoding"] == "utf-8-sig"
    assert result.frame.columns.tolist() == ["CustomerID", "name"]
    assert result.frame["CustomerID"].tolist() == ["0001"]


def test_utf8_bom_with_quoted_header(write, parser):
    result = read_table(write("b.csv", b'\xef\xbb\xbf"id","name"\n"0001","Ann"\n'))
    assert result.frame.columns.tolist() == ["id", "name"]
    assert rows_of(result) == [["0001", "Ann"]]


def test_cp1252_falls_back(write, parser):
    data = "id;name;price\n1;Café;5 €\n2;Crème brûlée;7 €\n".encode("cp1252")
    result = read_table(write("w.csv", data))
    assert result.info["encoding"] == "cp1252"
    assert result.frame["name"].tolist() == ["Café", "Crème brûlée"]
    assert result.frame["price"].tolist() == ["5 €", "7 €"]
    assert result.info["sha256"] == hashlib.sha256(data).hexdigest()


def test_latin1_when_cp1252_cannot_decode(write, parser):
    data = b"id,name\n1,caf\xe9\n2,x\x81y\n"  # 0x81 is undefined in cp1252
    result = read_table(write("l.csv", data))
    assert result.info["encoding"] == "latin-1"
    assert result.frame["name"].tolist() == ["café", "x\x81y"]


def test_encoding_override(write, parser):
    data = "id,name\n1,Ωmega\n".encode("iso-8859-7")
    result = read_table(write("g.csv", data), encoding="iso-8859-7")
    assert result.frame["name"].tolist() == ["Ωmega"]


def test_utf16_with_bom(write, parser):
    result = read_table(write("u16.csv", "id\tname\n1\tÅsa\n".encode("utf-16")))
    assert result.info["encoding"] == "utf-16"
    assert result.info["delimiter"] == "\t"
    assert rows_of(result) == [["1", "Åsa"]]


def test_wrong_encoding_named_is_an_error(write):
    path = write("w.csv", "id,name\n1,Café\n".encode("cp1252"))
    with pytest.raises(InputFileError, match=r"not valid UTF-8.*encoding='cp1252'"):
        read_table(path, encoding="utf-8")


def test_unknown_encoding(write):
    with pytest.raises(InvalidParameterError, match="'encoding' parameter of read_table"):
        read_table(write("c.csv", "a,b\n1,2\n"), encoding="no-such-codec")


# ------------------------------------------------------------------- quoting and line ends


def test_quoted_delimiters_newlines_and_quotes(write, parser):
    text = ('id,note,n\n'
            '1,"a, b",10\n'
            '2,"line one\nline two\nline three",20\n'
            '3,"she said ""hi""",30\n'
            '4,plain,40\n')
    result = read_table(write("q.csv", text))
    assert rows_of(result) == [
        ["1", "a, b", "10"],
        ["2", "line one\nline two\nline three", "20"],
        ["3", 'she said "hi"', "30"],
        ["4", "plain", "40"],
    ]
    # Record 3 starts on line 6: the quoted newlines of record 2 are counted.
    assert result.line_numbers.tolist() == [2, 3, 6, 7]


def test_rejected_line_after_multiline_record(write, parser):
    text = 'id,note\n1,"x\ny"\n2,a,extra\n3,b\n'
    result = read_table(write("q.csv", text))
    assert result.line_numbers.tolist() == [2, 5]
    assert result.rejects["line"].tolist() == [4]


def test_crlf_and_no_final_newline(write, parser):
    result = read_table(write("w.csv", b"id,n\r\n0001,1\r\n0002,2\r\n0003,3"))
    assert rows_of(result) == [["0001", "1"], ["0002", "2"], ["0003", "3"]]
    assert result.line_numbers.tolist() == [2, 3, 4]


def test_mixed_line_endings(write, parser):
    result = read_table(write("m.csv", b'id,n\n1,a\r\n2,"b\r\nc"\n3,d'))
    assert rows_of(result) == [["1", "a"], ["2", "b\r\nc"], ["3", "d"]]
    assert result.line_numbers.tolist() == [2, 3, 5]


def test_old_mac_line_endings(write, parser):
    result = read_table(write("mac.csv", b"id,n\r1,a\r2,b\r"))
    assert rows_of(result) == [["1", "a"], ["2", "b"]]
    assert result.line_numbers.tolist() == [2, 3]


def test_lone_carriage_return_inside_a_field_is_data(write, parser):
    # What pandas' to_csv writes on Python < 3.12 for text holding "\r".
    result = read_table(write("cr.csv", b"id,note,n\n1,a\rb,2\n2,c,3\n"))
    assert rows_of(result) == [["1", "a\rb", "2"], ["2", "c", "3"]]
    assert result.line_numbers.tolist() == [2, 3]


def test_duckdb_failure_falls_back_to_the_csv_module(write, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated DuckDB failure")

    monkeypatch.setattr(text_module, "_duckdb_read", broken)
    monkeypatch.setattr(text_module, "SMALL_FILE_BYTES", 0)
    result = read_table(write("c.csv", "a,b\n1,2\n3\n"))
    assert result.info["parser"] == "python"
    assert rows_of(result) == [["1", "2"]]
    assert result.rejects["line"].tolist() == [3]


def test_quote_inside_unquoted_field_is_literal(write):
    result = read_table(write("h.csv", 'id,height,x\n1,5\'11",a\n2,6\'0",b\n'))
    assert result.frame["height"].tolist() == ["5'11\"", "6'0\""]
    assert result.info["parser"] == "python"
    assert result.line_numbers.tolist() == [2, 3]


def test_unterminated_quote_rejects_one_line_and_reading_goes_on(write, parser):
    text = 'id,note,n\n1,ok,1\n2,"never closed,2\n3,fine,3\n4,also fine,4\n'
    result = read_table(write("u.csv", text))
    assert result.frame["id"].tolist() == ["1", "3", "4"]
    assert result.line_numbers.tolist() == [2, 4, 5]
    assert result.rejects["line"].tolist() == [3]
    assert result.rejects["reason"].tolist() == ["bad_quoting"]
    assert "never closed" in result.rejects["detail"][0]
    assert result.rejects["raw"][0] == '2,"never closed,2'
    assert result.info["rows_read"] == 4


def test_text_after_closing_quote_is_rejected(write, parser):
    text = 'id,note\n1,"ab"cd\n2,ok\n'
    result = read_table(write("b.csv", text))
    assert result.frame["id"].tolist() == ["2"]
    assert result.rejects["line"].tolist() == [2]
    assert result.rejects["reason"].tolist() == ["bad_quoting"]


# -------------------------------------------------------------------------------- rejects


def test_ragged_rows_go_to_rejects(write, parser):
    text = ("id,a,b,c\n"
            "1,x,y,z\n"
            "2,x,y\n"          # too few
            "3,x,y,z\n"
            "\n"
            "4,x,y,z,extra\n"  # too many
            "5,x,y,z\n")
    result = read_table(write("r.csv", text))
    assert result.frame["id"].tolist() == ["1", "3", "5"]
    assert result.line_numbers.tolist() == [2, 4, 7]
    rejects = result.rejects
    assert rejects["line"].tolist() == [3, 6]
    assert rejects["reason"].tolist() == ["malformed_row", "malformed_row"]
    assert rejects["detail"].tolist() == ["line 3 has 3 fields, expected 4",
                                          "line 6 has 5 fields, expected 4"]
    assert rejects["raw"].tolist() == ["2,x,y", "4,x,y,z,extra"]
    assert result.info["rows_read"] == 5 == len(result.frame) + len(rejects)
    assert result.info["rows_rejected"] == 2
    assert result.info["blank_lines"] == 1


def test_reject_raw_is_truncated(write, parser):
    long = "x" * 5000
    result = read_table(write("r.csv", f"a,b\n1,2\n{long},2,3\n"))
    assert len(result.rejects["raw"][0]) == 1000


def test_whitespace_only_lines_count_as_blank(write, parser):
    result = read_table(write("w.csv", "a,b\n1,2\n   \n\t\n3,4\n\n"))
    assert result.frame["a"].tolist() == ["1", "3"]
    assert result.rejects.empty
    assert result.info["blank_lines"] == 3


def test_leading_blank_lines_before_header(write, parser):
    result = read_table(write("w.csv", "\n\nid,n\n1,2\n"))
    assert result.frame.columns.tolist() == ["id", "n"]
    assert result.line_numbers.tolist() == [4]
    assert result.info["blank_lines"] == 2
    assert result.info["header_line"] == 3


def test_all_rows_rejected_gives_empty_frame(write, parser):
    result = read_table(write("r.csv", "a,b,c\n1\n2\n"))
    assert result.frame.shape == (0, 3)
    assert result.frame.columns.tolist() == ["a", "b", "c"]
    assert result.rejects["line"].tolist() == [2, 3]


def test_r_style_row_names(write, parser):
    text = '"age" "city"\n"1" 31 "Oslo"\n"2" 45 "Lyon"\n'
    result = read_table(write("r.txt", text))
    assert result.frame.columns.tolist() == ["column_1", "age", "city"]
    assert result.info["renamed_columns"] == {"column_1": ""}
    assert rows_of(result) == [["1", "31", "Oslo"], ["2", "45", "Lyon"]]


def test_r_style_row_names_comma(write, parser):
    result = read_table(write("r.csv", "a,b\n1,x,y\n2,z,w\n"))
    assert result.frame.columns.tolist() == ["column_1", "a", "b"]
    assert result.info["header_fix"] == "row_names"


def test_trailing_delimiter_on_data_lines(write, parser):
    result = read_table(write("t.csv", "a,b\n1,2,\n3,4,\n"))
    assert result.frame.columns.tolist() == ["a", "b", "column_3"]
    assert rows_of(result) == [["1", "2", None], ["3", "4", None]]
    assert result.info["header_fix"] == "trailing_delimiter"


def test_trailing_delimiter_on_header(write, parser):
    result = read_table(write("t.csv", "a;b;\n1;2\n3;4\n"))
    assert result.frame.columns.tolist() == ["a", "b"]
    assert result.rejects.empty
    assert result.info["header_fix"] == "header_trailing_delimiter"


# ----------------------------------------------------------------------------- header names


def test_duplicate_and_blank_headers(write, parser):
    result = read_table(write("d.csv", "id,score,score, ,score\n1,2,3,4,5\n"))
    assert result.frame.columns.tolist() == ["id", "score", "score_2", "column_4", "score_3"]
    assert result.info["renamed_columns"] == {"score_2": "score", "column_4": " ",
                                              "score_3": "score"}


def test_generated_names_do_not_collide(write, parser):
    result = read_table(write("d.csv", "a,a,a_2,,column_4\n1,2,3,4,5\n"))
    assert result.frame.columns.tolist() == ["a", "a_3", "a_2", "column_4_2", "column_4"]


def test_header_names_are_stripped(write, parser):
    result = read_table(write("d.csv", " id , age\n1,2\n"))
    assert result.frame.columns.tolist() == ["id", "age"]
    assert result.info["renamed_columns"] == {"id": " id ", "age": " age"}


# ----------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("content", [b"", b"\n\n", b"  \r\n \t\n"])
def test_empty_file(write, parser, content):
    with pytest.raises(InputFileError, match="is empty"):
        read_table(write("e.csv", content))


@pytest.mark.parametrize("content", ["id,name\n", "id,name", "id,name\r\n\r\n\r\n"])
def test_header_only(write, parser, content):
    with pytest.raises(InputFileError, match="has a header but no data rows"):
        read_table(write("h.csv", content))


def test_missing_file_names_path_and_close_match(tmp_path):
    (tmp_path / "customers.csv").write_text("a\n1\n")
    with pytest.raises(InputFileError, match=r"File not found: .*custmers\.csv.*Did you mean"):
        read_table(tmp_path / "custmers.csv")


def test_missing_folder(tmp_path):
    with pytest.raises(InputFileError, match="does not exist either"):
        read_table(tmp_path / "nope" / "x.csv")


def test_missing_file_is_also_an_oserror(tmp_path):
    with pytest.raises(OSError):
        read_table(tmp_path / "x.csv")


def test_unreadable_file(write):
    import os
    if os.geteuid() == 0:
        pytest.skip("root can read any file")
    path = write("p.csv", "a\n1\n")
    path.chmod(0)
    with pytest.raises(InputFileError, match="permission denied"):
        read_table(path)


def test_binary_file_is_refused(write):
    with pytest.raises(InputFileError, match="NUL bytes"):
        read_table(write("x.csv", b"a,b\n\x00\x01\x02,3\n"))


def test_xls_is_refused_with_a_fix(write):
    with pytest.raises(InputFileError, match=r"save it as \.xlsx"):
        read_table(write("old.xls", b"\xd0\xcf\x11\xe0"))


def test_fake_gz(write):
    with pytest.raises(InputFileError, match="not gzip-compressed"):
        read_table(write("c.csv.gz", "a,b\n1,2\n"))


def test_truncated_gz(write):
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 10000)
    with pytest.raises(InputFileError, match="gzip"):
        read_table(write("c.csv.gz", data[: len(data) // 2]))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"delimiter": "::"}, "'delimiter' parameter of read_table must be one character"),
    ({"delimiter": '"'}, "'delimiter' parameter"),
    ({"sheet": 1}, "'sheet' parameter of read_table applies only to Excel"),
    ({"query": "SELECT 1"}, "'query' parameter of read_table applies only to SQLite"),
    ({"query": 3}, "'query' parameter of read_table must be a str"),
    ({"columns_as_text": "yes"}, "'columns_as_text' parameter"),
])
def test_invalid_parameters(write, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        read_table(write("c.csv", "a,b\n1,2\n"), **kwargs)


def test_source_must_be_a_path():
    with pytest.raises(InvalidParameterError, match="'source' parameter"):
        read_table(pd.DataFrame({"a": [1]}))


# ------------------------------------------------------------------------------------- gzip


def test_gzip_csv(write, parser):
    raw = "id,city\n0001,Zürich\n0002,Oslo\n".encode()
    path = write("c.csv.gz", gzip.compress(raw))
    result = read_table(path)
    assert result.info["compression"] == "gzip"
    assert result.info["format"] == "csv"
    assert rows_of(result) == [["0001", "Zürich"], ["0002", "Oslo"]]
    assert result.info["sha256"] == sha256(path)  # of the bytes on disk


def test_gzip_with_rejects_and_cp1252(write, parser):
    raw = "id;name\n1;Café\n2;x;y\n3;€\n".encode("cp1252")
    result = read_table(write("c.tsv.gz", gzip.compress(raw)))
    assert result.info["encoding"] == "cp1252"
    assert rows_of(result) == [["1", "Café"], ["3", "€"]]
    assert result.rejects["line"].tolist() == [3]


def test_gzip_without_extension_is_sniffed(write):
    result = read_table(write("export", gzip.compress(b"a,b\n1,2\n")))
    assert result.info["format"] == "csv"
    assert result.info["compression"] == "gzip"


def test_multi_member_gzip(write, parser):
    data = gzip.compress(b"a,b\n1,2\n") + gzip.compress(b"3,4\n")
    assert rows_of(read_table(write("m.csv.gz", data))) == [["1", "2"], ["3", "4"]]


# ---------------------------------------------------------------------------------- Parquet


@pytest.fixture
def parquet_parts(tmp_path: Path) -> Path:
    folder = tmp_path / "orders"
    (folder / "year=2023").mkdir(parents=True)
    (folder / "year=2024").mkdir(parents=True)
    pd.DataFrame({"id": ["0001", "0002"], "amount": [1.5, 2.0]}).to_parquet(
        folder / "year=2023" / "part-0.parquet")
    pd.DataFrame({"id": ["0003"], "amount": [3.25]}).to_parquet(
        folder / "year=2024" / "part-0.parquet")
    (folder / "_SUCCESS").write_text("")
    (folder / "year=2024" / ".part-0.parquet.crc").write_text("crc")
    return folder


def test_parquet_file(tmp_path):
    path = tmp_path / "c.parquet"
    frame = pd.DataFrame({"id": ["0001", "0002", None], "n": [1, 2, 3],
                          "x": [0.5, None, 2.0], "k": pd.array([1, None, 3], dtype="Int64")})
    frame.to_parquet(path)
    result = read_table(path)
    assert result.info["format"] == "parquet"
    assert result.info["sha256"] == sha256(path)
    assert result.line_numbers.tolist() == [1, 2, 3]
    out = result.frame
    assert out["id"].tolist()[:2] == ["0001", "0002"]
    assert out["id"].isna().tolist() == [False, False, True]
    assert out["n"].dtype == np.int64
    assert str(out["k"].dtype) == "Int64"
    assert out["x"].isna().tolist() == [False, True, False]


def test_parquet_folder(parquet_parts):
    result = read_table(parquet_parts)
    assert result.frame["id"].tolist() == ["0001", "0002", "0003"]
    assert result.frame["year"].tolist() == [2023, 2023, 2024]
    assert result.line_numbers.tolist() == [1, 2, 3]
    assert len(result.info["files"]) == 2
    assert len(result.info["sha256"]) == 64


def test_parquet_glob(parquet_parts):
    result = read_table(str(parquet_parts / "*" / "*.parquet"))
    assert result.frame["id"].tolist() == ["0001", "0002", "0003"]
    # same files, same digest, whichever way they were named
    assert result.info["sha256"] == read_table(parquet_parts).info["sha256"]


def test_parquet_digest_changes_with_content(parquet_parts):
    before = read_table(parquet_parts).info["sha256"]
    pd.DataFrame({"id": ["0009"], "amount": [9.0]}).to_parquet(
        parquet_parts / "year=2024" / "part-0.parquet")
    assert read_table(parquet_parts).info["sha256"] != before


def test_glob_of_several_csv_files_is_refused(write):
    write("a.csv", "x\n1\n")
    path = write("b.csv", "x\n2\n")
    with pytest.raises(InputFileError, match="only be read together when they are Parquet"):
        read_table(str(path.parent / "*.csv"))


def test_glob_matching_one_csv(write):
    path = write("only.csv", "x\n1\n")
    assert read_table(str(path.parent / "on*.csv")).frame["x"].tolist() == ["1"]


def test_glob_without_match(tmp_path):
    with pytest.raises(InputFileError, match="No file matches"):
        read_table(str(tmp_path / "*.parquet"))


def test_folder_without_parquet(write):
    path = write("f/a.csv", "x\n1\n")
    with pytest.raises(InputFileError, match=r"no Parquet files.*a\.csv"):
        read_table(path.parent)


def test_empty_parquet(tmp_path):
    path = tmp_path / "e.parquet"
    pd.DataFrame({"a": pd.Series([], dtype="int64")}).to_parquet(path)
    with pytest.raises(InputFileError, match="no data rows"):
        read_table(path)


def test_parquet_by_content_without_extension(tmp_path):
    path = tmp_path / "export.bin"
    pd.DataFrame({"a": [1, 2]}).to_parquet(path)
    assert read_table(path).info["format"] == "parquet"


# ------------------------------------------------------------------------------------ Excel


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Customers"
    ws.append(["CustomerID", "Age", "Income", "City", None])
    ws.append(["0001", 31, 55000.5, "Oslo"])
    ws.append([])
    ws.append(["0002", 45, None, "Lyon"])
    ws.append(["0003", "n/a", 1200, None, "note"])
    other = wb.create_sheet("Other")
    other.append(["x"])
    other.append([1])
    path = tmp_path / "customers.xlsx"
    wb.save(path)
    return path


def test_excel_first_sheet(workbook):
    result = read_table(workbook)
    assert result.info["format"] == "excel"
    assert result.info["sheet"] == "Customers"
    frame = result.frame
    assert frame.columns.tolist() == ["CustomerID", "Age", "Income", "City", "column_5"]
    assert frame["CustomerID"].tolist() == ["0001", "0002", "0003"]
    assert isinstance(frame["CustomerID"].dtype, pd.StringDtype)
    assert frame["Age"].tolist() == ["31", "45", "n/a"]  # mixed text and numbers → text
    assert frame["Income"].tolist()[0] == 55000.5
    assert frame["Income"].isna().tolist() == [False, True, False]
    assert frame["column_5"].isna().tolist() == [True, True, False]
    assert result.line_numbers.tolist() == [2, 4, 5]  # sheet rows
    assert result.info["blank_lines"] == 1
    assert result.info["renamed_columns"] == {"column_5": ""}
    assert result.info["sha256"] == sha256(workbook)


@pytest.mark.parametrize("sheet", ["Other", "other", 1])
def test_excel_sheet_by_name_or_position(workbook, sheet):
    assert read_table(workbook, sheet=sheet).frame["x"].tolist() == [1]


def test_excel_missing_sheet(workbook):
    with pytest.raises(InputFileError, match=r"Sheet 'Custmers' not found.*Did you mean"):
        read_table(workbook, sheet="Custmers")
    with pytest.raises(InputFileError, match="out of range"):
        read_table(workbook, sheet=5)


def test_excel_header_not_on_first_row(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.cell(row=3, column=2, value="id")
    ws.cell(row=3, column=3, value="n")
    ws.cell(row=4, column=2, value="A1")
    ws.cell(row=4, column=3, value=2)
    path = tmp_path / "x.xlsx"
    wb.save(path)
    result = read_table(path)
    assert result.frame.columns.tolist() == ["id", "n"]
    assert result.line_numbers.tolist() == [4]


def test_damaged_excel(write):
    with pytest.raises(InputFileError, match="cannot be opened as an Excel workbook"):
        read_table(write("bad.xlsx", b"PK\x03\x04 not really"))


# ------------------------------------------------------------------------------------- JSON


def test_json_lines(write):
    lines = [
        json.dumps({"id": "0001", "n": 1, "tags": {"vip": True}}),
        "",
        json.dumps({"id": "0002", "n": None, "extra": "x"}),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"id": "0003", "n": 3}),
    ]
    result = read_table(write("c.jsonl", "\n".join(lines) + "\n"))
    assert result.info["format"] == "json"
    frame = result.frame
    assert frame.columns.tolist() == ["id", "n", "tags", "extra"]
    assert frame["id"].tolist() == ["0001", "0002", "0003"]
    assert str(frame["n"].dtype) == "Int64"
    assert frame["tags"][0] == {"vip": True}
    assert result.line_numbers.tolist() == [1, 3, 6]
    assert result.rejects["line"].tolist() == [4, 5]
    assert result.rejects["reason"].tolist() == ["bad_json", "not_an_object"]
    assert result.rejects["raw"][0] == "{not json"
    assert result.info["rows_read"] == 5
    assert result.info["blank_lines"] == 1


def test_ndjson_gz_with_bom_and_crlf(write):
    data = b"\xef\xbb\xbf" + b'{"a": 1}\r\n{"a": 2}\r\n'
    result = read_table(write("c.ndjson.gz", gzip.compress(data)))
    assert result.frame["a"].tolist() == [1, 2]
    assert result.info["compression"] == "gzip"


def test_json_array(write):
    result = read_table(write("c.json", json.dumps([{"a": 1}, {"a": 2, "b": "x"}, 3])))
    assert result.frame["a"].tolist() == [1, 2]
    assert result.line_numbers.tolist() == [1, 2]
    assert result.rejects["reason"].tolist() == ["not_an_object"]


def test_json_sniffed_without_extension(write):
    assert read_table(write("feed", '{"a": 1}\n')).info["format"] == "json"


def test_empty_json(write):
    with pytest.raises(InputFileError, match="is empty"):
        read_table(write("e.jsonl", "\n \n"))


# ----------------------------------------------------------------------------- databases


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id TEXT, age INTEGER, spend REAL)")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                    [("0001", 31, 10.5), ("0002", None, 3.0), ("0003", 52, None)])
    con.commit()
    con.close()
    return path


def test_sqlite_single_table(sqlite_db):
    result = read_table(sqlite_db)
    assert result.info["format"] == "sqlite"
    frame = result.frame
    assert frame["id"].tolist() == ["0001", "0002", "0003"]
    assert str(frame["age"].dtype) == "Int64"
    assert frame["spend"].dtype == np.float64
    assert result.line_numbers.tolist() == [1, 2, 3]
    assert result.info["sha256"] == sha256(sqlite_db)


def test_sqlite_query_and_table_name(sqlite_db):
    con = sqlite3.connect(sqlite_db)
    con.execute("CREATE TABLE other (x)")
    con.commit()
    con.close()
    with pytest.raises(InputFileError, match=r"holds 2 tables.*query="):
        read_table(sqlite_db)
    assert len(read_table(sqlite_db, query="customers").frame) == 3
    result = read_table(sqlite_db, query="SELECT id FROM customers WHERE age > 40")
    assert result.frame["id"].tolist() == ["0003"]
    with pytest.raises(InputFileError, match=r"Table 'custmers' not found.*Did you mean"):
        read_table(sqlite_db, query="custmers")
    with pytest.raises(InputFileError, match="no data rows"):
        read_table(sqlite_db, query="SELECT * FROM customers WHERE 0")


def test_sqlite_is_read_only(sqlite_db):
    with pytest.raises(InputFileError, match="query failed"):
        read_table(sqlite_db, query="WITH x AS (SELECT 1) DELETE FROM customers")
    assert len(read_table(sqlite_db, query="customers").frame) == 3


def test_duckdb_database(tmp_path):
    import duckdb

    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE c AS SELECT '000' || range::VARCHAR AS id, range AS n "
                "FROM range(3)")
    con.close()
    result = read_table(path)
    assert result.frame["id"].tolist() == ["0000", "0001", "0002"]
    assert read_table(path, query="SELECT n FROM c WHERE n > 0").frame["n"].tolist() == [1, 2]


def test_sqlite_extension_but_not_a_database(write):
    with pytest.raises(InputFileError, match="SQLite"):
        read_table(write("x.db", "just text\n"))


# ------------------------------------------------------------------------------- properties

_CELL = st.text(alphabet=st.sampled_from(list("ab0Z -'=.") + [",", ";", "|", "\t", '"', "\n",
                                                              "\r", "é", "€"]),
                max_size=8)


@st.composite
def delimited_files(draw):
    ncols = draw(st.integers(2, 4))
    names = [f"c{i}" for i in range(ncols)]
    rows = draw(st.lists(st.lists(_CELL, min_size=ncols, max_size=ncols), min_size=1,
                         max_size=12))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    final_newline = draw(st.booleans())
    gz = draw(st.booleans())
    if any("\r" in cell for row in rows for cell in row):
        quoting = csv.QUOTE_ALL  # Python 3.11's writer leaves a lone "\r" unquoted
    return names, rows, delimiter, quoting, eol, encoding, final_newline, gz


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=delimited_files())
def test_written_tables_read_back_exactly(tmp_path_factory, case):
    names, rows, delimiter, quoting, eol, encoding, final_newline, gz = case
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=eol).writerows(
        [names, *rows])
    text = buffer.getvalue()
    if not final_newline:
        text = text[: -len(eol)]
    data = text.encode(encoding)
    name = "t.csv.gz" if gz else "t.csv"
    path = tmp_path_factory.mktemp("prop") / name
    path.write_bytes(gzip.compress(data) if gz else data)

    # A row whose cells are all blank is written as an empty line: readers skip it.
    kept = [r for r in rows if not (len(names) == 1 and not r[0])]
    expected = [[c if c.strip() else None for c in r] for r in kept]
    results = {}
    for parser in ("duckdb", "python"):
        # DuckDB for any size, then the csv module alone.
        small = 0 if parser == "duckdb" else 1 << 40
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(text_module, "SMALL_FILE_BYTES", small)
            result = read_table(path, delimiter=delimiter)
        # A "\r" without "\n" in a cell sends even DuckDB-sized files to the csv module.
        lone_cr = any("\r" in cell.replace("\r\n", "") for row in rows for cell in row)
        assert result.info["parser"] == ("python" if lone_cr else parser)
        assert result.rejects.empty, result.rejects.to_dict("records")
        assert result.frame.columns.tolist() == names
        assert rows_of(result) == expected
        assert result.info["rows_read"] == len(kept)
        results[parser] = result.line_numbers.tolist()
    assert results["duckdb"] == results["python"]
    # Line numbers point at the physical line each record starts on.
    physical = text.replace("\r\n", "\n").split("\n")
    for line, row in zip(results["python"], kept, strict=True):
        first = next((c for c in row if c), None)
        if first is not None and "\n" not in first and "\r" not in first:
            assert first.replace('"', '""') in physical[line - 1] or first in physical[line - 1]


_GARBAGE = st.lists(st.sampled_from(["a", ",", '"', '"', "\n", "\r", "\r\n", " ", "é"]),
                    max_size=40).map("".join)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_GARBAGE)
def test_both_parsers_agree_on_malformed_files(tmp_path_factory, body):
    """Whatever the bytes, the fast path and the csv module give the same rows and rejects."""
    path = tmp_path_factory.mktemp("garbage") / "g.csv"
    path.write_bytes(("h1,h2,h3\n" + body).encode())
    outcomes = []
    for small in (0, 1 << 40):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(text_module, "SMALL_FILE_BYTES", small)
            try:
                result = read_table(path, delimiter=",")
            except InputFileError as exc:
                outcomes.append(str(exc))
                continue
        assert result.info["rows_read"] == len(result.frame) + len(result.rejects)
        outcomes.append((rows_of(result), result.line_numbers.tolist(),
                         result.rejects.values.tolist(), result.info["blank_lines"]))
    assert outcomes[0] == outcomes[1]


_PLAIN = st.text(alphabet=st.sampled_from(list("abcXYZ019 ._-éü")), min_size=1, max_size=10)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ncols=st.integers(2, 6), delimiter=st.sampled_from([",", ";", "\t", "|"]),
       data=st.data())
def test_delimiter_is_sniffed_on_plain_tables(tmp_path_factory, ncols, delimiter, data):
    rows = data.draw(st.lists(st.lists(_PLAIN.filter(lambda s: s.strip() == s),
                                       min_size=ncols, max_size=ncols),
                              min_size=2, max_size=20))
    names = [f"col{i}" for i in range(ncols)]
    text = "\n".join(delimiter.join(r) for r in [names, *rows]) + "\n"
    path = tmp_path_factory.mktemp("sniff") / "t.csv"
    path.write_text(text, encoding="utf-8")
    result = read_table(path)
    assert result.info["delimiter"] == delimiter
    assert result.frame.values.tolist() == rows


# ---------------------------------------------------------------------- the shared datasets


@pytest.mark.shared_data
def test_mall_customers(shared, parser):
    path = shared("mall_customers", "Mall_Customers.csv")
    result = read_table(path)
    frame = result.frame
    assert len(frame) == 200
    assert frame.columns.tolist() == ["CustomerID", "Genre", "Age", "Annual Income (k$)",
                                      "Spending Score (1-100)"]
    assert frame["CustomerID"].iloc[0] == "0001"
    assert frame["CustomerID"].iloc[-1] == "0200"
    assert frame["Spending Score (1-100)"].iloc[-1] == "83"  # last line has no final newline
    assert result.line_numbers[0] == 2
    assert result.line_numbers[-1] == 201
    assert result.rejects.empty
    assert result.info["rows_read"] == 200


@pytest.mark.shared_data
def test_marketing_campaign(shared, parser):
    result = read_table(shared("marketing_campaign", "marketing_campaign.csv"))
    assert result.info["delimiter"] == "\t"
    assert result.frame.shape == (2240, 29)
    assert result.frame["Income"].isna().sum() == 24
    assert result.rejects.empty


@pytest.mark.shared_data
def test_cc_general(shared, parser):
    result = read_table(shared("cc_general", "CC GENERAL.csv"))
    frame = result.frame
    assert frame.shape == (8950, 18)
    assert frame["CUST_ID"].is_unique
    assert frame["MINIMUM_PAYMENTS"].isna().sum() == 313
    assert frame["CREDIT_LIMIT"].isna().sum() == 1
    assert result.rejects.empty


@pytest.mark.shared_data
def test_online_retail(shared):
    path = shared("online_retail", "online_retail.csv.gz")
    result = read_table(path)
    # 541,910 lines: one header and 541,909 invoice lines.
    assert result.info["rows_read"] == 541_909
    assert len(result.frame) == 541_909
    assert result.rejects.empty
    assert result.info["compression"] == "gzip"
    frame = result.frame
    assert frame.columns.tolist() == ["InvoiceNo", "StockCode", "Description", "Quantity",
                                      "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
    assert frame["CustomerID"].isna().sum() == 135_080
    assert frame["CustomerID"].iloc[0] == "17850.0"
    assert frame["InvoiceNo"].str.startswith("C").sum() == 9_288
    assert result.line_numbers[-1] == 541_910
    assert "RECORD FRAME 7\" SINGLE SIZE " in set(frame["Description"].dropna())


# ------------------------------------------------------------------------------------ speed


@pytest.mark.slow
def test_a_million_rows_read_in_seconds(tmp_path):
    import time

    n = 1_000_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n).round(4) for i in range(8)})
    frame.insert(0, "id", np.char.zfill(np.arange(n).astype(str), 7))
    frame["city"] = rng.choice(["Oslo", "São Paulo", "Lyon, FR"], n)
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    start = time.perf_counter()
    result = read_table(path)
    elapsed = time.perf_counter() - start
    assert len(result.frame) == n
    assert result.frame["id"].iloc[5] == "0000005"
    assert result.line_numbers[-1] == n + 1
    assert elapsed < 10, f"reading 1M rows took {elapsed:.1f}s"
