"""Identifiers of people and institutions, and protection of ID numbers. Pure.

ID numbers (居民身份证号码) are validated with python-stdnum (length, birth date, GB/T 2260
birth place, ISO 7064 check digit), stored encrypted (Fernet: AES-128-CBC + HMAC), shown
only masked, and searchable by exact value through a keyed hash (HMAC-SHA256), so the
database alone reveals nothing. Both keys are derived from one master secret with HKDF.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from app.kit import keyring
from app.kit.messages import t
from app.shared import regions

PRACTITIONER_CODE = re.compile(r"^[A-Z]{1,2}(\d{6})\d{6}$")
INSTITUTION_CODE = re.compile(r"^[HP](\d{6})\d{5}$")


def practitioner_code_problem(code: str) -> str | None:
    """Why a national staff code is not acceptable, or None when it is."""
    m = PRACTITIONER_CODE.match(code)
    if not m:
        return t("must be 1-2 uppercase letters followed by 12 digits, e.g. D150428000123")
    if not regions.is_valid_region(m.group(1)):
        return t("digits {digits} after the prefix are not a GB/T 2260 division code", digits=m.group(1))
    return None


def institution_code_problem(code: str) -> str | None:
    m = INSTITUTION_CODE.match(code)
    if not m:
        return t("must be H (medical institution) or P (retail pharmacy) followed by 11 digits")
    if not regions.is_valid_region(m.group(1)):
        return t("digits {digits} after the letter are not a GB/T 2260 division code", digits=m.group(1))
    return None


def institution_region(code: str) -> str:
    return code[1:7]


def region_problem(code: str) -> str | None:
    if not regions.is_valid_region(code):
        return t("must be a 6-digit GB/T 2260 division code, e.g. 150428")
    return None


def normalise_id_number(value: str) -> str:
    """The canonical form (no spaces, upper-case X); raises ValueError with the reason.

    Not ``ric.validate`` as a whole: it also requires the address code to have existed in the
    birth year, but the code on an 18-digit number is the place of registration when the card
    was issued (1999 on), so people born before their county got its code would be refused.
    The address code must be a GB/T 2260 division of any era instead.
    """
    try:
        number = ric.compact(value)
        if len(number) != 18:
            raise ric.InvalidLength()
        if not number[:-1].isdigit():
            raise ric.InvalidFormat()
        if number[-1] != ric.calc_check_digit(number):
            raise ric.InvalidChecksum()
        ric.get_birth_date(number)
    except ValidationError as exc:
        raise ValueError(t("not a valid resident ID number: {reason}", reason=exc.message)) from None
    if not regions.is_valid_region(number[:6]):
        raise ValueError(t("not a valid resident ID number: the address code is not a GB/T 2260 division"))
    return number


def mask_id_number(number: str) -> str:
    """Keep the first 3 and last 4 characters: enough to tell people apart, no birth date."""
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


class IdNumberVault:
    """Encrypts, decrypts and blind-indexes ID numbers with keys derived from the master secrets
    (the current one first; earlier ones only while a rotation is under way, see app/kit/keyring.py)."""

    PURPOSE = b"id-number-encryption"

    def __init__(self, masters: tuple[str, ...]):
        self._masters = masters
        self._fernet = keyring.fernet(masters, self.PURPOSE)
        self._index_keys = [keyring.derive(m, b"id-number-search-index") for m in masters]

    def encrypt(self, number: str) -> str:
        return self._fernet.encrypt(number.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def is_stale(self, token: str) -> bool:
        """Whether ``token`` was encrypted under an earlier master (a rotation is under way)."""
        return keyring.is_stale(self._masters, self.PURPOSE, token)

    def search_hash(self, number: str) -> str:
        """The index value stored from now on (under the current master)."""
        return self._hash(self._index_keys[0], number)

    def search_hashes(self, number: str) -> list[str]:
        """Every index value the number may be stored under while a rotation is under way."""
        return [self._hash(key, number) for key in self._index_keys]

    @staticmethod
    def _hash(key: bytes, number: str) -> str:
        return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def get_vault() -> IdNumberVault:
    return _vault(keyring.masters())


@lru_cache(maxsize=4)
def _vault(masters: tuple[str, ...]) -> IdNumberVault:
    return IdNumberVault(masters)


def mask_name(name: str) -> str:
    """Keep the first character (the family name in most cases): 王小明 -> 王**."""
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1)


def mask_code(code: str) -> str:
    """Keep the letters, the 6-digit region and the last two digits: D150428000123 -> D150428****23."""
    letters = len(code) - 12
    head = code[: letters + 6]
    return head + "*" * (len(code) - len(head) - 2) + code[-2:]


_CODE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,2}[0-9]{12}(?![0-9])")


def mask_codes_in(text: str) -> str:
    """Every practitioner code in a text masked (institution codes, a letter and 11 digits, stay)."""
    return _CODE_IN_TEXT.sub(lambda m: mask_code(m.group(0)), text)
