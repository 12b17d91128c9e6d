"""Parameter validation from one declared table, checked when ``fit`` starts.

A small stand-in for scikit-learn's private ``_param_validation``: estimators declare
``_parameter_constraints = {"k": [Interval(int, 2, None), StrOptions({"auto"})], ...}`` and call
:func:`validate_params`. Every failure has one message shape::

    The 'k' parameter of Segmenter must be an int >= 2 or "auto". Got 1 instead.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._exceptions import InvalidParameterError


class Constraint:
    def is_satisfied_by(self, value: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A number in ``[low, high]`` (``None`` = unbounded). ``kind`` is ``int`` or ``float``."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right", "neither"

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        if self.kind is int:
            if not isinstance(value, numbers.Integral):
                return False
        elif not isinstance(value, numbers.Real):
            return False
        if isinstance(value, float) and np.isnan(value):
            return False
        if self.low is not None:
            if self.closed in ("both", "left") and value < self.low:
                return False
            if self.closed in ("right", "neither") and value <= self.low:
                return False
        if self.high is not None:
            if self.closed in ("both", "right") and value > self.high:
                return False
            if self.closed in ("left", "neither") and value >= self.high:
                return False
        return True

    def describe(self) -> str:
        name = "an int" if self.kind is int else "a float"
        parts = []
        if self.low is not None:
            op = ">=" if self.closed in ("both", "left") else ">"
            parts.append(f"{op} {self.low}")
        if self.high is not None:
            op = "<=" if self.closed in ("both", "right") else "<"
            parts.append(f"{op} {self.high}")
        return name + (" " + " and ".join(parts) if parts else "")


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (strings or ``None``)."""

    values: frozenset

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return value in self.values
        except TypeError:
            return False

    def describe(self) -> str:
        shown = sorted((v for v in self.values if v is not None), key=str)
        text = ", ".join(f'"{v}"' if isinstance(v, str) else repr(v) for v in shown)
        if None in self.values:
            text += ", None" if text else "None"
        return f"one of {{{text}}}"


@dataclass(frozen=True)
class InstanceOf(Constraint):
    types: tuple
    label: str

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.types)

    def describe(self) -> str:
        return self.label


@dataclass(frozen=True)
class Predicate(Constraint):
    check: Callable[[Any], bool]
    label: str

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return bool(self.check(value))
        except Exception:
            return False

    def describe(self) -> str:
        return self.label


NONE = Options(frozenset({None}))
RANDOM_STATE = [
    NONE,
    Interval(int, 0, 2**32 - 1),
    InstanceOf((np.random.RandomState, np.random.Generator), "a numpy random generator"),
]
COLUMN_LIST = Predicate(
    lambda v: isinstance(v, Sequence) and not isinstance(v, str | bytes)
    and len(v) > 0 and all(isinstance(c, str | int) for c in v),
    "a non-empty list of column names",
)


def validate_params(owner: str, constraints: Mapping[str, list[Constraint]],
                    params: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidParameterError` for the first parameter no constraint accepts."""
    for name, allowed in constraints.items():
        value = params[name]
        if any(c.is_satisfied_by(value) for c in allowed):
            continue
        descs = [c.describe() for c in allowed]
        text = descs[0] if len(descs) == 1 else ", ".join(descs[:-1]) + " or " + descs[-1]
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {text}. Got {value!r} instead."
        )
