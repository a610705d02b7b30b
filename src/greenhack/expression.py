"""A small, safe arithmetic language for ``ranking.expression``; never ``eval``.

Grammar (usual precedence; ``**`` binds tighter than unary minus and is right-associative, as in Python)::

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := ("-" | "+") unary | power
    power      := atom ("**" unary)?
    atom       := NUMBER | NAME | NAME "(" expression ("," expression)* ")" | "(" expression ")"

Numbers are written ``2``, ``0.05``, ``.5``, ``1e-3``. Names are the quantities of :data:`QUANTITIES`
(``accuracy``, ``gwp_g``, ``energy_wh``, ``team_gwp_g``, ...; see :mod:`greenhack.quantities`).
Functions: ``log10(x)``, ``log(x)`` (natural) or
``log(x, base)``, ``min(a, b, ...)``, ``max(a, b, ...)``, ``abs(x)``, ``sqrt(x)``, ``exp(x)``.

A hand-written recursive-descent parser turns the text into a tree of typed nodes, every node remembering its
1-based column, and compiles the tree into nested Python closures (fast: evaluating a formula for 10,000
submissions takes a few milliseconds). Every error, at parse time or when a value breaks a rule (division by
zero, log of a non-positive number, an infinite result), is an :class:`~greenhack.errors.ExpressionError` that
points at the column of the formula it comes from.

Formulas are bounded (:data:`MAX_EXPRESSION_CHARS` long, :data:`MAX_EXPRESSION_DEPTH` levels deep): the parser,
the compiler and the compiled closures each recurse once per level, so an unbounded formula would end in Python's
RecursionError instead of a located message.

The language sits below :mod:`greenhack.config` (whose loader checks ``ranking.expression`` with
:func:`check_expression`) and :mod:`greenhack.scoring` (whose ranking evaluates it): it imports neither.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from greenhack.errors import ExpressionError
from greenhack.quantities import QUANTITIES as _REGISTERED

__all__ = [
    "FUNCTIONS",
    "MAX_EXPRESSION_CHARS",
    "MAX_EXPRESSION_DEPTH",
    "QUANTITIES",
    "Expression",
    "check_expression",
    "parse_expression",
]

# Every name a formula may use, with its meaning and unit: the one registry the ranking and check-config read
QUANTITIES: Mapping[str, str] = _REGISTERED

# name → (minimum number of arguments, maximum or None for any)
FUNCTIONS: Mapping[str, tuple[int, int | None]] = MappingProxyType(
    {
        "log10": (1, 1),
        "log": (1, 2),
        "min": (2, None),
        "max": (2, None),
        "abs": (1, 1),
        "sqrt": (1, 1),
        "exp": (1, 1),
    }
)

# A ranking formula is a line or two; these bounds keep parsing and evaluation far from Python's recursion limit
# (about 5 parser frames per parenthesis, 2 evaluation frames per operator) wherever the formula is used.
MAX_EXPRESSION_CHARS = 1000
MAX_EXPRESSION_DEPTH = 50
_TOO_DEEP = (
    f"the formula nests more than {MAX_EXPRESSION_DEPTH} levels (parentheses, function calls, signs and "
    "chained operators); write it flatter"
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/(),])
    """,
    re.VERBOSE,
)

_Values = Mapping[str, float]
_Compiled = Callable[[_Values], float]


@dataclass(frozen=True)
class _Token:
    kind: str  # number | name | op | end
    text: str
    column: int  # 1-based


@dataclass(frozen=True)
class _Number:
    value: float
    column: int


@dataclass(frozen=True)
class _Name:
    name: str
    column: int


@dataclass(frozen=True)
class _Unary:
    op: str
    operand: _Node
    column: int


@dataclass(frozen=True)
class _Binary:
    op: str
    left: _Node
    right: _Node
    column: int


@dataclass(frozen=True)
class _Call:
    function: str
    args: tuple[_Node, ...]
    column: int


_Node = _Number | _Name | _Unary | _Binary | _Call


class _Parser:
    def __init__(self, text: str, names: Collection[str]) -> None:
        self.text = text
        self.names = names
        if len(text) > MAX_EXPRESSION_CHARS:
            raise self.error(
                f"the formula is {len(text)} characters long; at most {MAX_EXPRESSION_CHARS}",
                MAX_EXPRESSION_CHARS + 1,
            )
        self.tokens = self._tokenize()
        self.pos = 0
        self.nesting = 0  # open parentheses, calls, signs and exponents around the current position

    def error(self, message: str, column: int) -> ExpressionError:
        return ExpressionError(message, expression=self.text, column=column)

    def _tokenize(self) -> list[_Token]:
        tokens: list[_Token] = []
        pos = 0
        while pos < len(self.text):
            match = _TOKEN.match(self.text, pos)
            if match is None:
                char = self.text[pos]
                if char == "^":
                    raise self.error("'^' is not a power: write ** (e.g. gwp_g ** 0.5)", pos + 1)
                if self.text.startswith(("==", "<", ">", "!="), pos):
                    raise self.error("comparisons are not part of the language", pos + 1)
                raise self.error(f"unexpected character {char!r}", pos + 1)
            kind = match.lastgroup or ""
            if kind != "space":
                tokens.append(_Token(kind, match.group(), pos + 1))
            pos = match.end()
        tokens.append(_Token("end", "", len(self.text) + 1))
        return tokens

    @property
    def current(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, *ops: str) -> bool:
        return self.current.kind == "op" and self.current.text in ops

    def nested(self, parse: Callable[[], _Node], column: int) -> _Node:
        """Parse one level deeper (``parse`` recurses), refusing to go past MAX_EXPRESSION_DEPTH."""
        if self.nesting >= MAX_EXPRESSION_DEPTH - 1:
            raise self.error(_TOO_DEEP, column)
        self.nesting += 1
        try:
            return parse()
        finally:
            self.nesting -= 1

    def parse(self) -> _Node:
        if self.current.kind == "end":
            raise self.error("the formula is empty", 1)
        node = self.expression()
        token = self.current
        if token.kind == "end":
            return node
        if token.text == ")":
            raise self.error("')' without a matching '('", token.column)
        raise self.error(f"expected an operator (+ - * / **) before {token.text!r}", token.column)

    def expression(self) -> _Node:
        node = self.term()
        while self.at("+", "-"):
            op = self.advance()
            node = _Binary(op.text, node, self.term(), op.column)
        return node

    def term(self) -> _Node:
        node = self.unary()
        while self.at("*", "/"):
            op = self.advance()
            node = _Binary(op.text, node, self.unary(), op.column)
        return node

    def unary(self) -> _Node:
        if self.at("-", "+"):
            op = self.advance()
            return _Unary(op.text, self.nested(self.unary, op.column), op.column)
        return self.power()

    def power(self) -> _Node:
        base = self.atom()
        if self.at("**"):
            op = self.advance()
            return _Binary("**", base, self.nested(self.unary, op.column), op.column)
        return base

    def atom(self) -> _Node:
        token = self.advance()
        if token.kind == "number":
            return _Number(float(token.text), token.column)
        if token.kind == "name":
            if self.at("("):
                return self.call(token)
            if token.text in FUNCTIONS:
                raise self.error(f"{token.text!r} is a function: write {token.text}(...)", token.column)
            if token.text not in self.names:
                raise self.error(self._unknown_name(token.text), token.column)
            return _Name(token.text, token.column)
        if token.kind == "op" and token.text == "(":
            node = self.nested(self.expression, token.column)
            if not self.at(")"):
                if self.current.kind == "end":
                    raise self.error("'(' is never closed", token.column)
                raise self.error(f"expected ')' before {self.current.text!r}", self.current.column)
            self.advance()
            return node
        if token.kind == "end":
            raise self.error("the formula ends where a value is expected", token.column)
        raise self.error(f"expected a number, a name or '(' but found {token.text!r}", token.column)

    def call(self, name: _Token) -> _Node:
        if name.text not in FUNCTIONS:
            hint = difflib.get_close_matches(name.text, FUNCTIONS, n=1)
            known = ", ".join(FUNCTIONS)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
            raise self.error(f"unknown function {name.text!r}{suggestion} (functions: {known})", name.column)
        opening = self.advance()
        args: list[_Node] = []
        if self.at(")"):
            raise self.error(f"{name.text}() needs an argument", self.current.column)
        while True:
            args.append(self.nested(self.expression, opening.column))
            if self.at(","):
                self.advance()
                continue
            if self.at(")"):
                self.advance()
                break
            if self.current.kind == "end":
                raise self.error("'(' is never closed", opening.column)
            raise self.error(f"expected ',' or ')' before {self.current.text!r}", self.current.column)
        low, high = FUNCTIONS[name.text]
        if len(args) < low or (high is not None and len(args) > high):
            wanted = (
                f"{low}" if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
            )
            raise self.error(f"{name.text}() takes {wanted} argument(s), got {len(args)}", name.column)
        return _Call(name.text, tuple(args), name.column)

    def _unknown_name(self, name: str) -> str:
        hint = difflib.get_close_matches(name, list(self.names), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"unknown name {name!r}{suggestion} (names: {', '.join(sorted(self.names))})"


def _children(node: _Node) -> tuple[_Node, ...]:
    if isinstance(node, _Unary):
        return (node.operand,)
    if isinstance(node, _Binary):
        return (node.left, node.right)
    if isinstance(node, _Call):
        return node.args
    return ()


def _check_depth(tree: _Node, text: str) -> None:
    """Refuse a tree deeper than MAX_EXPRESSION_DEPTH (a long chain ``a + b + ...`` is deep on its left side).

    Walked with an explicit stack: this check must not itself be the recursion it prevents.
    """
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            raise ExpressionError(_TOO_DEEP, expression=text, column=node.column)
        stack.extend((child, depth + 1) for child in _children(node))


def _finite(value: float, text: str, column: int, what: str) -> float:
    if isinstance(value, complex) or not math.isfinite(value):
        raise ExpressionError(f"{what} is not a finite real number", expression=text, column=column)
    return value


def _compile(node: _Node, text: str) -> _Compiled:
    def fail(message: str, column: int) -> ExpressionError:
        return ExpressionError(message, expression=text, column=column)

    if isinstance(node, _Number):
        constant = node.value
        return lambda values: constant
    if isinstance(node, _Name):
        name, column = node.name, node.column

        def lookup(values: _Values) -> float:
            try:
                return values[name]
            except KeyError:
                raise fail(f"{name!r} is not known for this submission", column) from None

        return lookup
    if isinstance(node, _Unary):
        operand = _compile(node.operand, text)
        if node.op == "-":
            return lambda values: -operand(values)
        return operand
    if isinstance(node, _Binary):
        left, right, column = _compile(node.left, text), _compile(node.right, text), node.column
        if node.op == "+":
            return lambda values: _finite(left(values) + right(values), text, column, "the sum")
        if node.op == "-":
            return lambda values: _finite(left(values) - right(values), text, column, "the difference")
        if node.op == "*":
            return lambda values: _finite(left(values) * right(values), text, column, "the product")
        if node.op == "/":

            def divide(values: _Values) -> float:
                denominator = right(values)
                if denominator == 0.0:
                    raise fail("division by zero", column)
                return _finite(left(values) / denominator, text, column, "the quotient")

            return divide

        def power(values: _Values) -> float:
            base, exponent = left(values), right(values)
            if base == 0.0 and exponent < 0:
                raise fail("0 raised to a negative power", column)
            if base < 0 and not float(exponent).is_integer():
                raise fail(f"a negative number ({base:g}) raised to a non-integer power", column)
            try:
                result = base**exponent
            except OverflowError:
                raise fail("the power is too large", column) from None
            return _finite(result, text, column, "the power")

        return power
    args = [_compile(arg, text) for arg in node.args]
    column = node.column
    if node.function in ("min", "max"):
        pick = min if node.function == "min" else max
        return lambda values: pick(arg(values) for arg in args)
    if node.function == "abs":
        (only,) = args
        return lambda values: abs(only(values))
    if node.function == "exp":
        (only,) = args

        def exp(values: _Values) -> float:
            try:
                return _finite(math.exp(only(values)), text, column, "exp()")
            except OverflowError:
                raise fail("exp() is too large", column) from None

        return exp
    if node.function == "sqrt":
        (only,) = args

        def sqrt(values: _Values) -> float:
            x = only(values)
            if x < 0:
                raise fail(f"sqrt() of a negative number ({x:g})", column)
            return math.sqrt(x)

        return sqrt
    # log10 and log
    function = node.function
    base_fn = args[1] if len(args) == 2 else None
    (first,) = args[:1]

    def logarithm(values: _Values) -> float:
        x = first(values)
        if x <= 0:
            raise fail(f"{function}() of a number that is not positive ({x:g})", column)
        if function == "log10":
            return math.log10(x)
        if base_fn is None:
            return math.log(x)
        base = base_fn(values)
        if base <= 0 or base == 1:
            raise fail(f"log() base must be positive and not 1 (got {base:g})", column)
        return math.log(x) / math.log(base)

    return logarithm


def _names(node: _Node) -> set[str]:
    if isinstance(node, _Name):
        return {node.name}
    return set().union(*(_names(child) for child in _children(node)))


@dataclass(frozen=True)
class Expression:
    """A parsed formula.

    Attributes:
        text: the formula as written.
        names: the quantities it uses.
    """

    text: str
    names: frozenset[str]
    _function: _Compiled

    def evaluate(self, values: Mapping[str, float]) -> float:
        """The formula's value for ``values`` (name → number).

        Raises:
            ExpressionError: a name has no value, or a value breaks a rule (division by zero, ...); the
                error's column points at the part of the formula concerned.
        """
        return _finite(self._function(values), self.text, 1, "the result")


def parse_expression(text: str, *, names: Collection[str] = QUANTITIES.keys()) -> Expression:
    """Parse ``text`` into an :class:`Expression` whose names are among ``names``.

    Raises:
        ExpressionError: the formula does not parse, or is longer or deeper than the bounds above; ``column``
            (1-based) points at the problem.
    """
    parser = _Parser(text, names)
    tree = parser.parse()
    _check_depth(tree, text)
    return Expression(text, frozenset(_names(tree)), _compile(tree, text))


def check_expression(text: str) -> None:
    """Raise :class:`~greenhack.errors.ExpressionError` when ``text`` is not a valid ranking formula."""
    parse_expression(text)
