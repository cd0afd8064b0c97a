"""security.md #16: no default accounts, not even in the demo data."""

from typing import Any

from samhand.accounts.models import User
from samhand.demo.data import load_demo


def test_demo_data_creates_no_admin_root_or_sa_account(db: Any) -> None:
    load_demo()
    names = {name.lower() for name in User.objects.values_list("username", flat=True)}
    assert names, "the demo created no users at all"
    assert not names & {"admin", "root", "sa", "administrator", "superuser"}
    assert not User.objects.filter(is_superuser=True).exists()
