"""URLs that would reach the server's own network are refused at registration and at delivery,
before any socket opens: DNS is stubbed to answer the hostile addresses."""

import socket

import pytest

from accounts.tests.factories import UserFactory
from testing.clients import assert_error, signed_in_client
from videos.catalog import services as catalog_services
from webhooks import delivery as sending
from webhooks import network
from webhooks.models import WebhookDelivery, WebhookEndpoint


@pytest.fixture
def dns(monkeypatch):
    """Names resolve to what the test says; a connection from webhooks.network fails the test.
    (The test's own services, Redis on 127.0.0.1, still resolve and connect.)"""
    answers: dict[str, list[str]] = {}
    asked: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "127.0.0.1" and port != 443:  # the test services
            return real_getaddrinfo(host, port, *args, **kwargs)
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        family = lambda ip: socket.AF_INET6 if ":" in ip else socket.AF_INET  # noqa: E731
        return [(family(ip), socket.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    def no_connect(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", no_connect)  # how webhooks.network connects
    answers["hooks.example.com"] = ["93.184.215.14"]
    answers["localhost.example.com"] = ["127.0.0.1"]
    answers["mixed.example.com"] = ["93.184.215.14", "10.0.0.7"]
    answers["metadata.example.com"] = ["169.254.169.254"]
    answers["ec2v6.example.com"] = ["fd00:ec2::254"]
    return answers, asked


HOSTILE = [
    "https://127.0.0.1/hook",
    "https://2130706433/hook",  # decimal
    "https://0x7f000001/hook",  # hex
    "https://127.1/hook",  # short
    "https://0177.0.0.1/hook",  # octal
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "https://[::1]/hook",
    "https://localhost.example.com/hook",  # a name resolving to 127.0.0.1
    "https://169.254.169.254/latest/meta-data",
    "https://metadata.example.com/",
    "https://ec2v6.example.com/",
    "https://[fd00:ec2::254]/",
    "https://10.1.2.3/hook",
    "https://192.168.0.1/hook",
    "https://172.16.0.1/hook",
    "https://100.64.0.1/hook",  # CGNAT
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",  # multicast
    "https://[fe80::1]/hook",  # link-local
    "https://mixed.example.com/hook",  # one private address among public ones
    "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/hook",  # full-width digits fold to 127.0.0.1
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_addresses_are_refused(dns, url):
    with pytest.raises(network.UrlRefused):
        network.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/hook",  # plain http
        "https://hooks.example.com:8443/hook",  # another port
        "https://user:pass@hooks.example.com/hook",  # credentials
        "ftp://hooks.example.com/hook",
        "https://nowhere.example.com/hook",  # does not resolve
        "hooks.example.com/hook",
    ],
)
def test_urls_breaking_the_other_rules_are_refused(dns, url):
    with pytest.raises(network.UrlRefused):
        network.check_url(url)


def test_a_public_https_url_passes_and_keeps_the_name_for_host_and_sni(dns):
    target = network.check_url("https://Hooks.Example.com/hook?x=1")
    assert (target.host, target.port, target.path) == ("hooks.example.com", 443, "/hook?x=1")
    assert [str(a) for a in target.addresses] == ["93.184.215.14"]


def test_numeric_forms_are_decoded_without_asking_dns(dns):
    _, asked = dns
    for url in ("https://2130706433/", "https://0x7f000001/", "https://127.1/", "https://[::ffff:127.0.0.1]/"):
        with pytest.raises(network.UrlRefused):
            network.check_url(url)
    assert asked == []


@pytest.mark.django_db
def test_registration_refuses_a_hostile_url_with_a_code_and_stores_nothing(dns):
    client = signed_in_client(UserFactory())
    body = {"url": "https://2130706433/hook", "event_types": ["video.created"]}
    error = assert_error(client.post("/api/v1/webhooks", body, format="json"), 400, "webhook_url_not_allowed")
    assert "url" in error["fields"]
    body["url"] = "https://nowhere.example.com/hook"
    assert_error(client.post("/api/v1/webhooks", body, format="json"), 400, "webhook_url_unresolvable")
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_name_that_rebinds_to_loopback_after_registration_is_refused_at_delivery(dns):
    # given an endpoint registered while its name resolved to a public address
    answers, _ = dns
    owner = UserFactory()
    client = signed_in_client(owner)
    body = {"url": "https://hooks.example.com/hook", "event_types": ["video.created"]}
    assert client.post("/api/v1/webhooks", body, format="json").status_code == 201
    catalog_services.video_create(owner=owner, title="Rebound")

    # when the name now answers 127.0.0.1 and the delivery runs
    answers["hooks.example.com"] = ["127.0.0.1"]
    endpoint = WebhookEndpoint.objects.get()
    assert sending.deliver_next(endpoint.pk)

    # then no socket opened (the stub would have failed) and the attempt failed, to retry later
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING and delivery.last_status_code is None
    assert "loopback" in delivery.last_error
