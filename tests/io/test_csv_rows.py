"""Rows joined by numba are the bytes Arrow's joins give, and write_csv's bytes either way."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.io import _write, write_csv
from custseg.io._csv_rows import join_rows  # (imports numba: the numba path is taken)
from custseg.io._write import _joined_rows, _text_bytes

_FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6)


def _arrow_join(cols: list[pa.Array]) -> bytes:
    cols = [*cols[:-1], pc.binary_join_element_wise(cols[-1], "", "\n")]
    lines = pc.binary_join_element_wise(*cols, ",") if len(cols) > 1 else cols[0]
    return _text_bytes(lines)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 5).flatmap(lambda c: st.lists(
    st.lists(_FIELD, min_size=c, max_size=c), min_size=1, max_size=30)), st.integers(0, 3))
def test_joined_rows_are_arrows_bytes(rows, cut):
    columns = [pa.array([r[j] for r in rows]) for j in range(len(rows[0]))]
    # slices of longer arrays too (a block of a column shares its buffers)
    columns = [c.slice(min(cut, len(c) - 1)) for c in columns]
    assert bytes(_joined_rows(columns)) == _arrow_join(columns)


def test_join_rows_kernel_on_hand_made_offsets():
    data = np.frombuffer(b"abcxy", np.uint8)
    offsets = np.array([[0, 2, 3], [3, 3, 5]], np.int64)  # row 0: "ab", ""; row 1: "c", "xy"
    assert bytes(join_rows(offsets, data)) == b"ab,\nc,xy\n"


@pytest.mark.parametrize("with_numba", [True, False])
def test_write_csv_bytes_with_and_without_numba(tmp_path, monkeypatch, with_numba):
    if not with_numba:
        monkeypatch.delitem(sys.modules, "numba")  # (the Arrow joins, as in a light command)
    rng = np.random.default_rng(3)
    n = _write._CSV_BLOCK_ROWS + 777  # two blocks
    frame = pd.DataFrame({
        "id": rng.integers(1, 10**9, n),
        "name": pd.Series(rng.choice(["Recent", "Frequent · High spend", "a,b", "=1+1"], n),
                          dtype="string"),
        "distance": rng.random(n),
        "when": pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n),
                                                             unit="s")})
    write_csv(frame, tmp_path / "out.csv")
    expected = _write.guard_formulas(frame).to_csv(index=False, lineterminator="\n")
    assert (tmp_path / "out.csv").read_bytes() == expected.encode()
