"""The HTML report."""

from ._html import render_report

__all__ = ["render_report"]
