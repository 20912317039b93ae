from tests.dueprocess.conftest import due  # noqa: F401
from tests.referrals.conftest import referrals  # noqa: F401
