"""A compact HTML summary of a :class:`custseg.Segmenter`, for Jupyter's ``_repr_html_``."""

from __future__ import annotations

import inspect
from typing import Any

from ._assets import segment_colour
from ._text import esc, fmt_int, fmt_num, fmt_pct

MAX_ROWS = 12  # segments listed; the rest are counted
MAX_FEATURES = 12

_BOX = ("font:13px/1.45 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,'Helvetica Neue',"
        "Arial,sans-serif;border:1px solid rgba(128,128,128,.35);border-radius:6px;"
        "padding:8px 12px;display:inline-block;max-width:100%;color:inherit")
_CELL = "padding:2px 10px 2px 0;text-align:{align};border:none;white-space:nowrap"
_SW = ("display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:5px;"
       "background:{colour}")


def _td(text: str, align: str = "left", head: bool = False) -> str:
    tag = "th" if head else "td"
    return f'<{tag} style="{_CELL.format(align=align)}">{text}</{tag}>'


def _listing(items: list[Any], limit: int) -> str:
    shown = ", ".join(esc(x) for x in items[:limit])
    more = len(items) - limit
    return shown + (f" … (+{more})" if more > 0 else "")


def _defaults(seg: Any) -> dict[str, Any]:
    try:
        sig = inspect.signature(type(seg).__init__)
    except (TypeError, ValueError):
        return {}
    return {k: p.default for k, p in sig.parameters.items()
            if p.default is not inspect.Parameter.empty}


def _unfitted(seg: Any, name: str) -> str:
    """Parameters as ``name=value`` items; the ones changed from their defaults first, bold."""
    try:
        params = seg.get_params(deep=False)
    except Exception:  # noqa: BLE001 - a repr must never raise
        params = {}
    defaults = _defaults(seg)

    def changed(key: str) -> bool:
        try:
            return bool(key not in defaults or params[key] != defaults[key])
        except Exception:  # noqa: BLE001 - e.g. arrays compared elementwise
            return True

    keys = sorted(params, key=lambda k: (not changed(k), k))
    items = []
    for key in keys:
        item = f"{esc(key)}={esc(repr(params[key]))}"
        items.append(f"<b>{item}</b>" if changed(key) else item)
    body = " · ".join(f"<code>{i}</code>" for i in items)
    return (f'<div class="custseg-repr" style="{_BOX}"><b>{name}</b> '
            '<span style="opacity:.7">(not fitted)</span>'
            f'<div style="margin-top:4px;max-width:60em">{body}</div></div>')


def segmenter_html(seg: Any) -> str:
    """Render a compact HTML summary of a Segmenter, for Jupyter notebooks.

    A fitted estimator shows the number of segments, customers and features, the inertia, and a
    table of segments (colour, id, name, size, share); an unfitted one shows its parameters.
    Every value is HTML-escaped.

    Parameters
    ----------
    seg : custseg.Segmenter
        Fitted or not.

    Returns
    -------
    str
        An HTML fragment with inline styles only (no scripts, no external resources).

    Examples
    --------
    >>> from custseg import Segmenter
    >>> from custseg.report import segmenter_html
    >>> "not fitted" in segmenter_html(Segmenter(k=3))
    True
    """
    name = esc(type(seg).__name__)
    model = getattr(seg, "model_", None)
    if model is None:
        return _unfitted(seg, name)

    segments = list(getattr(model, "segments", []) or [])
    features = list(getattr(seg, "features_", []) or [])
    n = sum(int(s.get("size", 0)) for s in segments)
    inertia = getattr(seg, "inertia_", None)
    head = (f"<b>{name}</b>: {fmt_int(len(segments))} segments of {fmt_int(n)} customers, "
            f"{fmt_int(len(features))} features")
    if inertia is not None:
        head += f"; inertia {esc(fmt_num(inertia))}"
    id_col = getattr(seg, "id_column_", None)
    lines = [f'<div style="opacity:.8">features: {_listing(features, MAX_FEATURES)}</div>']
    if getattr(seg, "k_selection_", None) is not None:
        lines.append('<div style="opacity:.8">k chosen automatically (see k_selection_)</div>')
    if getattr(seg, "clear_segmentation_", True) is False:
        lines.append("<div>no clear segment structure: the segments divide a continuum</div>")
    noise = getattr(seg, "n_noise_", 0)
    if isinstance(noise, int) and noise > 0:
        lines.append(f'<div style="opacity:.8">{fmt_int(noise)} customers in no segment '
                     "(noise)</div>")
    if id_col is not None:
        lines.append(f'<div style="opacity:.8">ID column: {esc(id_col)}</div>')
    rows = []
    for s in segments[:MAX_ROWS]:
        sid = int(s.get("id", -1))
        swatch = f'<span style="{_SW.format(colour=segment_colour(sid))}"></span>'
        rows.append("<tr>" + _td(swatch + esc(sid)) + _td(esc(s.get("name", "")))
                    + _td(fmt_int(s.get("size")), "right") + _td(fmt_pct(s.get("share")), "right")
                    + "</tr>")
    if len(segments) > MAX_ROWS:
        rows.append(f'<tr><td colspan="4" style="opacity:.7">… {len(segments) - MAX_ROWS} more '
                    "segments</td></tr>")
    table = ('<table style="border-collapse:collapse;margin-top:6px;font:inherit"><thead><tr>'
             + _td("segment", head=True) + _td("name", head=True)
             + _td("customers", "right", True) + _td("share", "right", True)
             + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    return f'<div class="custseg-repr" style="{_BOX}">{head}{"".join(lines)}{table}</div>'
