"""Argument types shared by the headless sub-commands."""

import argparse

import pytest

from gdviz.cli_args import NEGATIVE_NUMBERS, float_arg, int_arg


def test_int_arg_names_the_flag():
    assert int_arg("--steps")("12") == 12
    with pytest.raises(
        argparse.ArgumentTypeError, match=r"--steps needs a whole number, not '1\.5'"
    ):
        int_arg("--steps")("1.5")


@pytest.mark.parametrize("text", ["inf", "-inf", "nan"])
def test_float_arg_refuses_non_finite_numbers(text):
    with pytest.raises(argparse.ArgumentTypeError, match="--fps needs a finite number"):
        float_arg("--fps")(text)


def test_float_arg_reads_numbers_and_names_the_flag():
    assert float_arg("--tol")("1e-6") == 1e-6
    with pytest.raises(argparse.ArgumentTypeError, match="--tol needs a number, not 'abc'"):
        float_arg("--tol")("abc")


@pytest.mark.parametrize("text", ["-1.5,2", "-.5", "-1e-3, -2"])
def test_negative_number_lists_are_values(text):
    assert NEGATIVE_NUMBERS.match(text)


@pytest.mark.parametrize("text", ["--start", "-x", "-"])
def test_options_are_not_numbers(text):
    assert not NEGATIVE_NUMBERS.match(text)
