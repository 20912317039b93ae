import pytest

from app.practitioners import identity


@pytest.mark.parametrize("code", ["D150428000123", "DN150428000123", "N210402000001", "Y120101999999"])
def test_good_practitioner_codes(code):
    assert identity.practitioner_code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("d150428000123", "uppercase"),
        ("150428000123", "uppercase"),  # no letter
        ("DNX150428000123", "uppercase"),  # three letters
        ("D15042800012", "uppercase"),  # 11 digits
        ("D1504280001234", "uppercase"),  # 13 digits
        ("D999999000123", "GB/T 2260"),  # not a division
        ("D150499000123", "GB/T 2260"),
    ],
)
def test_bad_practitioner_codes(code, why):
    assert why in identity.practitioner_code_problem(code)


@pytest.mark.parametrize("code", ["H15042800001", "P21040200123"])
def test_good_institution_codes(code):
    assert identity.institution_code_problem(code) is None
    assert identity.institution_region(code) == code[1:7]


@pytest.mark.parametrize("code", ["X15042800001", "H1504280000", "H150428000012", "h15042800001", "H99999900001"])
def test_bad_institution_codes(code):
    assert identity.institution_code_problem(code)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("150428198001010014", "150428198001010014"),  # born before 150428 existed (1983): still valid
        ("210402199003150034", "210402199003150034"),
        ("12010119751120105x", "12010119751120105X"),  # lower-case check letter
        (" 12010119751120105X ", "12010119751120105X"),  # surrounding spaces
    ],
)
def test_good_id_numbers_are_normalised(value, expected):
    assert identity.normalise_id_number(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("150428198001010015", "check"),  # wrong check digit
        ("15042819800101001", "length"),  # 17 characters
        ("150428198013010014", "invalid"),  # month 13
        ("999999198001010011", "address code"),  # right check digit, no such division
        ("15042819800101001A", "invalid"),
    ],
)
def test_bad_id_numbers(value, reason):
    with pytest.raises(ValueError, match="not a valid resident ID number") as exc:
        identity.normalise_id_number(value)
    assert reason in str(exc.value).lower()


def test_masking_hides_birth_date():
    masked = identity.mask_id_number("150428198001010014")
    assert masked == "150***********0014"
    assert "19800101" not in masked


def test_vault_round_trip_and_keyed_hash():
    vault = identity.IdNumberVault(("one secret",))
    token = vault.encrypt("150428198001010014")
    assert "150428198001010014" not in token
    assert vault.decrypt(token) == "150428198001010014"
    # the search hash is stable for one key and differs between keys (a leaked table alone is useless)
    assert vault.search_hash("150428198001010014") == vault.search_hash("150428198001010014")
    assert vault.search_hash("150428198001010014") != identity.IdNumberVault(("another",)).search_hash("150428198001010014")
