"""Rotating SECRET_KEY (with the old key in SECRET_KEY_FALLBACKS, and so in the JWT fallbacks)
signs nobody out and breaks no live playback URL; dropping the old key ends them. Secrets stored
encrypted survive the old key's going once `reencrypt_secrets` has run."""

from io import StringIO

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from sessions_app import totp
from sessions_app.models import TOTPDevice
from testing.clients import signed_in_client
from videos.models import Video
from videos.tests.factories import VideoFactory
from videos.tests.test_playback import local, published
from webhooks import signing
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

OLD, NEW = "old-key-" + "o" * 50, "new-key-" + "n" * 50


def use_keys(settings, current: str, fallbacks: list[str]) -> None:
    """What restarting with SECRET_KEY=current and SECRET_KEY_FALLBACKS=fallbacks gives."""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = current, fallbacks
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": current}
    settings.JWT_SIGNING_KEY_FALLBACKS = fallbacks


def refresh(token: str):
    return APIClient().post("/api/v1/auth/refresh", {"refresh": token}, format="json")


def me(access: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/v1/users/me")


@pytest.fixture
def before_rotation(settings):
    """A signed-in user and a playback URL of their private video, issued under the old key."""
    use_keys(settings, OLD, [])
    client = signed_in_client(UserFactory())
    video = published(VideoFactory(owner=client.user, visibility=Video.Visibility.PRIVATE))
    master_url = client.get(f"/api/v1/videos/{video.pk}/playback").json()["master_url"]
    return client, master_url


def test_rotating_the_secret_key_keeps_sessions_and_playback_urls_alive(settings, before_rotation):
    client, master_url = before_rotation
    # when the operator rotates: new key, the old one as a fallback
    use_keys(settings, NEW, [OLD])
    # then the access token issued before still works
    assert me(client.tokens.access).status_code == 200
    # and the refresh token too, and what it returns is signed with the new key
    answer = refresh(client.tokens.refresh)
    assert answer.status_code == 200, answer.content
    fresh = answer.json()["access"]
    assert jwt.decode(fresh, NEW, algorithms=["HS256"])["sid"] == str(client.device_session.pk)
    assert me(fresh).status_code == 200
    # and the playback URL handed out before still plays
    assert APIClient().get(local(master_url)).status_code == 200


def test_once_the_old_key_is_dropped_its_tokens_and_urls_stop_working(settings, before_rotation):
    client, master_url = before_rotation
    use_keys(settings, NEW, [])
    assert me(client.tokens.access).status_code == 401
    assert refresh(client.tokens.refresh).status_code == 401
    assert APIClient().get(local(master_url)).status_code in (401, 403, 404)


def test_reencrypt_secrets_lets_the_old_key_go_without_losing_stored_secrets(settings):
    # given a two-factor secret and a webhook endpoint secret stored under the old key
    use_keys(settings, OLD, [])
    device = TOTPDevice.objects.create(user=UserFactory(), encrypted_secret=totp.secret_encrypt("JBSWY3DPEHPK3PXP"))
    endpoint = WebhookEndpoint.objects.create(
        owner=UserFactory(), url="https://hooks.example.com/vod", encrypted_secret=signing.seal("whsec_current")
    )
    # when the operator rotates, and runs the command while the old key is still a fallback
    use_keys(settings, NEW, [OLD])
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "TOTP devices: 1 encrypted with the key in use" in out.getvalue()
    # then, once the old key is gone, both still read
    use_keys(settings, NEW, [])
    device.refresh_from_db()
    endpoint.refresh_from_db()
    assert totp.secret_decrypt(device.encrypted_secret) == "JBSWY3DPEHPK3PXP"
    assert signing.unseal(endpoint.encrypted_secret) == "whsec_current"


def test_reencrypt_secrets_fails_on_a_secret_no_key_in_use_reads(settings):
    # given a secret of a key that was dropped before the command ran
    use_keys(settings, OLD, [])
    TOTPDevice.objects.create(user=UserFactory(), encrypted_secret=totp.secret_encrypt("JBSWY3DPEHPK3PXP"))
    use_keys(settings, NEW, [])
    # then the command says so, and changes nothing
    with pytest.raises(CommandError, match="1 secrets no key in use can read"):
        call_command("reencrypt_secrets", stdout=StringIO())
    use_keys(settings, NEW, [OLD])
    assert totp.secret_decrypt(TOTPDevice.objects.get().encrypted_secret) == "JBSWY3DPEHPK3PXP"
