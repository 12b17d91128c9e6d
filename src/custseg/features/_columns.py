"""Which columns of a transaction log hold the customer, invoice, date, quantity, price, amount.

Column names are parameters of :func:`custseg.features.rfm`; when one is left out it is looked up
among common spellings. A name matches a spelling when both are equal after lower-casing and
dropping everything that is not a letter or a digit, so ``Customer ID``, ``customer_id`` and
``CUSTOMERID`` all match ``customerid``. Spellings are tried in the order listed, and for one
spelling the leftmost column wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .._exceptions import ColumnNotFoundError, InvalidParameterError

__all__ = ["ROLE_SPELLINGS", "ColumnRoles", "resolve_roles"]

#: Normalised spellings tried, in order, for each role.
ROLE_SPELLINGS: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customerid", "customer", "custid", "customerno", "customernumber", "customerkey",
        "customercode", "clientid", "client", "clientno", "clientnumber", "userid", "memberid",
        "accountid", "accountno", "buyerid", "shopperid", "householdid",
    ),
    "invoice": (
        "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "order", "orderno",
        "ordernumber", "transactionid", "transactionno", "receiptid", "receiptno", "basketid",
        "ticketid",
    ),
    "date": (
        "invoicedate", "orderdate", "transactiondate", "purchasedate", "saledate", "date",
        "datetime", "timestamp", "orderdatetime", "invoicedatetime", "createdat", "time", "ts",
    ),
    "quantity": ("quantity", "qty", "units", "unitssold", "quantityordered"),
    "price": ("unitprice", "price", "priceeach", "itemprice", "unitcost", "priceperunit"),
    "amount": (
        "amount", "sales", "revenue", "total", "monetary", "monetaryvalue", "totalamount",
        "totalprice", "linetotal", "lineamount", "saleamount", "salesamount", "netamount",
        "ordervalue", "value", "spend",
    ),
}

_LABELS = {
    "customer_id": "customer ID column",
    "invoice": "invoice column",
    "date": "date column",
    "quantity": "quantity column",
    "price": "price column",
    "amount": "amount column",
}

# The name shown in "Did you mean ...?" when detection finds nothing.
_CANONICAL = {
    "customer_id": "CustomerID",
    "invoice": "InvoiceNo",
    "date": "InvoiceDate",
    "quantity": "Quantity",
    "price": "UnitPrice",
    "amount": "Amount",
}


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class ColumnRoles:
    """The column playing each role (``None`` when the role is not used) and how it was found."""

    customer_id: str
    date: str
    invoice: str | None
    quantity: str | None
    price: str | None
    amount: str | None
    detected: dict[str, bool]

    @property
    def value_mode(self) -> str:
        """``"amount"`` or ``"quantity_price"``."""
        return "amount" if self.amount is not None else "quantity_price"

    def to_summary(self) -> dict[str, dict[str, object]]:
        """The ``summary["columns"]`` entry: per role, its column name and whether it was detected."""
        return {
            role: {"name": getattr(self, role), "detected": bool(self.detected.get(role, False))}
            for role in ("customer_id", "invoice", "date", "quantity", "price", "amount")
        }


def detect(role: str, columns: Sequence[str], taken: set[str] = frozenset()) -> str | None:
    """Return the first column of ``columns`` whose name is a spelling of ``role``, or ``None``."""
    by_norm: dict[str, str] = {}
    for col in columns:
        if col not in taken:
            by_norm.setdefault(_norm(col), col)
    for spelling in ROLE_SPELLINGS[role]:
        if spelling in by_norm:
            return by_norm[spelling]
    return None


def _missing(role: str, name: str, columns: Sequence[str], source: str,
             hint: str | None = None) -> ColumnNotFoundError:
    err = ColumnNotFoundError(name, columns, source=source, what=_LABELS[role])
    if hint:
        err.message = f"{err.message} {hint}"
        err.args = (err.message,)
    return err


def resolve_roles(columns: Sequence[str], *, source: str, customer_id: str | None,
                  date: str | None, invoice: str | None, quantity: str | None,
                  price: str | None, amount: str | None) -> ColumnRoles:
    """Check the named columns and detect the others.

    The value of a line comes from ``amount`` or from ``quantity`` × ``price``. When neither is
    named, quantity × price is preferred (it lets prices be checked), then an amount column.

    Raises
    ------
    ColumnNotFoundError
        A named column does not exist, or a required one cannot be detected. The message lists
        the columns and the closest match.
    InvalidParameterError
        Both ``amount`` and ``quantity``/``price`` are named, or one column is named for two roles.
    """
    columns = [str(c) for c in columns]
    given = {"customer_id": customer_id, "date": date, "invoice": invoice,
             "quantity": quantity, "price": price, "amount": amount}
    for role, name in given.items():
        if name is None:
            continue
        if not isinstance(name, str):
            raise InvalidParameterError(
                f"The {role!r} parameter of rfm must be a column name (str) or None. "
                f"Got {name!r} instead."
            )
        if name not in columns:
            raise _missing(role, name, columns, source)
    if amount is not None and (quantity is not None or price is not None):
        raise InvalidParameterError(
            "Give either amount= or quantity= and price=, not both: the value of a line is its "
            f"amount or its quantity × price. Got amount={amount!r}, quantity={quantity!r}, "
            f"price={price!r}."
        )

    resolved: dict[str, str | None] = dict(given)
    detected = dict.fromkeys(given, False)
    taken = {n for n in given.values() if n is not None}

    def fill(role: str) -> str | None:
        if resolved[role] is None:
            found = detect(role, columns, taken)
            if found is not None:
                resolved[role] = found
                detected[role] = True
                taken.add(found)
        return resolved[role]

    for role in ("customer_id", "date"):
        if fill(role) is None:
            raise _missing(role, _CANONICAL[role], columns, source,
                           f"No column looks like one; name it with {role}=...")

    if amount is None:
        if quantity is not None or price is not None:
            for role in ("quantity", "price"):
                if fill(role) is None:
                    raise _missing(role, _CANONICAL[role], columns, source,
                                   f"With {'quantity' if role == 'price' else 'price'}= given, "
                                   f"name the {role} column too ({role}=...), or give amount=.")
        else:
            q = detect("quantity", columns, taken)
            p = detect("price", columns, taken | {q}) if q is not None else None
            if q is not None and p is not None:
                resolved.update(quantity=q, price=p)
                detected.update(quantity=True, price=True)
                taken.update({q, p})
            elif fill("amount") is None:
                raise _missing("amount", _CANONICAL["amount"], columns, source,
                               "No amount or quantity and price columns were recognised; name "
                               "them with amount=... or quantity=... and price=....")
    fill("invoice")

    used = [n for n in resolved.values() if n is not None]
    dup = {n for n in used if used.count(n) > 1}
    if dup:
        roles = [r for r, n in resolved.items() if n in dup]
        raise InvalidParameterError(
            f"Column {sorted(dup)[0]!r} is used for several roles ({', '.join(roles)}); "
            "each role needs its own column."
        )
    return ColumnRoles(
        customer_id=resolved["customer_id"],  # type: ignore[arg-type]
        date=resolved["date"],  # type: ignore[arg-type]
        invoice=resolved["invoice"],
        quantity=resolved["quantity"],
        price=resolved["price"],
        amount=resolved["amount"],
        detected=detected,
    )
