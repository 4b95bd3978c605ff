import pytest

from accounts.tests.factories import UserFactory
from testing.webhooks import Receiver
from webhooks import services


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def private_networks(settings):
    """Deliveries to the loopback receiver (the SSRF tests leave this off)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def endpoint_factory(private_networks):
    def make(url: str, owner=None, event_types=("video.created", "video.updated"), **options):
        return services.endpoint_create(
            owner=owner or UserFactory.create(), url=url, event_types=list(event_types), **options
        )

    return make
