import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from integrations.tokens import create_token
from tests.factories import MembershipFactory, StaffFactory, UserFactory


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
def readonly_api(db, settings):
    user = UserFactory(username="rory")
    group, _ = Group.objects.get_or_create(name=settings.READ_ONLY_GROUP)
    user.groups.add(group)
    return client_for(user)


@pytest.fixture
def acme_api(acme):
    return client_for(MembershipFactory(user=UserFactory(username="vera"), vendor=acme).user)


@pytest.fixture
def bolt_api(bolt):
    return client_for(MembershipFactory(user=UserFactory(username="bruno"), vendor=bolt).user)


@pytest.fixture
def anonymous_api():
    return APIClient()
