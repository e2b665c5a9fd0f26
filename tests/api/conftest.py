import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from api.tokens import create_token
from tests.factories import FinanceStaffFactory, MembershipFactory, StaffFactory, UserFactory


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        _, key = create_token(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def staff_api(db):
    return client_for(StaffFactory(username="fiona"))


@pytest.fixture
def finance_api(db):
    """Staff in the Finance group, not superuser."""
    return client_for(FinanceStaffFactory(username="farid"))


@pytest.fixture
def staffview_api(db):
    """Staff with every view permission of the finance apps and nothing else."""
    user = UserFactory(username="vic", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__startswith="view_",
            content_type__app_label__in=["refunds", "ledger", "vendors", "portal", "cash"],
        )
    )
    return client_for(user)


@pytest.fixture
def readonly_api(db, settings):
    user = UserFactory(username="rory")
    group, _ = Group.objects.get_or_create(name=settings.READ_ONLY_GROUP)
    user.groups.add(group)
    return client_for(user)


@pytest.fixture
def acme_api(acme):
    return client_for(MembershipFactory(user=UserFactory(username="vera"), vendor=acme).user)


@pytest.fixture
def acme_finance_api(acme):
    user = UserFactory(username="fenna")
    return client_for(MembershipFactory(user=user, vendor=acme, role="finance").user)


@pytest.fixture
def acme_viewer_api(acme):
    user = UserFactory(username="vito")
    return client_for(MembershipFactory(user=user, vendor=acme, role="viewer").user)


@pytest.fixture
def bolt_api(bolt):
    return client_for(MembershipFactory(user=UserFactory(username="bruno"), vendor=bolt).user)


@pytest.fixture
def anonymous_api():
    return APIClient()
