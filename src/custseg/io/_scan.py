"""Find the records of a delimited text file with numpy, without parsing any field.

DuckDB parses fields fast but reports neither the source line of each row nor, reliably, the
physical line of a bad row (its reject line numbers count records, not lines). This scan gives
both, in a few vectorised passes over the bytes:

* a newline ends a record unless it sits inside quotes, and with RFC 4180 quoting (a quote inside
  a quoted field is doubled) "inside quotes" is just "an odd number of quote bytes so far";
* the field count of a record is the number of delimiters outside quotes, plus one.

Parity only describes the file when every quote opens at the start of a field and closes at its
end. :func:`scan_records` checks that and reports ``quotes_ok=False`` (or ``unterminated=True``)
otherwise; the caller then lets Python's csv module, which follows the quoting rules one
character at a time, decide instead.

The scan works on bytes, so the source must be UTF-8 (or plain ASCII): every byte of a multi-byte
UTF-8 sequence is >= 0x80 and cannot be mistaken for a delimiter, quote or newline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

_NL = 10
_CR = 13
_QUOTE = 34
_EOF = -1  # stands for "no byte": past the end of the file
CHUNK_BYTES = 8 << 20  # bounds the temporary position arrays to a few tens of MB


@dataclass
class ScanResult:
    """Records of a file, as byte ranges; each array has one entry per record."""

    starts: np.ndarray  # byte offset of the record's first byte
    ends: np.ndarray  # byte offset of its terminating newline (or the file size)
    lines: np.ndarray  # 1-based physical line number of its first byte
    fields: np.ndarray  # number of fields (delimiters outside quotes + 1)
    blank: np.ndarray  # empty record ("" or a lone "\r")
    crlf: np.ndarray  # the record ends with "\r\n" (False for a last record with no newline)
    size: int  # bytes scanned
    quotes_ok: bool = True  # every quote opens a field or closes one
    unterminated: bool = False  # the file ends inside quotes
    lone_cr: bool = False  # a "\r" that is not part of "\r\n" (parsers disagree on it)

    @property
    def usable(self) -> bool:
        """True when the record ranges can be trusted, and DuckDB will split them the same."""
        return self.quotes_ok and not self.unterminated and not self.lone_cr


def _prev_bytes(a: np.ndarray, pos: np.ndarray, before: int) -> np.ndarray:
    """Bytes just before ``pos`` (``before`` stands in for the byte before the chunk)."""
    out = np.empty(len(pos), dtype=np.int16)
    inside = pos > 0
    out[inside] = a[pos[inside] - 1]
    out[~inside] = before
    return out


def _bytes_at(a: np.ndarray, pos: np.ndarray, ahead: np.ndarray) -> np.ndarray:
    """Bytes at ``pos``, which may run up to two bytes past the chunk, into ``ahead``."""
    out = np.empty(len(pos), dtype=np.int16)
    inside = pos < len(a)
    out[inside] = a[pos[inside]]
    out[~inside] = ahead[pos[~inside] - len(a)]
    return out


def scan_records(stream: BinaryIO, delimiter: str, *, skip_bytes: int = 0,
                 chunk_bytes: int = CHUNK_BYTES) -> ScanResult:
    """Scan ``stream`` (UTF-8 bytes) into records split on newlines outside quotes.

    Parameters
    ----------
    stream : binary file object
        Read from its current position to the end.
    delimiter : str
        One ASCII character.
    skip_bytes : int, default=0
        Bytes at the start that belong to no field (a UTF-8 byte-order mark): a quote right
        after them opens the first field.
    chunk_bytes : int
        Size of the blocks read at a time.

    Returns
    -------
    ScanResult
        When ``quotes_ok`` is False the scan stopped early and the arrays are empty.
    """
    delim = ord(delimiter)
    # A quote opens a field after a delimiter, a newline or another quote (a doubled quote); it
    # closes one before a delimiter, a newline (\n or \r\n), another quote or the end of file.
    # A lone "\r" ends no line (see _text._LONE_CR), so it is allowed on neither side.
    before_open = np.array(sorted({delim, _NL, _QUOTE}), dtype=np.int16)
    after_close = np.array(sorted({delim, _NL, _QUOTE, _CR, _EOF}), dtype=np.int16)

    term_pos: list[np.ndarray] = []  # global offsets of record-ending newlines
    term_line: list[np.ndarray] = []  # 0-based index of those newlines among all newlines
    term_cum: list[np.ndarray] = []  # delimiters outside quotes before each of them
    term_cr: list[np.ndarray] = []  # the byte before is "\r"

    offset = 0  # global offset of the current chunk
    n_newlines = 0
    outside_delims = 0
    in_quote = False
    last_byte = -1  # last byte of the previous chunk, -1 at the start of the file
    empty = np.empty(0, dtype=np.int64)

    following_buf = stream.read(chunk_bytes)
    while following_buf:
        buf, following_buf = following_buf, stream.read(chunk_bytes)
        a = np.frombuffer(buf, dtype=np.uint8)
        n = len(a)
        # The chunk plus two bytes of lookahead (_EOF past the end of the file), for the
        # byte after a closing quote or a "\r" at the end of the chunk.
        ahead = np.full(2, _EOF, dtype=np.int16)
        ahead[: len(following_buf[:2])] = np.frombuffer(following_buf[:2], dtype=np.uint8)

        cr = np.flatnonzero(a == _CR)
        if len(cr) and not np.all(np.isin(_bytes_at(a, cr + 1, ahead), [_NL, _EOF])):
            return _stopped(offset + n, lone_cr=True)
        nl = np.flatnonzero(a == _NL)
        q = np.flatnonzero(a == _QUOTE)
        d = np.flatnonzero(a == delim)

        # Quote positions as (open, close) pairs; a quoted run that crosses the chunk start or
        # end gets a virtual quote just outside the chunk so every run is closed in the chunk.
        qv = np.concatenate(([-1], q)) if in_quote else q
        if len(qv) % 2:
            qv = np.concatenate((qv, [n]))
        opens, closes = qv[0::2], qv[1::2]

        real_opens = opens[opens >= 0]
        if len(real_opens):
            before = _prev_bytes(a, real_opens, last_byte)
            at_start = (real_opens + offset) == skip_bytes
            if not np.all(np.isin(before, before_open) | at_start):
                return _stopped(offset + n, quotes_ok=False)
        real_closes = closes[closes < n]
        if len(real_closes):
            after = _bytes_at(a, real_closes + 1, ahead)
            if not np.all(np.isin(after, after_close)):
                return _stopped(offset + n, quotes_ok=False)

        # A newline ends a record when an even number of (virtual) quotes precede it.
        is_term = (np.searchsorted(qv, nl) & 1) == 0
        terms = nl[is_term]
        inside = np.searchsorted(d, closes) - np.searchsorted(d, opens)
        cum_inside = np.concatenate(([0], np.cumsum(inside)))
        quoted_before = cum_inside[np.searchsorted(closes, terms)]
        term_pos.append(terms.astype(np.int64) + offset)
        term_line.append(np.flatnonzero(is_term).astype(np.int64) + n_newlines)
        term_cum.append(outside_delims + np.searchsorted(d, terms) - quoted_before)
        term_cr.append(_prev_bytes(a, terms, last_byte) == _CR)

        outside_delims += len(d) - int(cum_inside[-1])
        n_newlines += len(nl)
        in_quote = bool((int(in_quote) + len(q)) % 2)
        last_byte = int(a[-1])
        offset += n

    size = offset
    if in_quote:
        return _stopped(size, unterminated=True)

    ends = np.concatenate(term_pos) if term_pos else empty
    nl_index = np.concatenate(term_line) if term_line else empty
    cum = np.concatenate(term_cum) if term_cum else empty
    cr = np.concatenate(term_cr) if term_cr else np.empty(0, dtype=bool)
    tail_start = int(ends[-1]) + 1 if len(ends) else 0
    blank_tail = False
    if tail_start < size:  # a last record without a final newline
        ends = np.append(ends, size)
        nl_index = np.append(nl_index, n_newlines)
        cum = np.append(cum, outside_delims)
        blank_tail = size - tail_start == 1 and last_byte == _CR
        cr = np.append(cr, False)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)[: len(ends)]
    lines = np.concatenate(([1], nl_index[:-1] + 2)).astype(np.int64)[: len(ends)]
    fields = np.diff(np.concatenate(([0], cum))).astype(np.int64) + 1
    length = ends - starts
    blank = (length == 0) | ((length == 1) & cr)
    if blank_tail:
        blank[-1] = True
    return ScanResult(starts, ends.astype(np.int64), lines, fields, blank, cr, size)


def _stopped(size: int, *, quotes_ok: bool = True, unterminated: bool = False,
             lone_cr: bool = False) -> ScanResult:
    e = np.empty(0, dtype=np.int64)
    return ScanResult(e, e, e, e, np.empty(0, dtype=bool), np.empty(0, dtype=bool), size,
                      quotes_ok=quotes_ok, unterminated=unterminated, lone_cr=lone_cr)
