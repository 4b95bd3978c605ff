import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError

from accounts.models import User
from accounts.tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_email_is_unique_whatever_its_case():
    UserFactory(email="Ada@Example.com")
    with pytest.raises(IntegrityError):
        UserFactory(email="ada@example.COM")


def test_username_is_unique_whatever_its_case():
    UserFactory(username="Ada")
    with pytest.raises(IntegrityError):
        UserFactory(username="ada")


def test_passwords_are_hashed_with_argon2():
    user = UserFactory()
    assert user.password.startswith("argon2$")
    assert authenticate(email=user.email.upper(), password=TEST_PASSWORD) == user


def test_superuser_is_staff_and_verified():
    admin = User.objects.create_superuser("root@example.com", "root", "a-long-admin-password")
    assert admin.is_staff and admin.is_superuser and admin.is_verified
    assert isinstance(admin.pk, type(UserFactory().pk))
