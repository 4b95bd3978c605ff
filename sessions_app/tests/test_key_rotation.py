"""Rotating SECRET_KEY (with the old key in SECRET_KEY_FALLBACKS, and so in the JWT fallbacks)
signs nobody out and breaks no live playback URL; dropping the old key ends them."""

import jwt
import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from testing.clients import signed_in_client
from videos.models import Video
from videos.tests.factories import VideoFactory
from videos.tests.test_playback import local, published

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
