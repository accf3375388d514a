"""Typed values are parsed by a whitelisted walk, never eval'd, with bounds on every intermediate."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gradstudio.studio.values import MAX_ELEMENTS, ValueParseError, parse_value


@pytest.mark.parametrize("text, expected", [
    ("1.5", 1.5), ("-2", -2.0), ("2 ** 3 / 4", 2.0), ("pi", math.pi), ("[1, 2, 3]", [1, 2, 3]),
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]), ("ones(2, 2)", np.ones((2, 2))), ("zeros(3)", np.zeros(3)),
    ("ones((2, 3)) * 0.5", np.full((2, 3), 0.5)), ("full((2, 3), 0.5)", np.full((2, 3), 0.5)),
    ("eye(3)", np.eye(3)), ("eye(2, 3)", np.eye(2, 3)), ("arange(0, 1, 0.25)", [0, 0.25, 0.5, 0.75]),
    ("linspace(-1, 1, 5)", [-1, -0.5, 0, 0.5, 1]), ("torch.tensor([1., 2.])", [1.0, 2.0]),
    ("[1, 2] + ones(2)", [2.0, 3.0]), ("-inf", -math.inf),
])
def test_what_a_person_types_becomes_an_array(text, expected):
    np.testing.assert_array_equal(parse_value(text), np.asarray(expected, dtype=np.float64))


def test_random_values_are_reproducible_from_their_seed():
    a, b = parse_value("rand(2, 3, seed=7)"), parse_value("rand(2, 3, seed=7)")
    assert a.shape == (2, 3) and np.array_equal(a, b) and not np.array_equal(a, parse_value("rand(2, 3, seed=8)"))
    assert parse_value("randn(4, seed=1)").shape == (4,)


def test_the_dtype_is_the_callers():
    assert parse_value("[1, 2]", dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("text, words", [
    ("__import__('os').system('echo hi')", "cannot be called"),
    ("open('x')", "unknown function"),
    ("x", "unknown name"),
    ("(1).__class__", "attribute"),
    ("[1, 2][0]", "indexing"),
    ("[i for i in range(3)]", "comprehension"),
    ("lambda: 1", "lambda"),
    ("'text'", "only numbers"),
    ("[[1, 2], [3]]", "same shape"),
    ("2**2**2**999", "too large"),
    ("10 ** 5000", "exponents are limited"),
    ("ones(10**9)", "more than"),
    ("ones(1000, 1000) * ones(1000, 1, 1000)", "more than"),
    ("arange(0, 1e12)", "more than"),
    ("ones(2.5)", "whole"),
    ("[" * 40 + "]" * 40, "nested"),
    ("", "empty"),
    ("1 +", "not a value"),
    ("ones(2, bogus=3)", "no keyword"),
    ("x" * 30_000, "longer than"),
])
def test_anything_else_is_refused_with_a_reason(text, words):
    with pytest.raises(ValueParseError) as caught:
        parse_value(text)
    assert words in str(caught.value)


def test_a_refused_value_is_a_value_error_for_callers_that_catch_those():
    with pytest.raises(ValueError):
        parse_value("nope")


def test_the_element_bound_holds_for_a_huge_list_literal():
    with pytest.raises(ValueParseError):
        parse_value("[" + ", ".join(["1"] * 3000) + "]" + " * ones(1000, 1)")
    assert MAX_ELEMENTS >= 1_000_000
