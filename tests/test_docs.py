"""The public API's docstring examples run and give what they show."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["imgconv.convolution", "imgconv.engine.planner", "imgconv.filters.gaussian",
                                    "imgconv.filters.box", "imgconv.filters.sharpen", "imgconv.filters.emboss"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
