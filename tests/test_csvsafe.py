import pytest

from app.kit.csvsafe import cell


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_starts_a_formula_is_written_as_text(text):
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value", ["王**", "", "a=b", 3, -3, None, "喀喇沁旗医院(H15042800001)"])
def test_other_cells_are_unchanged(value):
    assert cell(value) == value
