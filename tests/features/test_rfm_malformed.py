"""Text lines that do not split into the header's fields (issue #9)."""

from __future__ import annotations

from pathlib import Path

from custseg.features import rfm

HEADER = "customer_id,order_date,amount\n"


def test_ragged_lines_are_rejected_with_their_line_numbers(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    src.write_text(HEADER + "A,2024-01-01,1\nB,2024-01-02\nC,2024-01-03,3\nX,1,2,3\n"
                   "Y,1,2,3\nD,2024-01-04,4\nE,2024-01-05,0\n")
    res = rfm(str(src))
    s = res.summary
    assert (s["lines_read"], s["lines_used"], s["lines_excluded"]) == (7, 3, 4)
    assert {k: v for k, v in s["lines_excluded_by_reason"].items() if v} == {
        "malformed_row": 3, "zero_value": 1}
    assert s["exclusion_precedence"][0] == "malformed_row"
    assert res.rejects["line"].tolist() == [3, 5, 6, 8]
    assert res.rejects["reason"].tolist() == ["malformed_row"] * 3 + ["zero_value"]
    assert res.features["customer_id"].tolist() == ["A", "C", "D", "E"]


def test_ragged_lines_in_a_folder_are_numbered_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(HEADER + "A,2024-01-01,1\nX,1,2,3\nB,2024-01-02,2\n")
    (tmp_path / "b.csv").write_text(HEADER + "C,2024-01-01,1\nD,2024-01-02,2\nY\n"
                                    "E,2024-01-03,0\n")
    res = rfm(str(tmp_path))
    rej = res.rejects
    assert list(zip(rej["file"].map(lambda f: Path(f).name), rej["line"], rej["reason"],
                    strict=True)) == [("a.csv", 3, "malformed_row"),
                                      ("b.csv", 4, "malformed_row"),
                                      ("b.csv", 5, "zero_value")]
    assert res.summary["lines_read"] == res.summary["lines_used"] + len(rej) == 7


def test_a_clean_file_has_no_malformed_reason(tmp_path: Path) -> None:
    src = tmp_path / "orders.tsv"
    src.write_text("customer_id\torder_date\tamount\nA\t2024-01-01\t1\n\"B\nb\"\t2024-01-02\t2\n")
    res = rfm(str(src))
    assert "malformed_row" not in res.summary["lines_excluded_by_reason"]
    assert res.features["customer_id"].tolist() == ["A", "B\nb"]
