"""A lone carriage return (a "\\r" not followed by "\\n") in an order log is data.

DuckDB's CSV reader ends a record there (the line splits into malformed records, or the file
cannot be read at all); custseg.features reads a temporary copy instead, as custseg.io reads
customer tables. See custseg.features._source.
"""

from __future__ import annotations

import gzip
import hashlib
import tempfile
from pathlib import Path

import pytest

from custseg import InputFileError
from custseg.features import _source, rfm

HEADER = b"InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"


def _log(*lines: bytes, eol: bytes = b"\n") -> bytes:
    return eol.join((HEADER, *lines)) + eol


def _rejects(res) -> list[tuple[int, str]]:
    return list(zip(res.rejects["line"], res.rejects["reason"], strict=True))


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The files custseg copied without their lone carriage returns (temporary files go to
    a folder of their own, checked empty afterwards)."""
    made: list[str] = []
    write = _source._write_without_lone_cr

    def spy(path: str, out: str, delimiter: str) -> int | None:
        made.append(Path(path).name)
        return write(path, out, delimiter)

    monkeypatch.setattr(_source, "_write_without_lone_cr", spy)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    yield made
    assert not list(temp.iterdir()), "temporary copies must be deleted"


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_lone_cr_in_an_unquoted_id_is_part_of_the_id(tmp_path: Path, eol: bytes,
                                                     copies: list[str]) -> None:
    data = _log(b"500000,\r=1,2011-01-01,1,1.00", b"500000,12001,2011-02-02,2,1.50",
                b"500001,12002,2011-03-03,3,2.00", b"500001,,2011-04-04,4,2.50",
                b"500002,12002,2011-04-04,1,2.00,extra", b"500003,12003,2011-04-05,1,1.00",
                eol=eol)
    src = tmp_path / "orders.csv"
    src.write_bytes(data)
    res = rfm(str(src))
    s = res.summary
    assert (s["lines_read"], s["lines_used"], s["lines_excluded"]) == (6, 4, 2)
    assert _rejects(res) == [(5, "missing_customer_id"), (6, "malformed_row")]
    assert sorted(res.features["CustomerID"]) == ["\r=1", "12001", "12002", "12003"]
    assert copies == ["orders.csv"]
    assert src.read_bytes() == data, "the input must not change"


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_lone_cr_in_a_quoted_field(tmp_path: Path, eol: bytes) -> None:
    src = tmp_path / "orders.csv"
    src.write_bytes(_log(b'500000,"A\rB",2011-01-01,1,1.00', b"500001,B,2011-01-02,1,2.00",
                         b"500002,,2011-01-03,1,3.00", b"500003,C,2011-01-04,1,2.00,x",
                         b'500004,"A\rB",2011-01-05,2,1.00', eol=eol))
    res = rfm(str(src))
    assert res.summary["lines_read"] == 5
    assert _rejects(res) == [(4, "missing_customer_id"), (5, "malformed_row")]
    frame = res.features.set_index("CustomerID")
    assert sorted(frame.index) == ["A\rB", "B"]
    assert frame.loc["A\rB", "frequency"] == 2


def test_lone_cr_in_the_last_field_is_kept_in_the_rejected_value(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    src.write_bytes(_log(b"500000,A,2011-01-01,1,1.\r50", b"500001,B,2011-01-02,1,2.00",
                         b"500002,C,2011-01-03,1,2.00\rX", b"500003,,2011-01-04,1,3.00"))
    res = rfm(str(src))
    assert (res.summary["lines_read"], res.summary["lines_used"]) == (4, 1)
    assert _rejects(res) == [(2, "invalid_price"), (4, "invalid_price"),
                             (5, "missing_customer_id")]
    assert res.rejects["UnitPrice"].tolist()[:2] == ["1.\r50", "2.00\rX"]
    assert res.features["CustomerID"].tolist() == ["A", "B", "C"]


def test_lone_cr_in_a_gzipped_log(tmp_path: Path, copies: list[str]) -> None:
    lines = [b"5%05d,%d,2011-01-%02d,1,1.00" % (i, 12000 + i % 7, 1 + i % 28)
             for i in range(2000)]
    lines[1500] = b"501500,12\r000,2011-01-01,1,1.00"
    lines[1700] = b"501700,,2011-01-01,1,1.00"
    src = tmp_path / "orders.csv.gz"
    data = gzip.compress(_log(*lines), mtime=0)
    src.write_bytes(data)
    res = rfm(str(src))
    assert res.summary["lines_read"] == 2000
    assert _rejects(res) == [(1702, "missing_customer_id")]
    frame = res.features.set_index("CustomerID")
    assert frame.loc["12\r000", "n_lines"] == 1
    assert copies == ["orders.csv.gz"]
    assert src.read_bytes() == data


def test_lone_cr_in_one_file_of_a_folder(tmp_path: Path, copies: list[str]) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.csv").write_bytes(_log(b"1,A,2011-01-01,1,1.00", b"2,B,2011-01-02,1,1.00,x",
                                        b"3,,2011-01-03,1,1.00"))
    (folder / "b.csv").write_bytes(_log(b"4,C\r1,2011-01-04,1,1.00", b"5,D,2011-01-05,1,1.00",
                                        b"6,E,2011-01-06,1,1.00,x", b"7,,2011-01-07,1,1.00",
                                        b"8,F,2011-01-08,1,1.\r00"))
    (folder / "c.csv").write_bytes(_log(b"9,G,2011-01-09,1,1.00", b"10,,2011-01-10,1,1.00"))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    res = rfm(str(folder))
    rej = res.rejects
    assert list(zip(rej["file"].map(lambda f: Path(f).name), rej["line"], rej["reason"],
                    strict=True)) == [("a.csv", 3, "malformed_row"),
                                      ("a.csv", 4, "missing_customer_id"),
                                      ("b.csv", 4, "malformed_row"),
                                      ("b.csv", 5, "missing_customer_id"),
                                      ("b.csv", 6, "invalid_price"),
                                      ("c.csv", 3, "missing_customer_id")]
    assert set(rej["file"]) == {str(folder / n) for n in ("a.csv", "b.csv", "c.csv")}
    assert rej.loc[rej["reason"] == "invalid_price", "UnitPrice"].tolist() == ["1.\r00"]
    s = res.summary
    assert (s["lines_read"], s["lines_used"], s["lines_excluded"]) == (10, 4, 6)
    assert sorted(res.features["CustomerID"]) == ["A", "C\r1", "D", "F", "G"]
    assert copies == ["b.csv"]
    assert before == {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                      for p in folder.iterdir()}


def test_old_mac_line_ends_are_line_ends(tmp_path: Path, copies: list[str]) -> None:
    """A file with no "\\n": its carriage returns end lines, also when a line is malformed
    (which makes custseg look for lone carriage returns)."""
    src = tmp_path / "orders.csv"
    src.write_bytes(_log(b"1,A,2011-01-01,1,1.00", b"2,B,2011-01-02,1,1.00,x",
                         b"3,,2011-01-03,1,1.00", b"4,C,2011-01-04,2,1.00", eol=b"\r"))
    res = rfm(str(src))
    assert res.summary["lines_read"] == 4
    assert _rejects(res) == [(3, "malformed_row"), (4, "missing_customer_id")]
    assert sorted(res.features["CustomerID"]) == ["A", "C"]
    assert copies == []


def test_carriage_return_that_ends_the_file_ends_the_last_line(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    src.write_bytes(_log(b"1,A,2011-01-01,1,1.00", b"2,,2011-01-02,1,1.00",
                         b"3,B,2011-01-03,1,2.50")[:-1] + b"\r")
    res = rfm(str(src))
    assert res.summary["lines_read"] == 3
    assert _rejects(res) == [(3, "missing_customer_id")]
    assert res.features.set_index("CustomerID").loc["B", "monetary"] == 2.5


def test_lone_cr_in_the_header(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    src.write_bytes(b"InvoiceNo,Customer\rID,InvoiceDate,Quantity,UnitPrice\n"
                    b"1,A,2011-01-01,1,1.00\n2,,2011-01-02,1,1.00\n3,B,2011-01-03,1,2.00\n")
    res = rfm(str(src), customer_id="Customer\rID")
    assert res.summary["lines_read"] == 3
    assert _rejects(res) == [(3, "missing_customer_id")]
    assert sorted(res.features["Customer\rID"]) == ["A", "B"]


def test_the_stand_in_byte_is_chosen_outside_the_file(tmp_path: Path) -> None:
    """The file already holds the first candidate byte (\\x1e) as data: both survive."""
    src = tmp_path / "orders.csv"
    src.write_bytes(_log(b"1,A\x1e\rB,2011-01-01,1,1.00", b"2,,2011-01-02,1,1.00",
                         b"3,\x1e,2011-01-03,1,1.00"))
    res = rfm(str(src))
    assert res.summary["lines_read"] == 3
    assert _rejects(res) == [(3, "missing_customer_id")]
    assert sorted(res.features["CustomerID"]) == ["\x1e", "A\x1e\rB"]


def test_clean_and_ragged_files_are_not_copied(tmp_path: Path, copies: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    searched: list[str] = []
    search = _source._has_lone_cr
    monkeypatch.setattr(_source, "_has_lone_cr",
                        lambda path: searched.append(Path(path).name) or search(path))
    (tmp_path / "clean.csv").write_bytes(_log(b"1,A,2011-01-01,1,1.00", b"2,,2011-01-02,1,1"))
    (tmp_path / "ragged.csv").write_bytes(_log(b"1,A,2011-01-01,1,1.00", b"2,B,2011-01-02,1"))
    assert rfm(str(tmp_path / "clean.csv")).summary["lines_read"] == 2
    assert searched == []  # no malformed record: the bytes are not read again
    res = rfm(str(tmp_path / "ragged.csv"))
    assert _rejects(res) == [(3, "malformed_row")]
    assert searched == ["ragged.csv"]
    assert copies == []


def test_an_error_in_the_copy_names_the_users_file(tmp_path: Path, copies: list[str]) -> None:
    src = tmp_path / "orders.csv"
    src.write_bytes(_log(*[b'%d,A\rB,""2011-01-0%d"",1,1.00' % (i, 1 + i) for i in range(5)],
                         eol=b"\r\n"))
    with pytest.raises(InputFileError) as info:
        rfm(str(src))
    message = str(info.value)
    assert str(src) in message
    assert "custseg-cr-" not in message
    assert copies == ["orders.csv"]


def test_a_copy_duckdb_cannot_read_falls_back_to_the_file(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """No file DuckDB reads becomes unreadable: when the copy fails, the file is read as
    DuckDB reads it (the lone carriage return then splits its line, as before)."""
    calls: list[str] = []

    def broken_copy(path: str, out: str, delimiter: str) -> int:
        calls.append(Path(path).name)
        Path(out).write_bytes(b'a,b\n"x\n')  # a quote never closed
        return 0x1E

    monkeypatch.setattr(_source, "_write_without_lone_cr", broken_copy)
    src = tmp_path / "orders.csv"
    src.write_bytes(_log(b"500000,\r=1,2011-01-01,1,1.00", b"500000,12001,2011-02-02,2,1.50",
                         b"500001,12002,2011-03-03,3,2.00", b"500001,,2011-04-04,4,2.50"))
    res = rfm(str(src))
    s = res.summary
    assert (s["lines_read"], s["lines_used"], s["lines_excluded"]) == (5, 2, 3)
    assert _rejects(res) == [(2, "malformed_row"), (3, "malformed_row"),
                             (6, "missing_customer_id")]
    assert calls == ["orders.csv"]
