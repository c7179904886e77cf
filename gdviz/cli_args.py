"""Argument types shared by the headless sub-commands (trace, export, sweep, basins)."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

#: argparse takes "-1.5,2" for an option (only a plain "-1.5" counts as a
#: number), so "--start -1.5,2" would fail; sub-commands set this as their
#: parser's ``_negative_number_matcher`` to accept comma lists of numbers.
NEGATIVE_NUMBERS = re.compile(r"^-(\d|\.\d)[\d.eE+\-,\s]*$")


def int_arg(flag: str) -> Callable[[str], int]:
    """An argparse type: a whole number, with a message that names ``flag``."""

    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} needs a whole number, not {text!r}") from None

    parse.__name__ = "integer"
    return parse


def float_arg(flag: str) -> Callable[[str], float]:
    """An argparse type: a finite number, with a message that names ``flag``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} needs a number, not {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{flag} needs a finite number, not {text!r}")
        return value

    parse.__name__ = "number"
    return parse
