"""Tests for custseg.io writers: atomic replacement, CSV injection guard, JSON, Parquet."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg import InvalidParameterError
from custseg.io import (
    FORMULA_PREFIXES,
    atomic_write,
    guard_formulas,
    read_table,
    to_jsonable,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ------------------------------------------------------------------------------ atomic_write


def test_atomic_write_text_and_binary(tmp_path):
    with atomic_write(tmp_path / "a.txt") as f:
        f.write("é\n")
    assert (tmp_path / "a.txt").read_bytes() == "é\n".encode()
    with atomic_write(tmp_path / "b.bin", "wb") as f:
        f.write(b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert leftovers(tmp_path) == []


def test_exception_mid_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_write(target) as f:
        f.write("partial,row\n" * 1000)
        f.flush()
        raise RuntimeError("disk on fire")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_exception_mid_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt), atomic_write(target) as f:
        f.write("new")
        raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_temporary_file_is_beside_the_target_until_the_end(tmp_path):
    target = tmp_path / "sub" / "out.txt"  # missing folders are created
    with atomic_write(target) as f:
        f.write("x")
        assert not target.exists()
        assert [p.name.startswith(".out.txt.") for p in target.parent.iterdir()] == [True]
    assert target.read_text() == "x"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_replacing_keeps_permissions(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    write_text("new", target)
    assert target.read_text() == "new"
    assert (target.stat().st_mode & 0o777) == 0o640


def test_new_files_follow_the_umask(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    old = os.umask(0o022)
    try:
        write_text("x", tmp_path / "new.txt")
    finally:
        os.umask(old)
    assert ((tmp_path / "new.txt").stat().st_mode & 0o777) == 0o644


def test_atomic_write_mode_is_validated(tmp_path):
    bad = atomic_write(tmp_path / "x", "a")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'mode' parameter of atomic_write"), bad:
        pass


def test_failed_writers_leave_nothing(tmp_path):
    with pytest.raises(TypeError):
        write_json({"x": object()}, tmp_path / "s.json")
    with pytest.raises(ValueError, match="infinity"):
        write_json({"x": math.inf}, tmp_path / "s.json")
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------------- write_csv


def test_guard_neutralises_formulas_but_not_numbers(tmp_path):
    frame = pd.DataFrame({
        "id": ["=1+1", "+33 1 23", "-12.5", "@SUM(A1)", "\tx", "\rx", "0001", "a=b", None],
        "segment": pd.Series(["=HYPERLINK(\"x\")", "ok", "-", "", "x", "y", "z", "w", "v"],
                             dtype="string"),
        "delta": [-5, 3, -1, 0, 1, 2, 3, 4, 5],
        "score": [-2.5, 0.0, np.nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })
    path = tmp_path / "s.csv"
    write_csv(frame, path)
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(back) == len(frame)
    assert back["id"].tolist() == ["'=1+1", "'+33 1 23", "'-12.5", "'@SUM(A1)", "'\tx",
                                   "'\rx", "0001", "a=b", ""]
    assert back["segment"].tolist()[:3] == ["'=HYPERLINK(\"x\")", "ok", "'-"]
    assert back["delta"].tolist()[:3] == ["-5", "3", "-1"]
    assert back["score"].tolist()[:3] == ["-2.5", "0.0", ""]


def test_carriage_returns_inside_text_stay_inside_their_row(tmp_path):
    path = tmp_path / "s.csv"
    write_csv(pd.DataFrame({"note": ["a\rb", "c\nd"], "n": [1, 2]}), path, guard=False)
    result = read_table(path)
    assert result.frame["note"].tolist() == ["a\rb", "c\nd"]
    assert result.frame["n"].tolist() == ["1", "2"]


@pytest.mark.parametrize("rows", [2, 20_000])
def test_carriage_returns_are_quoted_with_the_same_line_ends_at_any_size(tmp_path, rows):
    path = tmp_path / "s.csv"
    note = (["a\rb", "plain"] * rows)[:rows]
    write_csv(pd.DataFrame({"note": note, "n": range(rows)}), path, guard=False)
    data = path.read_bytes()
    assert data.startswith(b'note,n\n"a\rb",0\nplain,1\n')
    assert data.count(b"\r") == (rows + 1) // 2  # only inside the quoted fields
    assert read_table(path).frame["note"].tolist() == note


def test_guard_covers_column_names_categoricals_and_mixed_objects(tmp_path):
    frame = pd.DataFrame({
        "=cmd": ["a", "b"],
        "cat": pd.Categorical(["-x", "y"]),
        "mixed": pd.Series([-7, "=z"], dtype=object),
    })
    path = tmp_path / "s.csv"
    write_csv(frame, path)
    lines = path.read_text().splitlines()
    assert lines[0] == "'=cmd,cat,mixed"
    assert lines[1] == "a,'-x,-7"
    assert lines[2] == "b,y,'=z"


def test_guard_can_be_turned_off(tmp_path):
    path = tmp_path / "s.csv"
    write_csv(pd.DataFrame({"f": ["=1+1"]}), path, guard=False)
    assert path.read_text() == "f\n=1+1\n"


def test_guard_formulas_does_not_touch_the_input():
    frame = pd.DataFrame({"f": ["=1"]})
    assert guard_formulas(frame)["f"].tolist() == ["'=1"]
    assert frame["f"].tolist() == ["=1"]
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}


def test_write_csv_named_index_and_round_trip(tmp_path):
    frame = pd.DataFrame({"segment": [0, 1], "name": ["Big spenders", "Quiet, loyal"]},
                         index=pd.Index(["0001", "0002"], name="customer_id"))
    path = tmp_path / "segments.csv"
    write_csv(frame, path)
    result = read_table(path)
    assert result.frame.columns.tolist() == ["customer_id", "segment", "name"]
    assert result.frame["customer_id"].tolist() == ["0001", "0002"]
    assert result.frame["name"].tolist() == ["Big spenders", "Quiet, loyal"]


def test_write_csv_unnamed_index_is_left_out(tmp_path):
    path = tmp_path / "s.csv"
    write_csv(pd.DataFrame({"a": [1, 2]}, index=[5, 9]), path)
    assert path.read_text() == "a\n1\n2\n"


def test_write_csv_rejects_non_frames(tmp_path):
    with pytest.raises(InvalidParameterError, match="write_csv expects a pandas DataFrame"):
        write_csv([[1]], tmp_path / "x.csv")


# ---------------------------------------------------------------------------- write_parquet


def test_write_parquet_round_trip(tmp_path):
    frame = pd.DataFrame({"id": pd.Series(["0001", None], dtype="string"), "k": [1, 2],
                          "x": [0.5, np.nan]})
    path = tmp_path / "f.parquet"
    write_parquet(frame, path)
    back = read_table(path).frame
    assert back["id"].tolist()[0] == "0001"
    assert back["id"].isna().tolist() == [False, True]
    assert back["k"].tolist() == [1, 2]
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------------------- write_json


def test_write_json_keeps_order_and_turns_nan_into_null(tmp_path):
    obj = {
        "rows_read": np.int64(200), "k": 5, "silhouette": float("nan"),
        "inertia": np.float32(1.5), "flags": np.array([True, False]),
        "missing": pd.NA, "when": pd.Timestamp("2024-01-02 03:04:05"),
        "day": dt.date(2024, 1, 2), "path": Path("out/model.json"),
        "table": pd.DataFrame({"a": [1.0, np.nan]}),
        "nested": {"z": 1, "a": [np.nan, 2]},
    }
    path = tmp_path / "summary.json"
    write_json(obj, path)
    text = path.read_text()
    assert text.endswith("}\n")
    assert '  "rows_read": 200' in text  # indent=2
    loaded = json.loads(text)
    assert list(loaded) == list(obj)  # insertion order, not sorted
    assert loaded["silhouette"] is None
    assert loaded["inertia"] == 1.5
    assert loaded["flags"] == [True, False]
    assert loaded["missing"] is None
    assert loaded["when"] == "2024-01-02T03:04:05"
    assert loaded["day"] == "2024-01-02"
    assert loaded["path"] == "out/model.json"
    assert loaded["table"] == [{"a": 1.0}, {"a": None}]
    assert list(loaded["nested"]) == ["z", "a"]
    assert loaded["nested"]["a"] == [None, 2]


def test_write_json_unicode_is_written_as_is(tmp_path):
    path = tmp_path / "n.json"
    write_json({"name": "Zürich €"}, path)
    assert "Zürich €" in path.read_text(encoding="utf-8")


def test_to_jsonable_passes_plain_values():
    assert to_jsonable({"a": [1, "x", None, True]}) == {"a": [1, "x", None, True]}


# ------------------------------------------------------------------------------- write_text


def test_write_text_keeps_line_ends(tmp_path):
    path = tmp_path / "r.html"
    write_text("<p>a</p>\r\n<p>b</p>\n", path)
    assert path.read_bytes() == b"<p>a</p>\r\n<p>b</p>\n"
    with pytest.raises(InvalidParameterError, match="write_text expects a str"):
        write_text(b"bytes", path)  # type: ignore[arg-type]
