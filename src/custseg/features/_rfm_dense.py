"""The per-customer level of the RFM aggregation in numba, for customer IDs that are numbers.

:func:`custseg.features.rfm` groups the usable lines per (customer, invoice, return flag) in
DuckDB; that table has a row per invoice (two million for a ten-million-line log). Its second
level, one row per customer, and the features, sorted by customer, are here numba passes over
that table (fetched as Arrow) into arrays indexed by the customer's rank. The ranks come from
the customer numbers themselves (an offset when the numbers are dense, as customer numbers
usually are; else a sort), so the result is in customer order with no sort of the features.

On the benchmark's 10M-line log (1M customers, 2M keys) the features step took 0.11-0.13 s
against 0.38-0.49 s for the SQL level (a group-by and join of the keys, the features in SQL,
a fetch and a sort of a million rows); the per-customer level itself costs about the same
either way (~0.4 s). Whole ``rfm()`` runs alternating in one process: median 3.13 s against
3.81 s, faster in 7 of 8 pairs (``USE_DENSE`` switched in one process between runs).

Text IDs, non-integral numbers, numbers beyond ``int64`` and runs with a ``memory_limit``
(where DuckDB must be free to spill) keep the SQL level; both give the same features, bit for
bit, on every log of the tests (sums past the largest double included: inf on both).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numba import njit, prange

from .._numba_threads import NumbaThreads

__all__ = ["CustomerTotals", "customer_numbers", "reduce_keys"]

_NONE = np.iinfo(np.int64).min  # "no timestamp": NaT as int64
_US_PER_DAY = 86_400_000_000
#: The offset map is used while the numbers span at most this many slots per customer key.
_SPAN_PER_KEY = 4


_KERNEL_LOCK = threading.Lock()


@contextmanager
def _kernels(threads: int | None) -> Iterator[int]:
    """Run the kernels one call at a time, on at most ``threads`` threads (yields how many).

    One at a time: ``custseg segment`` warms them up in a worker thread while its main thread
    may reach them, and numba's ``workqueue`` threading layer (the one without TBB or OpenMP,
    e.g. pip's numba on macOS) aborts the process when two threads run parallel kernels at
    once."""
    with _KERNEL_LOCK, NumbaThreads(threads) as n:
        yield n


@dataclass
class CustomerTotals:
    """One entry per customer, in ascending customer number; timestamps in microseconds since
    the epoch, ``_NONE`` (NaT) where there is none."""

    key: np.ndarray  # int64 customer numbers
    n_lines: np.ndarray
    n_returns: np.ndarray
    frequency: np.ndarray  # purchase keys (invoices or days)
    cancellation_invoices: np.ndarray
    gross: np.ndarray  # float64
    returned: np.ndarray
    first_ts: np.ndarray  # first and last purchase
    last_ts: np.ndarray
    min_ts: np.ndarray  # first and last usable line, purchase or return
    max_ts: np.ndarray

    def features(self, as_of_day: int, window_days: int,
                 threads: int | None = None) -> dict[str, np.ndarray]:
        """The feature columns (those of ``_rfm.FEATURE_COLUMNS``), as the SQL level computes
        them; ``as_of_day`` is the date of ``as_of`` in days since the epoch."""
        with _kernels(threads):
            recency, tenure, aov, between, rate, first, last = _features(
                self.frequency, self.gross, self.returned, self.first_ts, self.last_ts,
                as_of_day, window_days)
        return {
            "recency_days": recency,
            "frequency": self.frequency,
            "monetary": self.gross - self.returned,
            "tenure_days": tenure,
            "avg_order_value": aov,
            "mean_days_between_orders": between,
            "return_rate": rate,
            "n_lines": self.n_lines,
            "n_returns": self.n_returns,
            "first_purchase": first.view("datetime64[us]"),
            "last_purchase": last.view("datetime64[us]"),
        }

    def totals(self) -> tuple[int, int, int, int, float, float, int | None, int | None]:
        """(customers, lines used, return lines, cancellation invoices, gross, returned,
        first and last usable timestamp) of the log."""
        has_min = self.min_ts != _NONE
        has_max = self.max_ts != _NONE
        return (len(self.key), int(self.n_lines.sum()), int(self.n_returns.sum()),
                int(self.cancellation_invoices.sum()), _total(_read_only(self.gross)),
                _total(_read_only(self.returned)),
                int(self.min_ts[has_min].min()) if has_min.any() else None,
                int(self.max_ts[has_max].max()) if has_max.any() else None)


def customer_numbers(values: np.ndarray) -> np.ndarray | None:
    """``values`` as int64 when every one is an integer that fits (floats such as 17850.0
    included), else None."""
    if values.dtype.kind in "iu":
        if values.dtype == np.uint64 and len(values) and values.max() > np.iinfo(np.int64).max:
            return None
        return values.astype(np.int64, copy=False)
    if values.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(values) & (np.abs(values) < 9e15) & (values == np.round(values))
        if not ok.all():
            return None
        # + 0: -0.0 and 0.0 are the same number (and the same DuckDB group)
        return (values + 0.0).astype(np.int64)
    return None


def _ranks(cust: np.ndarray, extra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct numbers of ``cust`` and ``extra``, rank of each ``cust``)."""
    if not len(cust) and not len(extra):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    both = [x for x in (cust, extra) if len(x)]
    lo = min(int(x.min()) for x in both)
    hi = max(int(x.max()) for x in both)
    if hi - lo < _SPAN_PER_KEY * (len(cust) + len(extra)) + 1024:
        return _offset_ranks(_read_only(cust), _read_only(extra), lo, hi - lo + 1)
    key, inverse = np.unique(np.concatenate([cust, extra]), return_inverse=True)
    return key, inverse[:len(cust)]


@njit(cache=True, parallel=True)
def _offset_ranks(cust, extra, lo, span):  # noqa: ANN001, ANN202 - numba kernel
    """Ranks of dense numbers: mark each number at its offset, then number the marks in
    order (an unmarked offset is never looked up)."""
    rank_of = np.zeros(span, np.int64)
    for i in range(cust.shape[0]):
        rank_of[cust[i] - lo] = 1
    for i in range(extra.shape[0]):
        rank_of[extra[i] - lo] = 1
    key = np.empty(rank_of.sum(), np.int64)
    m = 0
    for j in range(span):
        if rank_of[j]:  # present: the m-th number, in ascending order
            key[m] = j + lo
            rank_of[j] = m
            m += 1
    rank = np.empty(cust.shape[0], np.int64)
    for i in prange(cust.shape[0]):
        rank[i] = rank_of[cust[i] - lo]
    return key, rank


def reduce_keys(keys: pa.Table, cust: np.ndarray, extra: np.ndarray,
                threads: int | None = None) -> CustomerTotals:
    """Per-customer totals from the per-key table.

    Parameters
    ----------
    keys : pyarrow.Table
        One row per (customer, key, return flag): ``is_ret``, ``n`` (lines), ``v`` (sum of
        ``|value|``), ``mn``/``mx`` (first and last timestamp, microseconds) and, when
        cancellations are detected, ``cancel`` (the key has the cancellation prefix).
    cust : numpy.ndarray
        The customer number of each row (int64).
    extra : numpy.ndarray
        Customers without a usable line (int64), who get a row of zeros.
    threads : int, default=None
        Threads of the kernels (default: numba's setting, all cores).
    """
    with _kernels(threads) as parts:
        key, rank = _ranks(cust, extra)
        is_ret = keys.column("is_ret").to_numpy()
        cancel = (keys.column("cancel").to_numpy() if "cancel" in keys.column_names
                  else np.zeros(len(rank), dtype=np.bool_))
        columns = [keys.column(name).to_numpy() for name in ("n", "v", "mn", "mx")]
        out = _reduce(_read_only(rank), _read_only(is_ret), *map(_read_only, columns),
                      _read_only(cancel), len(key), parts)
    return CustomerTotals(key, *out)


@njit(cache=True, inline="always")
def neumaier(total: float, err: float, x: float) -> tuple[float, float]:
    """One step of Neumaier's compensated sum: ``(total + x, err)`` with the rounding error of
    the addition added to ``err`` (the sum is ``total + err``). Past the largest double the
    total is inf and the error term is left alone (it would turn inf into NaN)."""
    t = total + x
    if not np.isfinite(t):
        pass
    elif abs(total) >= abs(x):
        err += (total - t) + x
    else:
        err += (x - t) + total
    return t, err


@njit(cache=True, inline="always")
def _add(total: np.ndarray, err: np.ndarray, c: int, x: float) -> None:
    """Neumaier's compensated ``total[c] += x``. The SQL level's ``fsum`` is Kahan's; both give
    the correctly rounded sum of the few invoices of a customer. The values are sums of
    ``|value|``, so an inf total stays inf."""
    total[c], err[c] = neumaier(total[c], err[c], x)


@njit(cache=True)
def _total(values):  # noqa: ANN001, ANN202 - numba kernel
    """Neumaier's compensated sum of ``values`` (>= 0, inf included): within about an ulp of
    ``math.fsum``'s correctly rounded sum, which took 0.1 s for a million customers."""
    total = np.zeros(1)
    err = np.zeros(1)
    for i in range(values.shape[0]):
        _add(total, err, 0, values[i])
    return total[0] + err[0]


@njit(cache=True, parallel=True)
def _reduce(rank, is_ret, n, v, mn, mx, cancel, m, parts):  # noqa: ANN001, ANN202 - numba kernel
    # The keys come in hash order, so each is a random access to its customer's entries and
    # the pass is bound by memory latency (~0.3 s for 2M keys and 1M customers in one thread).
    # Each thread takes the customers of one rank range and reads every key, skipping the
    # others' (sequential reads of 16 bytes a key, so T threads read T times 32 MB for 2M
    # keys, in parallel): no two threads write one customer, and
    # the sums add in key order, as in one thread. Rows of accumulators (a cache line per
    # customer) and a radix partition of the keys by customer were measured no faster.
    highest = np.iinfo(np.int64).max
    n_lines = np.zeros(m, np.int64)
    n_returns = np.zeros(m, np.int64)
    frequency = np.zeros(m, np.int64)
    cancels = np.zeros(m, np.int64)
    gross = np.zeros(m)
    gross_err = np.zeros(m)
    returned = np.zeros(m)
    returned_err = np.zeros(m)
    first = np.empty(m, np.int64)
    last = np.empty(m, np.int64)
    ret_min = np.empty(m, np.int64)
    ret_max = np.empty(m, np.int64)
    for part in prange(parts):
        lo = part * m // parts
        hi = (part + 1) * m // parts
        for c in range(lo, hi):
            first[c] = highest
            last[c] = _NONE
            ret_min[c] = highest
            ret_max[c] = _NONE
        for i in range(rank.shape[0]):
            c = rank[i]
            if c < lo or c >= hi:
                continue
            n_lines[c] += n[i]
            if is_ret[i]:
                n_returns[c] += n[i]
                cancels[c] += cancel[i]
                _add(returned, returned_err, c, v[i])
                ret_min[c] = min(ret_min[c], mn[i])
                ret_max[c] = max(ret_max[c], mx[i])
            else:
                frequency[c] += 1
                _add(gross, gross_err, c, v[i])
                first[c] = min(first[c], mn[i])
                last[c] = max(last[c], mx[i])
    min_ts = np.empty(m, np.int64)
    max_ts = np.empty(m, np.int64)
    for c in prange(m):
        gross[c] += gross_err[c]
        returned[c] += returned_err[c]
        min_ts[c] = min(first[c], ret_min[c])
        max_ts[c] = max(last[c], ret_max[c])
        if first[c] == highest:
            first[c] = _NONE
        if min_ts[c] == highest:
            min_ts[c] = _NONE
    return (n_lines, n_returns, frequency, cancels, gross, returned, first, last, min_ts,
            max_ts)


@njit(cache=True, parallel=True)
def _features(freq, gross, returned, first_ts, last_ts, as_of_day, window_days):  # noqa: ANN001, ANN202 - numba kernel
    """recency, tenure, average order value, days between orders, return rate, and the first
    and last purchase at midnight (the SQL level's CASEs, customer by customer)."""
    m = freq.shape[0]
    recency = np.empty(m, np.int64)
    tenure = np.empty(m, np.int64)
    aov = np.empty(m)
    between = np.empty(m)
    rate = np.empty(m)
    first = np.empty(m, np.int64)
    last = np.empty(m, np.int64)
    for c in prange(m):
        f = freq[c]
        if f > 0:
            # floor division: CAST(ts AS DATE) of a time before 1970 is the day before
            first_day = first_ts[c] // _US_PER_DAY
            last_day = last_ts[c] // _US_PER_DAY
            recency[c] = as_of_day - last_day
            tenure[c] = as_of_day - first_day
            aov[c] = gross[c] / f
            first[c] = first_day * _US_PER_DAY
            last[c] = last_day * _US_PER_DAY
        else:
            first_day = last_day = 0
            recency[c] = window_days
            tenure[c] = window_days
            aov[c] = 0.0
            first[c] = _NONE
            last[c] = _NONE
        between[c] = (last_day - first_day) / (f - 1) if f > 1 else float(window_days)
        if returned[c] <= 0:
            rate[c] = 0.0
        elif gross[c] <= 0:
            rate[c] = 1.0
        else:
            rate[c] = min(returned[c] / gross[c], 1.0)
    return recency, tenure, aov, between, rate, first, last


def _read_only(values: np.ndarray) -> np.ndarray:
    """A read-only view: numba compiles a kernel once per argument type, and read-only (Arrow's
    buffers) and writable arrays are different types; the kernels always get read-only ones."""
    view = values.view()
    view.flags.writeable = False
    return view


def warm_up() -> None:
    """Load the kernels (numba's import, its first kernel load and each kernel's cache: ~1.2 s
    in a fresh process), with the argument types :func:`reduce_keys` and
    :meth:`CustomerTotals.features` pass, so that no new specialisation is compiled."""
    ints = _read_only(np.zeros(1, np.int64))
    flags = _read_only(np.zeros(1, np.bool_))
    floats = _read_only(np.zeros(1))
    with _kernels(None) as parts:
        _offset_ranks(ints, ints, 0, 1)
        _reduce(ints, flags, ints, floats, ints, ints, flags, 1, parts)
        _total(floats)
        # the features take _reduce's (writable) results
        _features(np.zeros(1, np.int64), np.zeros(1), np.zeros(1), np.zeros(1, np.int64),
                  np.zeros(1, np.int64), 0, 0)
