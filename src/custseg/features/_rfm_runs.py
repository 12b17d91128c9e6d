"""The per-invoice level of the RFM aggregation in numba, for a Parquet order log whose lines
of an invoice come together.

Order systems export their logs invoice by invoice (the UCI Online Retail log is one), so the
lines of an invoice are one *run* of consecutive lines. DuckDB's group-by per (customer,
invoice, return flag) cannot use that: it hashes every line (~1.2 s of the 10M-line benchmark
log). Here the role columns are read with pyarrow, row group by row group (the next one read
while the pass runs over this one), and one sequential numba pass adds each usable line (the
plain path's checks) to its run's two accumulators, purchases and returns, and writes a key row
per run and flag: the very table DuckDB's group-by returns, for :mod:`._rfm_dense`'s
per-customer level. The rejected lines, with their reasons and original values, are still
DuckDB's (:func:`custseg.features.rfm` scans for them while the pass runs); its accounting
check fails loudly if the two ever disagree on a line.

A run is a key unless its (customer, invoice) comes back after another run. If every run's
invoice sorts after the one before, none can; otherwise the runs whose 64-bit hashes of
(customer, invoice) repeat are read back from the file at their first lines and, when they
are one customer's one invoice, their keys are merged (a hash collision leaves the log to
DuckDB). :func:`invoice_runs` returns None, and DuckDB groups the log, when more than
:data:`_MAX_SPLIT_RUNS` runs repeat or a value is of a kind the pass does not decode
(decimals, time zones, an invoice that starts with a blank, customer numbers that are not
integers; nanosecond timestamps are rounded to microseconds as the plain path's cast rounds
them): the result is always the group-by's, bit for bit.

On the benchmark's 10M-line log (1M customers, 2M invoices), ``rfm()`` alternating with the
group-by in one process: 1.61-1.84 s against 2.14-2.39 s. The pass itself takes ~0.37 s of
one core; reading the five role columns ~0.5-0.7 s (the text invoice column most of it).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numba import njit

from ._rfm_dense import neumaier

__all__ = ["InvoiceRuns", "invoice_runs"]

_NONE = np.iinfo(np.int64).min
_HIGHEST = np.iinfo(np.int64).max
_US_PER_DAY = 86_400_000_000
#: Timestamps beyond +-this many microseconds (about the year 5100) are left to DuckDB, which
#: reads its infinities and overflows them in its own way.
_SAFE_US = 3_000 * 365 * _US_PER_DAY
_TS_MUL = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}  # (ns: rounded first, _ns_to_us)
#: Longest invoice number the pass keeps for comparison.
_MAX_INVOICE_BYTES = 256
#: Lines per kernel call: a row group's, up to this many. Each call and its Python around it
#: takes the GIL a dozen times, and in ``custseg segment`` a worker thread imports
#: scikit-learn meanwhile, holding the GIL for up to 5 ms at a time: 256K-line batches made
#: the pass ~2x slower there.
_BATCH_ROWS = 1 << 21
# Slots of the kernels' ``state`` array (kept between the batches a thread reads).
(_OPEN, _CUST, _LEN, _ORDERED, _CANCEL, _BAIL, _CLOSED, _FIRST_KEYS, _FIRST_CUST,
 _FIRST_LEN, _HASH) = range(11)
_STATE = 11
#: A key that comes back in at most this many runs is merged (after checking that its runs
#: are one customer's one invoice); more, and DuckDB groups the log.
_MAX_SPLIT_RUNS = 10_000


@dataclass
class InvoiceRuns:
    """Keys: one row per customer, invoice and return flag, as DuckDB's group-by gives them
    (the rejected lines are DuckDB's scan's)."""

    keys: pa.Table


@njit(inline="always")
def _valid(bitmap, offset, i):  # noqa: ANN001, ANN202 - numba kernel
    if bitmap.shape[0] == 0:
        return True
    j = offset + i
    return (bitmap[j >> 3] >> (j & 7)) & 1 == 1


@njit(cache=True, nogil=True)
def _pass(n, first_line, inv_off, inv_data, inv_bm, inv_bo, cust, cust_bm, cust_bo,  # noqa: ANN001, ANN202, PLR0912, PLR0913, PLR0915, C901 - numba kernel
          ts, ts_bm, ts_bo, ts_mul, q, q_bm, q_bo, p, p_bm, p_bo, has_price, prefix, as_of,
          state, run_inv, first_inv, acc_i, acc_f, k_cust, k_ret, k_n, k_v, k_mn, k_mx,
          k_cancel, k_hash, k_err, hashes, run_lines, safe_raw):
    """One batch of lines: returns (keys, runs) written. A run still open at
    the end stays in ``state``/``acc_*`` for the next batch; :func:`_read_part` ends it."""
    is_open = state[_OPEN] == 1
    run_cust = state[_CUST]
    run_len = state[_LEN]
    ordered = state[_ORDERED] == 1
    cancel = state[_CANCEL] == 1
    run_hash = np.uint64(state[_HASH])
    # the open run's accumulators, purchases (0) and returns (1), in locals (registers)
    n0, n1, mn0, mn1, mx0, mx1 = acc_i[0], acc_i[1], acc_i[2], acc_i[3], acc_i[4], acc_i[5]
    s0, e0, s1, e1 = acc_f[0], acc_f[1], acc_f[2], acc_f[3]
    nk = 0
    nh = 0
    for i in range(n):
        # The checks of the plain path, in its order (the reason itself is taken in SQL).
        ok = _valid(cust_bm, cust_bo, i) and _valid(ts_bm, ts_bo, i)
        a = inv_off[i]
        b = inv_off[i + 1]
        if ok:
            ok = _valid(inv_bm, inv_bo, i) and b > a
            if ok and inv_data[a] == 32:  # a leading blank: trim() decides, in SQL
                state[_BAIL] = 1
                return nk, nh
        if ok and (ts[i] > safe_raw or ts[i] < -safe_raw):
            state[_BAIL] = 1
            return nk, nh
        t = ts[i] * ts_mul if ok else 0
        qv = 0.0
        val = 0.0
        if ok:
            ok = _valid(q_bm, q_bo, i)
            if ok:
                qv = float(q[i])
                ok = np.isfinite(qv)
            if ok and has_price:
                ok = _valid(p_bm, p_bo, i)
                if ok:
                    pv = float(p[i])
                    ok = np.isfinite(pv) and pv > 0
                if ok:
                    val = qv * pv
            else:
                val = qv
            ok = ok and qv != 0 and np.isfinite(val) and t < as_of
        if not ok:
            continue
        c = cust[i]
        ln = b - a
        same = is_open and c == run_cust and ln == run_len
        if same:
            for j in range(ln):
                if inv_data[a + j] != run_inv[j]:
                    same = False
                    break
        if not same:
            if is_open:
                before = nk
                # each key's sum and error term apart: a key cut in two parts is added up
                # as one (see _combine), then rounded
                if n0 > 0:
                    k_hash[nk] = run_hash
                    k_err[nk] = e0
                    nk = _key(k_cust, k_ret, k_n, k_v, k_mn, k_mx, k_cancel, nk, run_cust, False,
                              n0, s0, mn0, mx0, cancel)
                if n1 > 0:
                    k_hash[nk] = run_hash
                    k_err[nk] = e1
                    nk = _key(k_cust, k_ret, k_n, k_v, k_mn, k_mx, k_cancel, nk, run_cust, True,
                              n1, s1, mn1, mx1, cancel)
                if state[_CLOSED] == 0:
                    state[_FIRST_KEYS] = nk - before
                state[_CLOSED] += 1
            new_cancel = prefix.shape[0] > 0 and ln >= prefix.shape[0]
            if new_cancel:
                for j in range(prefix.shape[0]):
                    if inv_data[a + j] != prefix[j]:
                        new_cancel = False
                        break
            if is_open and ordered:
                # Does the new invoice sort after the last one? Compared without the
                # cancellation prefix, shorter first (so "C536379" between 536378 and 536380,
                # and 999999 before 1000000, keep the order).
                old_at = prefix.shape[0] if cancel else 0
                new_at = prefix.shape[0] if new_cancel else 0
                cmp = (ln - new_at) - (run_len - old_at)
                if cmp == 0:
                    for j in range(ln - new_at):
                        if inv_data[a + new_at + j] != run_inv[old_at + j]:
                            cmp = 1 if inv_data[a + new_at + j] > run_inv[old_at + j] else -1
                            break
                ordered = cmp > 0
            if ln > run_inv.shape[0]:
                state[_BAIL] = 1
                return nk, nh
            h = np.uint64(14695981039346656037)  # FNV-1a of the invoice, mixed with the ID
            for j in range(ln):
                run_inv[j] = inv_data[a + j]
                h = (h ^ np.uint64(inv_data[a + j])) * np.uint64(1099511628211)
            run_hash = _mix(h ^ _mix(np.uint64(c)))
            hashes[nh] = run_hash
            run_lines[nh] = first_line + i
            nh += 1
            if not is_open:  # the first run of this thread's lines
                state[_FIRST_CUST] = c
                state[_FIRST_LEN] = ln
                first_inv[:ln] = run_inv[:ln]
            is_open = True
            run_cust = c
            run_len = ln
            cancel = new_cancel
            n0 = n1 = 0
            mn0 = mn1 = _HIGHEST
            mx0 = mx1 = _NONE
            s0 = e0 = s1 = e1 = 0.0
        # the sign of a usable line's value is its quantity's (prices are > 0), even when the
        # product underflows to -0.0
        x = abs(val)
        if qv < 0 or cancel:
            n1 += 1
            s1, e1 = neumaier(s1, e1, x)
            mn1 = min(mn1, t)
            mx1 = max(mx1, t)
        else:
            n0 += 1
            s0, e0 = neumaier(s0, e0, x)
            mn0 = min(mn0, t)
            mx0 = max(mx0, t)
    acc_i[0], acc_i[1], acc_i[2], acc_i[3], acc_i[4], acc_i[5] = n0, n1, mn0, mn1, mx0, mx1
    acc_f[0], acc_f[1], acc_f[2], acc_f[3] = s0, e0, s1, e1
    state[_OPEN] = 1 if is_open else 0
    state[_CUST] = run_cust
    state[_LEN] = run_len
    state[_ORDERED] = 1 if ordered else 0
    state[_CANCEL] = 1 if cancel else 0
    state[_HASH] = np.int64(run_hash)
    return nk, nh


@njit(inline="always")
def _key(k_cust, k_ret, k_n, k_v, k_mn, k_mx, k_cancel, nk, cust, ret, n, v, mn, mx, cancel):  # noqa: ANN001, ANN202, PLR0913 - numba kernel
    k_cust[nk] = cust
    k_ret[nk] = ret
    k_n[nk] = n
    k_v[nk] = v
    k_mn[nk] = mn
    k_mx[nk] = mx
    k_cancel[nk] = cancel
    return nk + 1


@njit(inline="always")
def _mix(x):  # noqa: ANN001, ANN202 - numba kernel
    """splitmix64's finaliser: every input bit moves every output bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True)
def _repeated(hashes):  # noqa: ANN001, ANN202 - numba kernel
    """Which of ``hashes`` occur more than once (an open-addressing table of first indexes)."""
    size = 1
    while size < 2 * hashes.shape[0] + 2:
        size *= 2
    mask = np.uint64(size - 1)
    first = np.full(size, -1, np.int64)
    out = np.zeros(hashes.shape[0], np.bool_)
    for i in range(hashes.shape[0]):
        h = hashes[i]
        j = (h * np.uint64(11400714819323198485)) >> np.uint64(20) & mask
        while first[j] >= 0 and hashes[first[j]] != h:
            j = (j + np.uint64(1)) & mask
        if first[j] >= 0:
            out[i] = True
            out[first[j]] = True
        else:
            first[j] = i
    return out


def _buffer(arr: pa.Array, i: int, dtype: type) -> np.ndarray:
    """Buffer ``i`` of ``arr`` as a read-only array (the kernels always get read-only ones,
    so numba compiles one specialisation, whether a column has nulls or not)."""
    buf = arr.buffers()[i]
    return _EMPTY[dtype] if buf is None else _read_only(np.frombuffer(buf, dtype))


def _bitmap(arr: pa.Array) -> tuple[np.ndarray, int]:
    """(validity bitmap, its bit offset); an empty bitmap when every value is valid."""
    if arr.null_count == 0:
        return _EMPTY[np.uint8], 0
    return _buffer(arr, 0, np.uint8), arr.offset


def _read_only(values: np.ndarray) -> np.ndarray:
    view = values.view()
    view.flags.writeable = False
    return view


_EMPTY = {t: _read_only(np.empty(0, t)) for t in (np.uint8, np.int32, np.int64, np.float64)}


def _numbers(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_floating(t):
        return arr.cast(pa.float64()) if t != pa.float64() else arr
    return arr.cast(pa.int64()) if t != pa.int64() else arr


def _values(arr: pa.Array) -> np.ndarray:
    dtype = np.float64 if arr.type == pa.float64() else np.int64
    return _buffer(arr, 1, dtype)[arr.offset:arr.offset + len(arr)]


#: Columns of the key arrays: the keys table's, then each key's run hash and the error term
#: of its compensated sum ``v`` (the table's ``v`` is their sum).
_KEY_COLUMNS = ("cust", "is_ret", "n", "v", "mn", "mx", "cancel", "hash", "err")


def _key_arrays(n: int) -> list[np.ndarray]:
    return [np.empty(n, np.int64), np.empty(n, np.bool_), np.empty(n, np.int64), np.empty(n),
            np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.bool_),
            np.empty(n, np.uint64), np.empty(n)]


@dataclass
class _Part:
    """What one thread found in its row groups: its keys, runs (hash and first line) and how
    many lines failed a check; the (customer, invoice) of its first and last run and how many
    key rows each has, to join a run that the parts' boundary cut in two."""

    keys: list[list[np.ndarray]] = field(default_factory=list)
    hashes: list[np.ndarray] = field(default_factory=list)
    run_lines: list[np.ndarray] = field(default_factory=list)
    ordered: bool = True
    first: tuple[int, bytes] | None = None
    last: tuple[int, bytes] | None = None
    first_keys: int = 0
    last_keys: int = 0


#: pyarrow's threads decoding a row group (``use_threads``); tests set it False.
READ_THREADS = True


def _prefetched(pf: pq.ParquetFile, names: list[str], row_groups: list[int],
                use_threads: bool) -> Iterator[pa.RecordBatch]:
    """The batches of ``row_groups``, the next group read (by pyarrow's threads) while the
    pass runs over this one's (it releases the GIL)."""
    if not row_groups:
        return
    with ThreadPoolExecutor(1) as pool:
        def read(g: int) -> Future:
            return pool.submit(pf.read_row_group, g, columns=names, use_threads=use_threads)

        ahead = read(row_groups[0])
        for nxt in [*row_groups[1:], None]:
            table = ahead.result()
            if nxt is not None:
                ahead = read(nxt)
            yield from table.to_batches(max_chunksize=_BATCH_ROWS)


#: DuckDB reads a nanosecond timestamp of int64 max as infinity, of -(that) as -infinity
_NS_INFINITY = np.iinfo(np.int64).max


def _ns_to_us(ns: np.ndarray) -> np.ndarray:
    """Nanoseconds to microseconds as DuckDB's ``CAST(... AS TIMESTAMP)`` rounds them, which
    the plain path applies: to the nearest, halves away from zero (pandas writes Parquet
    timestamps in nanoseconds)."""
    q, r = np.divmod(ns, 1000)
    return q + ((r > 500) | ((r == 500) & (ns >= 0)))


def _read_part(path: str, columns: dict[str, str], row_groups: list[int], first_line: int,
               ts_mul: int, has_price: bool, prefix: np.ndarray, as_of: int,
               ns: bool = False) -> _Part | None:
    """The pass over the lines of ``row_groups`` (one thread's share), batch by batch;
    ``first_line`` is the index of their first line in the file."""
    pf = pq.ParquetFile(path)
    state = np.zeros(_STATE, np.int64)
    state[_ORDERED] = 1
    run_inv = np.zeros(_MAX_INVOICE_BYTES, np.uint8)
    first_inv = np.zeros(_MAX_INVOICE_BYTES, np.uint8)
    acc_i = np.zeros(6, np.int64)
    acc_f = np.zeros(4)
    part = _Part()
    names = [columns[r] for r in ("inv", "cust", "ts", "q", "p") if r in columns]
    safe_raw = _SAFE_US // ts_mul
    line = first_line
    out: list[np.ndarray] = []
    hashes = run_lines = np.empty(0, np.int64)
    for batch in _prefetched(pf, names, row_groups, READ_THREADS):
        n = batch.num_rows
        inv = batch.column(columns["inv"])
        if pa.types.is_integer(inv.type):
            inv = inv.cast(pa.string())
        offsets = _buffer(inv, 1, np.int64 if pa.types.is_large_string(inv.type) else np.int32)
        cust = batch.column(columns["cust"]).cast(pa.int64())
        ts = batch.column(columns["ts"])
        ts = ts.cast(pa.int32()).cast(pa.int64()) if pa.types.is_date32(ts.type) else ts.cast(
            pa.int64())
        ts_values = _values(ts)
        if ns:
            if n and (ts_values.max() >= _NS_INFINITY or ts_values.min() <= -_NS_INFINITY):
                return None  # DuckDB's (-)infinity timestamps: the plain path decides
            ts_values = _ns_to_us(ts_values)
        q = _numbers(batch.column(columns["q"]))
        p = _numbers(batch.column(columns["p"])) if has_price else q
        if len(hashes) < n:  # buffers for a batch, reused (its keys are copied out)
            out = _key_arrays(n + 2)
            hashes = np.empty(n, np.uint64)
            run_lines = np.empty(n, np.int64)
        nk, nh = _pass(
            n, line, offsets[inv.offset:inv.offset + n + 1], _buffer(inv, 2, np.uint8),
            *_bitmap(inv), _values(cust), *_bitmap(cust), ts_values, *_bitmap(ts), ts_mul,
            _values(q), *_bitmap(q), _values(p), *_bitmap(p), has_price, prefix, as_of, state,
            run_inv, first_inv, acc_i, acc_f, *out, hashes, run_lines, safe_raw)
        if state[_BAIL]:
            return None
        part.keys.append([o[:nk].copy() for o in out])
        part.hashes.append(hashes[:nh].copy())
        part.run_lines.append(run_lines[:nh].copy())
        line += n
    part.ordered = bool(state[_ORDERED])
    if state[_OPEN]:  # the last run: its keys
        n0, n1, mn0, mn1, mx0, mx1 = (int(x) for x in acc_i)
        s0, e0, s1, e1 = (float(x) for x in acc_f)
        rows = [(False, n0, s0, mn0, mx0, e0), (True, n1, s1, mn1, mx1, e1)]
        rows = [r for r in rows if r[1] > 0]
        cancel = bool(state[_CANCEL])
        last = [np.array([state[_CUST]] * len(rows), np.int64),
                np.array([r[0] for r in rows], np.bool_), np.array([r[1] for r in rows], np.int64),
                np.array([r[2] for r in rows]), np.array([r[3] for r in rows], np.int64),
                np.array([r[4] for r in rows], np.int64), np.full(len(rows), cancel),
                np.full(len(rows), np.uint64(np.int64(state[_HASH]).view(np.uint64))),
                np.array([r[5] for r in rows])]
        part.keys.append(last)
        part.first = (int(state[_FIRST_CUST]), bytes(first_inv[:state[_FIRST_LEN]]))
        part.last = (int(state[_CUST]), bytes(run_inv[:state[_LEN]]))
        part.first_keys = int(state[_FIRST_KEYS]) if state[_CLOSED] else len(rows)
        part.last_keys = len(rows)
    return part


def _concat(parts: list[_Part]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The parts' keys, run hashes and runs' first lines end to end, joining a run that part
    boundaries cut (into two parts or more)."""
    empties = _key_arrays(0)
    cols = [np.concatenate([k[j] for p in parts for k in p.keys] or [empties[j]])
            for j in range(len(_KEY_COLUMNS))]
    hashes = np.concatenate([h for p in parts for h in p.hashes] or [np.empty(0, np.uint64)])
    run_lines = np.concatenate([r for p in parts for r in p.run_lines]
                               or [np.empty(0, np.int64)])
    drop = np.zeros(len(cols[0]), np.bool_)
    drop_run = np.zeros(len(hashes), np.bool_)
    row = run = 0
    # (customer, invoice) of the run open at the end of the parts so far, and its key rows
    open_run: tuple[int, bytes] | None = None
    open_rows: list[int] = []
    for p in parts:
        if p.first is None:  # no usable line: no key, no run
            continue
        n_keys = sum(len(k[0]) for k in p.keys)
        n_runs = sum(len(h) for h in p.hashes)
        own_last = list(range(row + n_keys - p.last_keys, row + n_keys))
        if open_run is not None and open_run == p.first:
            # p's first run continues the open run: add its keys into the open run's and drop
            # them (a flag the open run did not have yet becomes one of its rows), and its
            # repeated run.
            rows = list(open_rows)
            for r in range(row, row + p.first_keys):
                same = [x for x in rows if cols[1][x] == cols[1][r]]
                if same:
                    _combine(cols, same[0], r)
                    drop[r] = True
                else:
                    rows.append(r)
            drop_run[run] = True
            open_rows = rows if n_runs == 1 else own_last  # p is that one run: still open
        else:
            open_rows = own_last
        open_run = p.last
        row += n_keys
        run += n_runs
    if drop.any() or drop_run.any():
        cols = [c[~drop] for c in cols]
        hashes = hashes[~drop_run]
        run_lines = run_lines[~drop_run]
    return cols, hashes, run_lines


def _combine(cols: list[np.ndarray], x: int, r: int) -> None:
    """Add key row ``r`` (a later part of the same key) into row ``x``: line counts, first and
    last times, and the compensated sums, ``r``'s sum then its error term added to ``x``'s
    (sum, error) as DuckDB's ``fsum`` combines two partial states, rounded only at the end."""
    cols[2][x] += cols[2][r]
    cols[4][x] = min(cols[4][x], cols[4][r])
    cols[5][x] = max(cols[5][x], cols[5][r])
    total, err = float(cols[3][x]), float(cols[8][x])
    total, err = neumaier(total, err, float(cols[3][r]))
    total, err = neumaier(total, err, float(cols[8][r]))
    cols[3][x], cols[8][x] = total, err


def _ordered(parts: list[_Part], prefix: bytes) -> bool:
    """Whether every run's invoice sorts after the one before (so no key comes back), in the
    pass's order: without the cancellation prefix, shorter first, then byte by byte."""
    def key(invoice: bytes) -> tuple[int, bytes]:
        if prefix and invoice.startswith(prefix):
            invoice = invoice[len(prefix):]
        return len(invoice), invoice

    runs = [p for p in parts if p.first is not None]
    return all(p.ordered for p in runs) and all(
        a.last == b.first or key(a.last[1]) < key(b.first[1])  # type: ignore[index]
        for a, b in zip(runs, runs[1:], strict=False))


def _merge_returning_keys(path: str, columns: dict[str, str], cols: list[np.ndarray],
                          hashes: np.ndarray, run_lines: np.ndarray) -> list[np.ndarray] | None:
    """Merge the keys of runs that share a hash, once their lines are shown to be one
    customer's one invoice (else None: a hash collision, left to DuckDB)."""
    repeated = _repeated(hashes)
    if not repeated.any():
        return cols
    if int(repeated.sum()) > _MAX_SPLIT_RUNS:
        return None
    # the (customer, invoice) of each repeated run, read back at its first line
    lines = run_lines[repeated]
    pf = pq.ParquetFile(path)
    starts = np.cumsum([0] + [pf.metadata.row_group(g).num_rows
                              for g in range(pf.metadata.num_row_groups)])
    groups = np.searchsorted(starts, lines, side="right") - 1
    found: dict[int, tuple] = {}
    for g in np.unique(groups):
        at = lines[groups == g]
        table = pf.read_row_group(int(g), columns=[columns["cust"], columns["inv"]])
        picked = table.take(pa.array(at - starts[g]))
        for line, cust, inv in zip(at.tolist(), picked.column(0).to_pylist(),
                                   picked.column(1).to_pylist(), strict=True):
            found[line] = (cust, str(inv))
    identity: dict[int, tuple] = {}
    for h, line in zip(hashes[repeated].tolist(), lines.tolist(), strict=True):
        if identity.setdefault(h, found[line]) != found[line]:
            return None
    # keys of the repeated runs, grouped by (run hash, return flag) in line order
    mask = np.isin(cols[7], hashes[repeated])
    index = np.flatnonzero(mask)
    merged: dict[tuple[int, bool], list[int]] = {}
    for i, h, ret in zip(index.tolist(), cols[7][index].tolist(), cols[1][index].tolist(),
                         strict=True):
        merged.setdefault((h, ret), []).append(i)
    firsts = [rows[0] for rows in merged.values()]
    for rows in merged.values():
        for r in rows[1:]:  # in line order
            _combine(cols, rows[0], r)
    keep = ~mask
    keep[firsts] = True
    return [c[keep] for c in cols]


def invoice_runs(path: str, columns: dict[str, str], *, cancellation_prefix: str | None,
                 as_of_us: int | None, threads: int | None = None) -> InvoiceRuns | None:
    """Per-key aggregates of a single Parquet file by runs of invoice lines.

    Parameters
    ----------
    path : str
        The Parquet file.
    columns : dict
        Column of each role: ``inv`` (invoice), ``cust`` (customer number), ``ts`` (date),
        ``q`` (quantity, or the amount when ``p`` is absent) and ``p`` (price).
    cancellation_prefix : str or None
        Invoices starting with it are cancellations (text invoices only).
    as_of_us : int or None
        Lines dated at or after it (microseconds since the epoch) are excluded.
    threads : int, default=None
        Threads reading row groups (default: the CPU count).

    Returns
    -------
    InvoiceRuns or None
        None when the pass cannot give the group-by's result (see the module docstring).
    """
    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    if any(len(schema.get_all_field_indices(name)) != 1 for name in columns.values()):
        return None  # a name that two columns share: DuckDB tells them apart
    for role in ("cust", "q", "p"):
        if role in columns and not _plain_number(schema.field(columns[role]).type,
                                                 integer=role == "cust"):
            return None
    inv_type = schema.field(columns["inv"]).type
    if not (pa.types.is_string(inv_type) or pa.types.is_large_string(inv_type)
            or pa.types.is_integer(inv_type)):
        return None
    ts_type = schema.field(columns["ts"]).type
    if pa.types.is_date32(ts_type):
        ts_mul = _US_PER_DAY
    elif pa.types.is_timestamp(ts_type) and ts_type.tz is None and ts_type.unit in _TS_MUL:
        ts_mul = _TS_MUL[ts_type.unit]
    else:
        return None
    text_invoice = not pa.types.is_integer(inv_type)
    if text_invoice and cancellation_prefix == "":  # every invoice a cancellation: SQL's case
        return None
    prefix = _read_only(np.frombuffer(
        (cancellation_prefix or "").encode() if text_invoice else b"", np.uint8))
    meta = pf.metadata
    groups = meta.num_row_groups
    n_threads = max(1, min(threads or _cpu_count(), groups))
    bounds = [groups * t // n_threads for t in range(n_threads + 1)]
    sizes = [meta.row_group(g).num_rows for g in range(groups)]
    as_of = _HIGHEST if as_of_us is None else int(as_of_us)

    def read(t: int) -> _Part | None:
        return _read_part(path, columns, list(range(bounds[t], bounds[t + 1])),
                          sum(sizes[:bounds[t]]), ts_mul, "p" in columns, prefix, as_of,
                          ns=pa.types.is_timestamp(ts_type) and ts_type.unit == "ns")

    if n_threads == 1:
        parts = [read(0)]
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            parts = list(pool.map(read, range(n_threads)))
    # The row groups' memory goes back to the system, for DuckDB's scans to come (pyarrow's
    # allocator keeps freed pages for its next tables otherwise).
    pa.default_memory_pool().release_unused()
    if any(p is None for p in parts):
        return None
    cols, hashes, run_lines = _concat(parts)  # type: ignore[arg-type]
    if not _ordered(parts, prefix.tobytes()):  # type: ignore[arg-type]
        merged = _merge_returning_keys(path, columns, cols, hashes, run_lines)
        if merged is None:
            return None
        cols = merged
    cols[3] = cols[3] + cols[8]  # each key's compensated sum, rounded
    names = list(_KEY_COLUMNS[:6]) + (["cancel"] if len(prefix) else [])
    keys = pa.table({name: cols[j] for j, name in enumerate(names)})
    return InvoiceRuns(keys=keys)


def _plain_number(t: pa.DataType, *, integer: bool) -> bool:
    if pa.types.is_integer(t):
        return t != pa.uint64()
    return not integer and pa.types.is_floating(t) and t != pa.float16()


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def warm_up() -> None:
    """Compile or load the kernels with the argument types of the common logs (integer or
    decimal-free float quantities, float prices, a text invoice with nulls or without), so
    that a job compiles nothing."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="custseg-warm-up-") as tmp:
        for quantity in (pa.array([1, -2, None, 3], pa.int64()),
                         pa.array([1.0, -2.0, None, 3.0], pa.float64())):
            table = pa.table({
                "i": pa.array(["2", "1", "1", None]), "c": pa.array([1, 2, 2, None], pa.int64()),
                "t": pa.array([0, 1, 2, 3], pa.timestamp("ms")), "q": quantity,
                "p": pa.array([1.0, 2.0, 3.0, 4.0])})
            path = str(Path(tmp) / "log.parquet")
            pq.write_table(table, path)
            invoice_runs(path, {"inv": "i", "cust": "c", "ts": "t", "q": "q", "p": "p"},
                         cancellation_prefix="C", as_of_us=None, threads=1)
    _repeated(np.zeros(2, np.uint64))
    neumaier(0.0, 0.0, 1.0)  # as _combine calls it, from Python
