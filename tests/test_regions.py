import pytest

from app.shared import regions


@pytest.mark.parametrize(
    ("scope", "region", "expected"),
    [
        ("100000", "440305", True),  # national covers everything
        ("150000", "150428", True),  # Inner Mongolia covers Karaqin Banner
        ("150000", "210402", False),
        ("150400", "150428", True),  # Chifeng covers Karaqin Banner
        ("150400", "150400", True),
        ("150400", "150502", False),  # Tongliao is not Chifeng
        ("150428", "150428", True),
        ("150428", "150429", False),  # a county covers only itself
        ("150428", "150400", False),  # nor its parent
        ("110000", "110101", True),  # municipality
    ],
)
def test_covers(scope, region, expected):
    assert regions.covers(scope, region) is expected


@pytest.mark.parametrize(
    ("code", "name"),
    [("150428", "喀喇沁旗"), ("150400", "赤峰市"), ("150000", "内蒙古自治区"), ("210400", "抚顺市"), ("100000", "全国")],
)
def test_known_divisions_have_names(code, name):
    assert regions.division_name(code) == name
    assert regions.is_valid_region(code)


@pytest.mark.parametrize("code", ["999999", "150499", "15042", "1504281", "15O428", "", "000000"])
def test_unknown_divisions_are_rejected(code):
    assert not regions.is_valid_region(code)


def test_historical_codes_stay_valid():
    # 崇文区 was merged in 2010; old ID numbers and ledgers still carry it.
    assert regions.division_name("110103") == "崇文区"
