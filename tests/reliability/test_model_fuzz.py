"""Hostile model files: loading raises ModelFormatError and nothing else.

Valid ``model.json`` files (k-means with a categorical column, a Gaussian mixture) are mutated by
hypothesis — values replaced by wrong types, NaN/Infinity, huge or negative numbers, deep
nesting, huge arrays; keys deleted or added; the text truncated or corrupted — and loaded. A
mutated file either loads (and then assigns customers or raises a CustsegError), or is refused
with :class:`custseg.ModelFormatError`. Any other exception is a bug.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_helpers import fuzz_settings

import custseg
from custseg import CustsegError, ModelFormatError, Segmenter, load_model

pytestmark = pytest.mark.fuzz


def _customers(n: int = 90) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    g = np.repeat([0, 1, 2], n // 3)
    return pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(len(g))],
        "age": np.array([25, 45, 65])[g] + rng.normal(0, 3, len(g)),
        "income": np.array([30, 90, 50])[g] + rng.normal(0, 5, len(g)),
        "city": rng.choice(["Lyon", "Oslo", "Porto"], len(g)),
    })


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    df = _customers()
    out = {}
    for name, seg in {
        "kmeans": Segmenter(features=["age", "income", "city"], categorical=["city"],
                            id_column="customer_id", k=3, random_state=0, n_init=2),
        "gmm": Segmenter(features=["age", "income"], id_column="customer_id", k=3,
                         algorithm="gmm", random_state=0, clip=(0.01, 0.99),
                         log_transform="all"),
    }.items():
        seg.fit(df)
        path = tmp_path_factory.mktemp("model") / f"{name}.json"
        seg.save(path)
        out[name] = json.loads(path.read_text("utf-8"))
        load_model(path)  # the base files are valid
    return out


def _deep(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = st.one_of(
    st.sampled_from([None, True, False, 0, -1, -(10**9), 10**9, 10**400, -(10**400), 1e308,
                     "", "NaN", "1.5", "x" * 10_000, [], {}, [None], ["a"], [[1, 2], [3]],
                     {"__class__": "os.system", "args": ["rm -rf /"]},
                     {"$ref": "#/segments"}, "<script>alert(1)</script>"]),
    st.just(float("nan")), st.just(float("inf")), st.just(float("-inf")),
    st.integers(), st.floats(), st.text(max_size=20),
    st.lists(st.floats(), max_size=5), st.lists(st.integers(), max_size=5),
    st.integers(min_value=33, max_value=900).map(_deep),  # deeper: json.dumps recursion
    st.sampled_from([10_001, 200_000]).map(lambda n: [0.0] * n),
    st.sampled_from([10_001, 100_000]).map(lambda n: ["a"] * n),
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple) -> tuple[Any, Any]:
    for key in path[:-1]:
        doc = doc[key]
    return doc, path[-1]


@st.composite
def mutated_models(draw, models: dict[str, dict]) -> str:
    base = draw(st.sampled_from(sorted(models)))
    doc = copy.deepcopy(models[base])
    paths = [p for p in _paths(doc) if p]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        try:
            parent, key = _parent(doc, path)
            action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add",
                                           "duplicate"]))
            if action == "replace":
                parent[key] = draw(HOSTILE)
            elif action == "delete":
                del parent[key]
            elif action == "add":
                if isinstance(parent, dict):
                    parent[draw(st.text(max_size=8))] = draw(HOSTILE)
                elif isinstance(parent, list):  # (not a value an earlier step put there)
                    parent.append(draw(HOSTILE))
            elif isinstance(parent, list):  # duplicate a list element (e.g. a segment)
                parent.append(copy.deepcopy(parent[key]))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the path
    text = json.dumps(doc, allow_nan=True)
    cut = draw(st.sampled_from(["none", "none", "none", "truncate", "byte"]))
    if cut == "truncate":
        text = text[:draw(st.integers(0, max(len(text) - 1, 0)))]
    elif cut == "byte" and text:
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from(["\x00", "\ufffd", "}", "]", '"', "\\", "NaN"])) \
            + text[i + 1:]
    return text


def _check_load(text: str | bytes, tmp: Path) -> None:
    path = tmp / "model.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    try:
        model = load_model(path)
    except ModelFormatError as exc:
        assert str(exc).strip()
        return
    # it loaded: it must be usable, or fail with custseg's own errors
    frame = _customers(9)
    try:
        out = model.assign(frame)
    except CustsegError:
        return
    assert len(out) == len(frame)
    assert np.isfinite(out["distance"].to_numpy(dtype=float)).all()


@fuzz_settings(150)
@given(data=st.data())
def test_mutated_model_is_refused_with_model_format_error(models: dict, data, tmp_path: Path
                                                         ) -> None:
    text = data.draw(mutated_models(models))
    _check_load(text, tmp_path)


@pytest.mark.parametrize("case", [
    "deep", "huge_file", "nan_centroid", "string_numbers", "negative_size", "extra_key",
    "billion_levels", "not_json", "top_level_list", "future_version", "pickle",
    "duplicate_ids", "wrong_centroid_length", "infinity_literal", "empty",
])
def test_hand_made_hostile_models(models: dict, case: str, tmp_path: Path) -> None:
    doc = copy.deepcopy(models["kmeans"])
    text: str | bytes | None = None
    if case == "deep":
        text = "[" * 100_000 + "]" * 100_000
    elif case == "huge_file":
        text = '{"format": "custseg.model", "pad": "' + "x" * (65 * 2**20) + '"}'
    elif case == "nan_centroid":
        doc["segments"][0]["centroid_scaled"][0] = float("nan")
    elif case == "string_numbers":
        doc["preprocessing"]["scale"]["center"] = ["1", "2"]
    elif case == "negative_size":
        doc["segments"][0]["size"] = -5
    elif case == "extra_key":
        doc["exec"] = "__import__('os').system('true')"
    elif case == "billion_levels":
        doc["preprocessing"]["categorical"]["max_levels"] = 10**9
        doc["preprocessing"]["categorical"]["levels"]["city"] = ["a"] * 1_000_000
    elif case == "not_json":
        text = b"\x80\x04\x95 pickle?"
    elif case == "top_level_list":
        doc = [doc]
    elif case == "future_version":
        doc["format_version"] = 99
    elif case == "pickle":
        text = b"cos\nsystem\n(S'echo pwned'\ntR."
    elif case == "duplicate_ids":
        doc["segments"][1]["id"] = doc["segments"][0]["id"]
    elif case == "wrong_centroid_length":
        doc["segments"][0]["centroid_scaled"].append(1.0)
    elif case == "infinity_literal":
        doc["segments"][0]["centroid"][0] = math.inf
    elif case == "empty":
        text = b""
    if text is None:
        text = json.dumps(doc, allow_nan=True)
    path = tmp_path / "model.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(ModelFormatError):
        load_model(path)


def test_many_values_are_refused_fast(models: dict, tmp_path: Path) -> None:
    """Millions of numbers (2,000 segments of 9,000: 53 MiB, under the 64 MiB cap) took
    minutes in the schema validator; counting the values first refuses such a file in seconds
    (here 120 segments of 9,000, just over the limit of a million values)."""
    import time

    doc = copy.deepcopy(models["kmeans"])
    seg = doc["segments"][0]
    doc["segments"] = [dict(seg, id=i, centroid_scaled=[0] * 9000) for i in range(120)]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    start = time.perf_counter()
    with pytest.raises(ModelFormatError, match="more than 1,000,000 values"):
        load_model(path)
    assert time.perf_counter() - start < 30


def test_model_file_is_never_executed(models: dict, tmp_path: Path) -> None:
    """A model naming code to run loads as data or is refused; the code never runs."""
    marker = tmp_path / "pwned"
    doc = copy.deepcopy(models["kmeans"])
    doc["algorithm"]["params"]["init"] = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    doc["segments"][0]["profile"] = {"__reduce__": ["os.system", [f"touch {marker}"]]}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    with contextlib.suppress(CustsegError):
        custseg.load_model(path).assign(_customers(9))
    assert not marker.exists()
