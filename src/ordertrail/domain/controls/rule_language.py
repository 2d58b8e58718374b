"""The recognition rules' expression language: CEL (cel-python), bounded and sandboxed.

CEL has no I/O, no assignment and no user-defined functions; a name resolves only to the
variables we bind, and a member access on a map only to its keys, so nothing reaches Python
objects (`line.__class__` is a missing key, not an attribute). Evaluation is bounded by
construction: the text is at most EXPRESSION_CHARS_MAX characters and NODES_MAX parse nodes,
the comprehension macros (the only loops CEL has) are refused, and every bound variable is a
flat map of scalars, so one evaluation visits each node at most once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

EXPRESSION_CHARS_MAX = 1_000
NODES_MAX = 1_500
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
VARIABLES: Mapping[str, str] = {
    "order": "map: id, customer_id, status, disputed, on_hold",
    "line": "map: line_id, sku, ordered, shipped, delivered, accepted, returned",
    "delivery": "map: delivered, signed, signed_by, exception, delivered_at, estimated_at",
    "now": "timestamp: when the gate evaluates",
    "days_since_delivery": "int: whole days since delivery, -1 when not delivered",
    "days_since_estimated": "int: whole days since the carrier's estimate, -1 when unknown",
}


class RuleLanguageError(Exception):
    """A rule's expression cannot be used: the message says why and where."""


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    """A checked expression, ready to evaluate many times."""

    text: str
    program: celpy.Runner


_ENVIRONMENT = celpy.Environment()


def compile_criterion(text: str) -> CompiledCriterion:
    """Parse and check an expression; raise RuleLanguageError with a clear reason if unusable."""
    if not text.strip():
        raise RuleLanguageError("the criterion is empty")
    if len(text) > EXPRESSION_CHARS_MAX:
        raise RuleLanguageError(
            f"the criterion has {len(text)} characters; at most {EXPRESSION_CHARS_MAX}"
        )
    try:
        tree = _ENVIRONMENT.compile(text)
    except CELParseError as exc:
        raise RuleLanguageError(f"the criterion does not parse: {_first_line(exc)}") from exc
    _check_tree(tree)
    return CompiledCriterion(text=text, program=_ENVIRONMENT.program(tree))


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _check_tree(tree: lark.Tree[Any]) -> None:
    subtrees = []
    for nodes, node in enumerate(tree.iter_subtrees(), start=1):
        if nodes > NODES_MAX:
            raise RuleLanguageError(f"the criterion is too complex: over {NODES_MAX} nodes")
        subtrees.append(node)
    names = [
        (str(child), node)
        for node in subtrees
        for child in node.children
        if isinstance(child, lark.Token) and child.type == "IDENT"
    ]
    # Macros first: their loop variables would otherwise read as unknown names.
    for name, node in names:
        if name in MACROS and node.data in ("member_dot_arg", "ident_arg"):
            raise RuleLanguageError(
                f"the macro {name}() is not allowed: rules see scalar facts only"
            )
    for name, node in names:
        if name.startswith("_"):
            raise RuleLanguageError(f"names starting with an underscore are not allowed: {name}")
        if node.data == "ident" and name not in VARIABLES:
            raise RuleLanguageError(
                f"unknown name {name!r}; rules may use {', '.join(sorted(VARIABLES))}"
            )


def evaluate(criterion: CompiledCriterion, *, facts: Mapping[str, Any], now: datetime) -> bool:
    """Evaluate a criterion over an order line's facts; a non-boolean result is an error."""
    activation: dict[str, Any] = {
        name: json_to_cel(value) for name, value in facts.items() if name in VARIABLES
    }
    activation["now"] = celtypes.TimestampType(now)
    for key in ("delivered_at", "estimated_at"):
        delivery = facts.get("delivery") or {}
        value = delivery.get(key)
        if value is not None:
            activation["delivery"][celtypes.StringType(key)] = celtypes.TimestampType(
                datetime.fromisoformat(value)
            )
    try:
        result = criterion.program.evaluate(activation)
    except CELEvalError as exc:
        raise RuleLanguageError(
            f"the criterion failed: {exc.args[0] if exc.args else exc}"
        ) from exc
    if isinstance(result, CELEvalError):
        raise RuleLanguageError(
            f"the criterion failed: {result.args[0] if result.args else result}"
        )
    if not isinstance(result, celtypes.BoolType):
        raise RuleLanguageError(f"the criterion must be true or false, not {type(result).__name__}")
    return bool(result)
