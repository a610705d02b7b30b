"""The ranking expression language: values, precedence, and errors that point at their column."""

from __future__ import annotations

import math

import pytest

from greenhack.errors import ExpressionError
from greenhack.scoring import QUANTITIES, check_expression, parse_expression

VALUES = {"accuracy": 0.9, "gwp_g": 100.0, "energy_wh": 2.0, "duration_s": 30.0, "rmse": 0.5}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy - 0.05 * log10(gwp_g)", 0.9 - 0.05 * 2.0),
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 ** 3 ** 2", 2.0**9),  # right-associative
        ("-2 ** 2", -4.0),  # ** binds tighter than unary minus, as in Python
        ("2 ** -1", 0.5),
        ("10 / 4 / 5", 0.5),  # left-associative
        ("8 - 3 - 2", 3.0),
        ("--accuracy", 0.9),
        ("+accuracy", 0.9),
        ("log(exp(2))", 2.0),
        ("log(8, 2)", 3.0),
        ("min(accuracy, 0.5, 2)", 0.5),
        ("max(accuracy, energy_wh)", 2.0),
        ("abs(-3) + sqrt(16)", 7.0),
        ("accuracy / (energy_wh * duration_s / 3600)", 0.9 / (2.0 * 30.0 / 3600)),
        ("1e-3 * gwp_g + .5", 0.6),
        ("  accuracy\t", 0.9),
    ],
)
def test_values(text: str, expected: float) -> None:
    assert math.isclose(parse_expression(text).evaluate(VALUES), expected, rel_tol=1e-12)


def test_names_used_are_reported() -> None:
    assert parse_expression("accuracy - 0.05 * log10(gwp_g)").names == {"accuracy", "gwp_g"}


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("accuracy - ", 12, "the formula ends where a value is expected"),
        ("", 1, "the formula is empty"),
        ("acuracy * 2", 1, "unknown name 'acuracy'; did you mean 'accuracy'?"),
        ("accuracy * lg(gwp_g)", 12, "unknown function 'lg'"),
        ("accuracy gwp_g", 10, "expected an operator (+ - * / **) before 'gwp_g'"),
        ("(accuracy + 1", 1, "'(' is never closed"),
        ("accuracy + 1)", 13, "')' without a matching '('"),
        ("gwp_g ^ 2", 7, "'^' is not a power: write **"),
        ("accuracy $ 2", 10, "unexpected character '$'"),
        ("log10", 1, "'log10' is a function: write log10(...)"),
        ("log10()", 7, "log10() needs an argument"),
        ("log10(1, 2)", 1, "log10() takes 1 argument(s), got 2"),
        ("min(1)", 1, "min() takes at least 2 argument(s), got 1"),
        ("max(1, 2", 4, "'(' is never closed"),
        ("max(1 2)", 7, "expected ',' or ')' before '2'"),
        ("accuracy > 0.5", 10, "comparisons are not part of the language"),
        ("__import__('os')", 12, 'unexpected character "\'"'),
        ("__import__(1)", 1, "unknown function '__import__'"),
        ("__builtins__", 1, "unknown name '__builtins__'"),
        ("accuracy.real", 9, "unexpected character '.'"),
        ("[1]", 1, "unexpected character '['"),
        ("* 2", 1, "expected a number, a name or '(' but found '*'"),
    ],
)
def test_parse_errors_point_at_their_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert caught.value.column == column
    assert fragment in str(caught.value)
    assert caught.value.expression == text
    # the message shows the formula with a caret under the column
    assert str(caught.value).endswith(f"  {text}\n  {' ' * (column - 1)}^")


@pytest.mark.parametrize(
    ("text", "values", "column", "fragment"),
    [
        ("accuracy / (gwp_g - 100)", VALUES, 10, "division by zero"),
        ("log10(gwp_g - 100)", VALUES, 1, "log10() of a number that is not positive (0)"),
        ("log(accuracy, 1)", VALUES, 1, "log() base must be positive and not 1"),
        ("sqrt(-gwp_g)", VALUES, 1, "sqrt() of a negative number (-100)"),
        ("(-gwp_g) ** 0.5", VALUES, 10, "a negative number (-100) raised to a non-integer power"),
        ("0 ** -1", VALUES, 3, "0 raised to a negative power"),
        ("gwp_g ** 1000", VALUES, 7, "the power is too large"),
        ("exp(gwp_g * 10)", VALUES, 1, "exp() is too large"),
        ("1e308 * 10", VALUES, 7, "the product is not a finite real number"),
        ("accuracy * team_gwp_g", VALUES, 12, "'team_gwp_g' is not known for this submission"),
    ],
)
def test_evaluation_errors_point_at_their_column(
    text: str, values: dict[str, float], column: int, fragment: str
) -> None:
    expression = parse_expression(text)
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate(values)
    assert caught.value.column == column
    assert fragment in str(caught.value)


def test_every_documented_quantity_parses() -> None:
    for name in QUANTITIES:
        check_expression(f"{name} + 1")


def test_parsing_never_evaluates_python() -> None:
    # a formula that Python's eval would run: here it is only a parse error
    with pytest.raises(ExpressionError):
        check_expression("(lambda: 1)()")
    with pytest.raises(ExpressionError):
        check_expression("accuracy if 1 else 0")


@pytest.mark.parametrize(
    "text",
    [
        "(" * 3000 + "accuracy" + ")" * 3000,  # the parser would recurse 5 frames per parenthesis
        "-" * 5000 + "accuracy",  # one frame per sign
        "log10(" * 2000 + "gwp_g" + ")" * 2000,
        "2 ** " * 2000 + "accuracy",
        " + ".join(["accuracy"] * 400),  # a left-deep chain: compiled and evaluated one closure per operator
    ],
)
def test_formulas_nested_past_the_limit_are_an_expression_error_not_a_recursion_error(text: str) -> None:
    with pytest.raises(ExpressionError, match=r"nests more than \d+ levels|characters long"):
        check_expression(text)


def test_formula_depth_and_length_caps_are_clear_and_located() -> None:
    # the caps docs/organisers.md documents (the module's MAX_EXPRESSION_CHARS and MAX_EXPRESSION_DEPTH)
    MAX_EXPRESSION_CHARS, MAX_EXPRESSION_DEPTH = 1000, 50  # noqa: N806

    at_limit = "(" * (MAX_EXPRESSION_DEPTH - 1) + "accuracy" + ")" * (MAX_EXPRESSION_DEPTH - 1)
    assert parse_expression(at_limit).evaluate(VALUES) == 0.9
    chain = " + ".join(["accuracy"] * MAX_EXPRESSION_DEPTH)  # a tree MAX_EXPRESSION_DEPTH nodes deep
    assert math.isclose(parse_expression(chain).evaluate(VALUES), 0.9 * MAX_EXPRESSION_DEPTH)
    with pytest.raises(ExpressionError) as deep:
        parse_expression("(" * MAX_EXPRESSION_DEPTH + "accuracy" + ")" * MAX_EXPRESSION_DEPTH)
    assert deep.value.column == MAX_EXPRESSION_DEPTH
    assert f"nests more than {MAX_EXPRESSION_DEPTH} levels" in str(deep.value)
    with pytest.raises(ExpressionError) as long:
        parse_expression("accuracy" + " " * MAX_EXPRESSION_CHARS)
    assert long.value.column == MAX_EXPRESSION_CHARS + 1
    assert f"at most {MAX_EXPRESSION_CHARS}" in str(long.value)
