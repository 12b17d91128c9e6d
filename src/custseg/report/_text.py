"""Escaping and number formatting for the report.

Three contexts, three escapers; every value that came from data (column names, segment names,
descriptions, file names, numbers) goes through one of them:

* :func:`esc` — HTML markup (text and attribute values);
* :func:`plotly_text` — strings Plotly draws (tick labels, legend entries, hover text). Plotly
  interprets a subset of HTML in them (``<b>``, ``<br>``, ``<a href>``) and ``$…$`` as LaTeX, and
  decodes ``&lt;`` ``&gt;`` ``&amp;`` and numeric entities, so escaping these makes a hostile name
  show as the literal text it is;
* :func:`script_json` — data embedded in a ``<script>`` element: JSON whose ``<``, ``>``, ``&``,
  U+2028 and U+2029 are written as ``\\uXXXX`` escapes, so ``</script>`` or ``<!--`` in a value
  cannot end the element and the text stays valid JavaScript as well as valid JSON.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np

_SCRIPT_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}

_PLOTLY_ESCAPES = {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord("$"): "&#36;",  # "$x$" would be taken for LaTeX
    ord("%"): "&#37;",  # keeps "%{x}" inert should a label ever reach a template
}

_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(value: Any) -> str:
    """``str(value)`` with lone surrogates (undecodable bytes) replaced, so it encodes as UTF-8."""
    text = str(value)
    return _SURROGATES.sub("\ufffd", text)


def esc(value: Any) -> str:
    """Escape ``value`` for HTML text or a quoted attribute value.

    Parameters
    ----------
    value : object
        Anything; it is converted with ``str``.

    Returns
    -------
    str
        The text with ``& < > " '`` replaced by character references.

    Examples
    --------
    >>> esc('<script>alert("x")</script>')
    '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    """
    return html.escape(clean_text(value), quote=True)


def esc_wrap(value: Any) -> str:
    """:func:`esc`, with line-break opportunities (``<wbr>``) after ``_`` and ``.``, so long
    column names such as ``days_since_last_order`` wrap between words in narrow cells."""
    return re.sub(r"([_.])", r"\1<wbr>", esc(value))


def plotly_text(value: Any, max_len: int | None = None) -> str:
    """Escape ``value`` for a string that Plotly draws as a label, optionally shortened.

    Parameters
    ----------
    value : object
        Anything; it is converted with ``str``.
    max_len : int or None, default=None
        Cut longer text to this many characters (before escaping) and end it with ``…``.

    Returns
    -------
    str
        Text that Plotly shows literally.

    Examples
    --------
    >>> plotly_text("<b>income</b>")
    '&lt;b&gt;income&lt;/b&gt;'
    """
    text = clean_text(value)
    if max_len is not None and len(text) > max_len:
        text = text[: max(1, max_len - 1)].rstrip() + "…"
    return text.translate(_PLOTLY_ESCAPES)


def plotly_wrap(value: Any, width: int = 18, max_lines: int = 3) -> str:
    """Escape ``value`` for Plotly and break it into lines of about ``width`` characters.

    The line breaks are Plotly's ``<br>``, inserted between escaped pieces, so they are the only
    markup in the result. Names made of ``·``-separated terms break at the separators first.
    """
    text = clean_text(value)
    words = re.split(r"(?<=·)\s+|\s+", text)
    lines: list[str] = []
    line = ""
    for word in words:
        if not word:
            continue
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(1, width - 1)].rstrip() + "…"
    return "<br>".join(plotly_text(ln, max_len=width + 8) for ln in lines)


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays to Python, non-finite floats to ``None``, recursively."""
    if isinstance(obj, dict):
        return {clean_text(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return f if math.isfinite(f) else None
    if obj is None:
        return None
    if isinstance(obj, str):
        return clean_text(obj)
    return clean_text(obj)


def script_json(obj: Any) -> str:
    """Serialise ``obj`` as JSON that is safe inside an HTML ``<script>`` element.

    Parameters
    ----------
    obj : object
        Dicts, lists, strings, numbers (numpy included; NaN and infinity become ``null``).

    Returns
    -------
    str
        JSON text without a raw ``<``, ``>``, ``&``, U+2028 or U+2029.

    Examples
    --------
    >>> script_json({"name": "</script><script>alert(1)</script>"})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(to_jsonable(obj), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":"))
    return text.translate(_SCRIPT_ESCAPES)


def is_number(v: Any) -> bool:
    """True for a finite real number (bools excluded)."""
    if isinstance(v, bool | np.bool_) or v is None:
        return False
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def fmt_num(v: Any) -> str:
    """A number for people: thousands separators, about three significant digits, ``–`` if none.

    Examples
    --------
    >>> [fmt_num(x) for x in (1234567, 1234.5, 12.345, 0.01234, float("nan"), None)]
    ['1,234,567', '1,234', '12.3', '0.0123', '–', '–']
    """
    if not is_number(v):
        return "–"
    f = float(v)
    a = abs(f)
    if f.is_integer() and a < 1e15:
        return f"{int(f):,}"
    if a >= 1000:
        return f"{f:,.0f}"
    if a >= 100:
        return f"{f:,.1f}"
    if a >= 10:
        return f"{f:.1f}"
    if a >= 1:
        return f"{f:.2f}"
    return f"{f:.3g}"


def fmt_pct(share: Any, digits: int = 1) -> str:
    """A share (0–1) as a percentage, e.g. ``0.3456`` → ``"34.6%"``."""
    if not is_number(share):
        return "–"
    return f"{100 * float(share):.{digits}f}%"


def fmt_int(v: Any) -> str:
    """An integer with thousands separators, ``–`` if missing."""
    return f"{int(v):,}" if is_number(v) else "–"


def join_plain(items: Iterable[Any], empty: str = "none") -> str:
    """Escaped, comma-separated list of items, or ``empty``."""
    parts = [esc(x) for x in items]
    return ", ".join(parts) if parts else esc(empty)
