"""The HTML report of an output folder, and the notebook summary of a Segmenter.

``render_report(out_dir)`` turns the files of a ``custseg segment`` output folder into one
self-contained, offline HTML page; ``segmenter_html(seg)`` is the compact HTML that Jupyter shows
for a :class:`custseg.Segmenter`.
"""

from ._html import render_report
from ._repr import segmenter_html

__all__ = ["render_report", "segmenter_html"]
