import factory

from accounts.models import User

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Faker("name")
    is_verified = True
    password = factory.django.Password(TEST_PASSWORD)


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.Plan"
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """An active staff grant, open-ended unless `ends_at` is given."""

    class Meta:
        model = "accounts.Subscription"

    user = factory.SubFactory(UserFactory)
    plan = factory.SubFactory(PlanFactory)
    source = "staff"
