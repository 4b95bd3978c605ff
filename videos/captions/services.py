"""Writes on caption tracks: add, change, replace the file, delete. The file is parsed strictly and
stored normalised (WebVTT) under the video's prefix before the row changes; the file a change
replaces is deleted once the change is committed. Nothing here touches the HLS version: players
get the tracks from the master playlist as it is served, so no transcode is needed."""

import re
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from videos import keys, storage
from videos.captions import webvtt
from videos.errors import CaptionExists, CaptionInvalid, CaptionLimitReached, VideoNotReady
from videos.models import Caption, Video
from webhooks.services import emit

MAX_TRACKS_PER_VIDEO = 50
# BCP 47, the subset players use: language (2-3 letters), optional script (4), optional region
# (2 letters or 3 digits). Extensions, variants and private use are refused.
_LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:-([A-Za-z]{4}))?(?:-([A-Za-z]{2}|\d{3}))?$")


def canonical_language(tag: str) -> str | None:
    """The tag in its canonical case (`pt-BR`, `zh-Hant-TW`), or None when it is not one we take."""
    match = _LANGUAGE.match(tag)
    if not match:
        return None
    language, script, region = match.groups()
    parts = [language.lower(), script.title() if script else None, region.upper() if region else None]
    return "-".join(part for part in parts if part)


def _normalised(video: Video, content: bytes) -> webvtt.Track:
    if video.duration is None:
        raise VideoNotReady("Captions are added once the video's source has been probed (its duration is known).")
    try:
        return webvtt.parse(content, duration=video.duration)
    except webvtt.CaptionFileInvalid as exc:
        raise CaptionInvalid(str(exc), fields={"file": [str(exc)]}) from None


def _store(video: Video, track: webvtt.Track) -> tuple[str, int]:
    data = track.to_webvtt().encode()
    key = keys.caption_key(video.pk, uuid.uuid4())
    storage.save_exactly(key, ContentFile(data))
    return key, len(data)


def _delete_file_on_commit(key: str) -> None:
    transaction.on_commit(lambda: default_storage.delete(key))


def _clear_other_defaults(video: Video, caption: Caption) -> None:
    Caption.objects.filter(video=video, is_default=True).exclude(pk=caption.pk).update(is_default=False)


def _locked(video: Video) -> Video:
    """The video row locked: changes to one video's tracks (uniqueness, the one default) queue."""
    return Video.objects.select_for_update(of=("self",)).get(pk=video.pk)


def caption_create(
    *, video: Video, language: str, label: str, kind: str, is_default: bool = False, content: bytes
) -> Caption:
    track = _normalised(video, content)
    key, size = _store(video, track)
    try:
        with transaction.atomic():
            video = _locked(video)
            if Caption.objects.filter(video=video).count() >= MAX_TRACKS_PER_VIDEO:
                raise CaptionLimitReached()
            if Caption.objects.filter(video=video, language=language, kind=kind).exists():
                raise CaptionExists()
            if is_default:
                Caption.objects.filter(video=video, is_default=True).update(is_default=False)
            caption = Caption.objects.create(
                video=video,
                language=language,
                label=label,
                kind=kind,
                is_default=is_default,
                key=key,
                cue_count=len(track.cues),
                size=size,
            )
            emit("caption.ready", caption)
    except BaseException:
        default_storage.delete(key)
        raise
    return caption


def caption_update(*, caption: Caption, content: bytes | None = None, **changes) -> Caption:
    """Changes any of language, label, kind, is_default; `content` replaces the file."""
    track = _normalised(caption.video, content) if content is not None else None
    new_key, size = _store(caption.video, track) if track is not None else (None, 0)
    try:
        with transaction.atomic():
            _locked(caption.video)
            caption = Caption.objects.select_for_update().get(pk=caption.pk)
            language, kind = changes.get("language", caption.language), changes.get("kind", caption.kind)
            clash = Caption.objects.filter(video_id=caption.video_id, language=language, kind=kind)
            if clash.exclude(pk=caption.pk).exists():
                raise CaptionExists()
            if changes.get("is_default"):
                _clear_other_defaults(caption.video, caption)
            for field, value in changes.items():
                setattr(caption, field, value)
            fields = [*changes, "updated_at"]
            if track is not None and new_key is not None:
                _delete_file_on_commit(caption.key)
                caption.key, caption.size, caption.cue_count = new_key, size, len(track.cues)
                fields += ["key", "size", "cue_count"]
            caption.save(update_fields=fields)
    except IntegrityError:
        if new_key:
            default_storage.delete(new_key)
        raise CaptionExists() from None
    except BaseException:
        if new_key:
            default_storage.delete(new_key)
        raise
    return caption


@transaction.atomic
def caption_delete(*, caption: Caption) -> None:
    _locked(caption.video)
    caption.delete()
    _delete_file_on_commit(caption.key)
