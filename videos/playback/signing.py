"""Playback URLs that work in any HLS player as they are: no cookies, no headers.

A playback token, signed and carried in the URL path, binds one video, the viewer (when signed
in), the device session they signed in with (so sign-out, a password reset or a revocation ends
it at the next request under it) and an expiry. The API serves the small files (playlists, the storyboard VTT) under
`playback/{token}/...`, checking the token, and points every segment, init segment and sprite at
a presigned storage URL (S3) or leaves it relative to the token path, where the API streams it
with Range support (filesystem). Public videos can skip all this with PLAYBACK_PUBLIC_BASE_URL (a
public bucket or CDN in front of the storage), unless a plan gates them.

Gated videos (see `gate`) differ in three ways: their tokens end with the viewer's access, their
playlists keep media URIs under the token path (so every segment request is checked again), and
the presigned URL a segment request is redirected to lives GATED_MEDIA_URL_SECONDS."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.models import User
from sessions_app.selectors import session_is_active
from videos import keys, storage
from videos.catalog.selectors import video_visible_to
from videos.errors import PlaybackTokenExpired, PlaybackTokenInvalid, VideoNotReady
from videos.models import Video
from videos.playback import gate
from vod.exceptions import NotFoundError

_SALT = "videos.playback"
# Relative paths inside a published version: rung folders, storyboard, poster. Nothing else.
_SAFE_PATH = re.compile(r"^(?:[A-Za-z0-9_-]+/)?[A-Za-z0-9_.-]+\.(m3u8|m4s|mp4|jpg|vtt)$")
_URI_ATTRIBUTE = re.compile(r'URI="([^"]+)"')
POSTER_FOLDER = "poster"  # a custom poster's widths, under the token path: poster/{width}.webp
REWRITE_WINDOW = 900  # seconds
GATED_MEDIA_URL_SECONDS = 60


@dataclass(frozen=True)
class Grant:
    video_id: str
    user_id: str
    session_id: str = ""


def issue_token(
    *, video: Video, user: User | None, session_id: str | None = None, not_after: datetime | None = None
) -> tuple[str, datetime]:
    """A token for this video, viewer and device session (when the viewer signed in with one), and
    when it expires: after the token lifetime, or at `not_after` when sooner (a gated video's token
    ends with the viewer's access)."""
    lifetime = settings.PLAYBACK_TOKEN_TTL.total_seconds()
    step = _token_step(lifetime)
    expires = int(time.time() + lifetime) // step * step
    if not_after is not None:
        expires = min(expires, int(not_after.timestamp()))
    payload = {"v": str(video.pk), "u": str(user.pk) if user else "", "s": str(session_id or ""), "e": expires}
    token = _SteppedSigner(step=step, salt=_SALT).sign_object(payload)
    return token, datetime.fromtimestamp(expires, tz=UTC)


def _token_step(lifetime: float) -> int:
    """Tokens issued within one step are the same (a tenth of the lifetime, at most 5 minutes), so
    a page of posters renders the same bytes again: its ETag holds and a 304 can answer."""
    return max(1, min(300, int(lifetime // 10)))


class _SteppedSigner(signing.TimestampSigner):
    """`signing.dumps`' signer with its timestamp rounded down to the step; `signing.loads` reads
    these tokens as before (nothing checks the timestamp's age: the payload's `e` is the expiry)."""

    def __init__(self, *, step: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.step = step

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) // self.step * self.step)


def read_token(token: str) -> Grant:
    try:
        payload = signing.loads(token, salt=_SALT)
    except signing.BadSignature as exc:
        raise PlaybackTokenInvalid() from exc
    if not isinstance(payload, dict) or not {"v", "u", "e"} <= payload.keys():
        raise PlaybackTokenInvalid()
    if payload["e"] < time.time():
        raise PlaybackTokenExpired()
    return Grant(payload["v"], payload["u"], str(payload.get("s") or ""))


def granted_video(grant: Grant) -> Video:
    """The video a grant opens, if its viewer may still see it (and play it, when gated: 403
    `subscription_required` once their subscription ended) and it is still published."""
    viewer = User.objects.filter(pk=grant.user_id, is_active=True).first() if grant.user_id else None
    if grant.user_id and viewer is None:
        raise PlaybackTokenInvalid()
    if grant.session_id and not session_is_active(session_id=grant.session_id, user_id=grant.user_id):
        raise PlaybackTokenInvalid()
    try:
        video = video_visible_to(video_id=grant.video_id, user=viewer)
    except NotFoundError:
        raise PlaybackTokenInvalid() from None
    if video.status != Video.Status.READY or not video.hls_prefix:
        raise PlaybackTokenInvalid()
    gate.playable_until(video=video, user=viewer)
    return video


def safe_relative_path(path: str) -> str:
    if not _SAFE_PATH.match(path) or ".." in path:
        raise NotFoundError()
    return path


def token_url(token: str, path: str, build_absolute_uri: Callable[[str], str]) -> str:
    return build_absolute_uri(reverse("v1:playback-file", kwargs={"token": token, "path": path}))


def presigned_url(key: str, expires_at: datetime) -> str:
    """A presigned S3 GET of the key, valid at least a minute and until `expires_at`."""
    seconds = max(60, int(expires_at.timestamp() - time.time()))
    return storage.s3_public_client().generate_presigned_url(
        "get_object", Params={"Bucket": storage.s3_bucket(), "Key": key}, ExpiresIn=seconds
    )


def gated_media_url_expiry() -> datetime:
    return datetime.fromtimestamp(time.time() + GATED_MEDIA_URL_SECONDS, tz=UTC)


def media_url_expiry(now: float | None = None) -> tuple[int, datetime]:
    """Presigned media URLs are made per window of REWRITE_WINDOW seconds and live until the end of
    the window plus the token lifetime, so one rewritten playlist serves every viewer of that
    window (see `playlist_for`), and a URL outlives any token issued in its window."""
    window = int((now or time.time()) // REWRITE_WINDOW)
    expires = (window + 1) * REWRITE_WINDOW + settings.PLAYBACK_TOKEN_TTL.total_seconds()
    return window, datetime.fromtimestamp(expires, tz=UTC)


def rewrite_playlist(text: str, *, folder: str, video: Video, expires_at: datetime) -> str:
    """Points media URIs (segments, init segments, sprites) at presigned S3 URLs; playlists stay
    relative, under the token path, so the API keeps checking the token for them. A gated video's
    media stay relative too: each request is checked, then redirected to a short-lived URL."""
    if not storage.uses_s3() or gate.is_gated(video):
        return text

    def absolute(uri: str) -> str:
        if uri.endswith(".m3u8") or "://" in uri:
            return uri
        path, hash_mark, fragment = uri.partition("#")
        base = f"{folder}/" if folder else ""
        return presigned_url(video.hls_prefix + safe_relative_path(base + path), expires_at) + hash_mark + fragment

    lines = []
    for line in text.splitlines():
        if line.startswith("#"):
            line = _URI_ATTRIBUTE.sub(lambda m: f'URI="{absolute(m.group(1))}"', line)
        elif line.strip() and "-->" not in line and not line.startswith("WEBVTT"):
            line = absolute(line.strip())
        lines.append(line)
    return "\n".join(lines) + "\n"


def playlist_for(video: Video, path: str) -> str:
    """A playlist (or the storyboard VTT) as served: read and rewritten once per window and
    cached, not once per request (a long rendition has thousands of segments to sign)."""
    window, expires_at = media_url_expiry()
    cache_key = f"playlist:{video.hls_prefix}{path}:{window}:{'gated' if gate.is_gated(video) else 'open'}"
    text = cache.get(cache_key)
    if text is None:
        with default_storage.open(video.hls_prefix + path, "rb") as handle:
            text = rewrite_playlist(
                handle.read().decode(), folder=path.rpartition("/")[0], video=video, expires_at=expires_at
            )
        cache.set(cache_key, text, timeout=REWRITE_WINDOW)
    return text


def public_url(key: str) -> str:
    return settings.PLAYBACK_PUBLIC_BASE_URL.rstrip("/") + "/" + key


def poster_key(video: Video) -> str:
    """The poster players show: the uploaded one at its largest width, else the generated one."""
    if video.custom_poster_id and video.custom_poster_widths:
        return keys.poster_key(video.pk, video.custom_poster_id, max(video.custom_poster_widths))
    return video.poster_key


def _custom_poster_keys(video: Video) -> dict[str, str]:
    if not video.custom_poster_id:
        return {}
    return {
        str(width): keys.poster_key(video.pk, video.custom_poster_id, width) for width in video.custom_poster_widths
    }


def _served_path(video: Video, key: str) -> str:
    """Where a key is served under a playback token: inside the HLS version, or the custom poster."""
    if key.startswith(video.hls_prefix):
        return key.removeprefix(video.hls_prefix)
    if video.custom_poster_id and key.startswith(keys.poster_prefix(video.pk, video.custom_poster_id)):
        return f"{POSTER_FOLDER}/{key.rpartition('/')[2]}"
    raise ValueError(f"{key} is not served under a playback token")


def playback_answer(
    *, video: Video, user: User | None, build_absolute_uri: Callable[[str], str], session_id: str | None = None
) -> dict:
    """What a player needs: master playlist, poster, storyboard and caption URLs, renditions, expiry.
    A video with caption tracks plays through the token path even when public (its master playlist
    is the stored one plus the SUBTITLES group, served by the API)."""
    if video.status != Video.Status.READY or not video.hls_prefix:
        raise VideoNotReady()
    renditions = [
        {"name": r.name, "width": r.width, "height": r.height, "bandwidth": r.bandwidth, "codecs": r.codecs}
        for r in video.renditions.all()
    ]
    captions = list(video.captions.all())
    not_after = gate.playable_until(video=video, user=user)
    posters = _custom_poster_keys(video)
    urls, expires_at, token = _urls(
        video,
        user,
        build_absolute_uri,
        {
            "master_url": video.master_key,
            "poster_url": poster_key(video),
            "storyboard_url": video.storyboard_key,
            **{f"poster:{width}": key for width, key in posters.items()},
        },
        not_after=not_after,
        session_id=session_id,
        signed=bool(captions),
    )
    tracks = [
        {
            "id": caption.pk,
            "language": caption.language,
            "label": caption.label,
            "kind": caption.kind,
            "is_default": caption.is_default,
            "url": token_url(token, f"captions/{caption.pk}.vtt", build_absolute_uri),
            "playlist_url": token_url(token, f"captions/{caption.pk}.m3u8", build_absolute_uri),
        }
        for caption in captions
        if token is not None
    ]
    return {
        "master_url": urls["master_url"],
        "poster_url": urls["poster_url"],
        "poster_urls": {width: urls[f"poster:{width}"] for width in posters},
        "storyboard_url": urls["storyboard_url"],
        "duration": video.duration,
        "expires_at": expires_at,
        "renditions": renditions,
        "captions": tracks,
    }


def poster_urls(*, video: Video, user: User | None, build_absolute_uri: Callable[[str], str]) -> dict:
    """The poster of a video in a list or detail: `poster_url` and the custom poster's `poster_urls`
    (by width), public or signed for this viewer as playback is; null until the video is ready."""
    if video.status != Video.Status.READY or not video.hls_prefix:
        return {"poster_url": None, "poster_urls": {}}
    posters = _custom_poster_keys(video)
    named = {"poster": poster_key(video), **{f"poster:{width}": key for width, key in posters.items()}}
    urls = _urls(video, user, build_absolute_uri, named)[0]
    return {"poster_url": urls["poster"], "poster_urls": {width: urls[f"poster:{width}"] for width in posters}}


def asset_url(*, video: Video, key: str, user: User | None, build_absolute_uri: Callable[[str], str]) -> str:
    """One of the video's files (the admin's poster and preview): no query, one token."""
    return _urls(video, user, build_absolute_uri, {"url": key})[0]["url"]


def _urls(
    video: Video,
    user: User | None,
    build_absolute_uri: Callable[[str], str],
    named: dict[str, str],
    not_after: datetime | None = None,
    session_id: str | None = None,
    signed: bool = False,
) -> tuple[dict[str, str], datetime | None, str | None]:
    """URLs of these storage keys: public ones (public, ungated videos, unless `signed`), or signed
    for this viewer; and the token they carry (None when public)."""
    public = video.visibility == Video.Visibility.PUBLIC and not gate.is_gated(video)
    if settings.PLAYBACK_PUBLIC_BASE_URL and public and not signed:
        return {name: public_url(key) for name, key in named.items()}, None, None
    token, expires_at = issue_token(video=video, user=user, session_id=session_id, not_after=not_after)
    urls = {name: token_url(token, _served_path(video, key), build_absolute_uri) for name, key in named.items()}
    return urls, expires_at, token
