"""Row accounting of a segmentation job: every row segmented or rejected with a reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg._pipeline import account_rows


@pytest.fixture
def table():
    return pd.DataFrame({
        "id": ["a", "b", "c", "a", None, "f", "g"],
        "x": ["1", "2", "abc", "4", "5", "", ""],
        "y": ["1", "", "3", "4", "5", "", "7"],
    }, dtype="string")


@pytest.mark.parametrize(
    ("missing", "duplicates", "kept", "reasons"),
    [
        ("impute", "reject", [0, 1, 6],
         ["invalid_value", "duplicate_id", "missing_id", "all_features_missing"]),
        ("reject", "reject", [0],
         ["missing_value", "invalid_value", "duplicate_id", "missing_id", "all_features_missing",
          "missing_value"]),
        ("impute", "keep", [0, 1, 3, 6],
         ["invalid_value", "missing_id", "all_features_missing"]),
    ],
)
def test_account_rows(table, missing, duplicates, kept, reasons):
    lines = np.arange(2, 2 + len(table))
    keep, rejects, imputed = account_rows(table, lines, ["x", "y"], "id", missing=missing,
                                          duplicates=duplicates)
    assert np.flatnonzero(keep).tolist() == kept
    assert rejects["reason"].tolist() == reasons
    assert keep.sum() + len(rejects) == len(table)
    assert set(rejects["line"]) == set(lines[~keep])
    if missing == "impute":
        assert imputed["y"] == 1  # row "b"


def test_reject_details_name_column_and_first_line(table):
    _, rejects, _ = account_rows(table, np.arange(2, 9), ["x", "y"], "id", missing="impute",
                                 duplicates="reject")
    detail = dict(zip(rejects["reason"], rejects["detail"], strict=True))
    assert detail["invalid_value"] == "column 'x': 'abc' is not a number"
    assert detail["duplicate_id"] == "ID 'a' first seen on line 2"
