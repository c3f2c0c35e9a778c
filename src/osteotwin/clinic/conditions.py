"""A tiny condition language so that rules are data: readable in code, printable in docs, testable.

``F("lowest_t_score") < -2.0`` builds a comparison; ``&``, ``|`` and ``~`` combine them. A comparison
on a fact that is missing (``None``) is false: a rule never fires on data the record does not hold.
"""

from __future__ import annotations

import abc
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


class Condition(abc.ABC):
    """Base of every condition node."""

    @abc.abstractmethod
    def holds(self, facts: Mapping[str, Any]) -> bool:
        """Whether the condition holds for these facts."""

    @abc.abstractmethod
    def fact_names(self) -> set[str]:
        """The facts the condition reads (for the rule documentation)."""

    def __and__(self, other: Condition) -> Condition:
        return All((self, other))

    def __or__(self, other: Condition) -> Condition:
        return AnyOf((self, other))

    def __invert__(self) -> Condition:
        return Not(self)


@dataclass(frozen=True)
class Compare(Condition):
    fact: str
    op: str
    value: float | bool | str

    def holds(self, facts: Mapping[str, Any]) -> bool:
        if self.fact not in facts:
            raise KeyError(f"rule refers to unknown fact {self.fact!r}")
        actual = facts[self.fact]
        if actual is None:
            return False
        return bool(_OPS[self.op](actual, self.value))

    def fact_names(self) -> set[str]:
        return {self.fact}

    def __str__(self) -> str:
        if self.op == "==" and isinstance(self.value, bool):
            return self.fact if self.value else f"not {self.fact}"
        return f"{self.fact} {self.op} {self.value:g}" if isinstance(self.value, float | int) else (
            f"{self.fact} {self.op} {self.value}"
        )


@dataclass(frozen=True)
class All(Condition):
    parts: tuple[Condition, ...]

    def holds(self, facts: Mapping[str, Any]) -> bool:
        return all(part.holds(facts) for part in self.parts)

    def fact_names(self) -> set[str]:
        return set().union(*(p.fact_names() for p in self.parts))

    def __and__(self, other: Condition) -> Condition:
        return All((*self.parts, other))

    def __str__(self) -> str:
        return " and ".join(_wrap(p) for p in self.parts)


@dataclass(frozen=True)
class AnyOf(Condition):
    parts: tuple[Condition, ...]

    def holds(self, facts: Mapping[str, Any]) -> bool:
        return any(part.holds(facts) for part in self.parts)

    def fact_names(self) -> set[str]:
        return set().union(*(p.fact_names() for p in self.parts))

    def __or__(self, other: Condition) -> Condition:
        return AnyOf((*self.parts, other))

    def __str__(self) -> str:
        return " or ".join(_wrap(p) for p in self.parts)


@dataclass(frozen=True)
class Not(Condition):
    part: Condition

    def holds(self, facts: Mapping[str, Any]) -> bool:
        return not self.part.holds(facts)

    def fact_names(self) -> set[str]:
        return self.part.fact_names()

    def __str__(self) -> str:
        return f"not ({self.part})"


@dataclass(frozen=True)
class Always(Condition):
    def holds(self, facts: Mapping[str, Any]) -> bool:
        return True

    def fact_names(self) -> set[str]:
        return set()

    def __str__(self) -> str:
        return "always"


def _wrap(condition: Condition) -> str:
    return f"({condition})" if isinstance(condition, All | AnyOf) else str(condition)


class F:
    """A named fact; comparing it builds a :class:`Compare`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __lt__(self, value: float) -> Compare:
        return Compare(self.name, "<", value)

    def __le__(self, value: float) -> Compare:
        return Compare(self.name, "<=", value)

    def __gt__(self, value: float) -> Compare:
        return Compare(self.name, ">", value)

    def __ge__(self, value: float) -> Compare:
        return Compare(self.name, ">=", value)

    def eq(self, value: float | bool | str) -> Compare:
        return Compare(self.name, "==", value)

    @property
    def true(self) -> Compare:
        return Compare(self.name, "==", True)

    @property
    def false(self) -> Compare:
        return Compare(self.name, "==", False)
