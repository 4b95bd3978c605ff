"""Writes on the catalog: videos' metadata and tags, and deletion with storage clean-up."""

import uuid
from collections.abc import Iterable
from typing import cast

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import Value

from accounts.models import Plan, User
from videos import keys, storage
from videos.library.services import videos_remove_from_playlists
from videos.models import Category, Tag, Video, VideoPlan
from videos.pipeline.ladder import poster_widths
from vod import images
from vod.exceptions import InvalidInput
from webhooks.services import emit

MAX_TAGS = 20
TAG_MAX_LENGTH = cast(int, Tag._meta.get_field("name").max_length)


# --- metadata -----------------------------------------------------------------------------------


def _normalise_tags(names: Iterable[str]) -> list[str]:
    tags = list(dict.fromkeys(name.strip().lower() for name in names if name.strip()))
    if len(tags) > MAX_TAGS:
        raise InvalidInput({"tags": [f"At most {MAX_TAGS} tags."]})
    if any(len(tag) > TAG_MAX_LENGTH for tag in tags):  # lowercasing can lengthen a string ("İ")
        raise InvalidInput({"tags": [f"Each tag is at most {TAG_MAX_LENGTH} characters."]})
    return tags


def _set_tags(video: Video, names: Iterable[str]) -> None:
    names = _normalise_tags(names)
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    video.tags.set(Tag.objects.filter(name__in=names))


def _set_required_plans(video: Video, codes: Iterable[str]) -> None:
    """The plans that unlock the video, by code. A deactivated plan may stay on a video that has
    it (its subscribers keep access) but is not added anew."""
    codes = list(dict.fromkeys(codes))
    plans = {plan.code: plan for plan in Plan.objects.filter(code__in=codes)}
    unknown = [code for code in codes if code not in plans]
    if unknown:
        raise InvalidInput({"required_plans": [f"No plan has the code {code!r}." for code in unknown]})
    kept = set(video.required_plans.values_list("code", flat=True)) if video.pk else set()
    inactive = [code for code in codes if not plans[code].is_active and code not in kept]
    if inactive:
        raise InvalidInput({"required_plans": [f"The plan {code!r} is deactivated." for code in inactive]})
    video.required_plans.set(plans.values())


def _refresh_search_vector(video: Video) -> None:
    """Title weighs most, then tags, then description (PostgreSQL only; SQLite searches plainly)."""
    if connection.vendor != "postgresql":
        return
    config = settings.VIDEO_SEARCH_CONFIG
    tags = " ".join(video.tags.values_list("name", flat=True))
    Video.objects.filter(pk=video.pk).update(
        search_vector=SearchVector(Value(video.title), weight="A", config=config)
        + SearchVector(Value(tags), weight="B", config=config)
        + SearchVector(Value(video.description), weight="C", config=config)
    )


@transaction.atomic
def video_create(
    *,
    owner: User,
    title: str,
    description: str = "",
    tags: Iterable[str] = (),
    category: Category | None = None,
    visibility: str | None = None,
    required_plans: Iterable[str] = (),
) -> Video:
    video = Video.objects.create(
        owner=owner,
        title=title,
        description=description,
        category=category,
        visibility=visibility or Video.Visibility.PRIVATE,
    )
    _set_tags(video, tags)
    if required_plans:
        _set_required_plans(video, required_plans)
    _refresh_search_vector(video)
    emit("video.created", video)
    return video


@transaction.atomic
def video_update(*, video: Video, **changes) -> Video:
    """Changes any of title, description, tags, category, visibility, required plans, and (staff
    only) is_featured."""
    tags = changes.pop("tags", None)
    required_plans = changes.pop("required_plans", None)
    was_served_publicly = _served_publicly(video)
    for field, value in changes.items():
        setattr(video, field, value)
    video.publish_if_due()
    # Only what changed: the caller's copy may be older than the row (a worker publishing a new
    # version, a view counted), and those columns must not be written back.
    video.save(update_fields=[*changes, "published_at", "updated_at"])
    if tags is not None:
        _set_tags(video, tags)
    if required_plans is not None:
        _set_required_plans(video, required_plans)
    _refresh_search_vector(video)
    if was_served_publicly and not _served_publicly(video):
        _move_public_files_on_commit(video)
    emit("video.updated", video)
    return video


def _served_publicly(video: Video) -> bool:
    """Whether its files are handed out as plain PLAYBACK_PUBLIC_BASE_URL URLs (see playback.signing)."""
    return bool(
        settings.PLAYBACK_PUBLIC_BASE_URL
        and video.hls_prefix
        and video.visibility == Video.Visibility.PUBLIC
        and not VideoPlan.objects.filter(video=video).exists()
    )


def _move_public_files_on_commit(video: Video) -> None:
    from videos.tasks import move_published_version

    video_id = str(video.pk)
    transaction.on_commit(lambda: move_published_version.delay(video_id))


def _poster_files_delete_on_commit(video_id, poster_id) -> None:
    if poster_id:
        prefix = keys.poster_prefix(video_id, poster_id)
        transaction.on_commit(lambda: storage.delete_prefix(prefix))


def poster_set(*, video: Video, data: bytes) -> Video:
    """An uploaded poster: checked and re-encoded (`vod.images`) to the ladder's widths under a new
    UUID, preferred over the generated one from now on (transcodes leave it alone); the previous
    upload's files are deleted once committed. A refused image stores nothing."""
    variants = images.width_variants(images.decode(data), poster_widths())
    poster_id = uuid.uuid4()
    files = {keys.poster_key(video.pk, poster_id, width): webp for width, webp in variants.items()}
    storage.save_all(files)
    try:
        with transaction.atomic():
            locked = Video.objects.select_for_update(of=("self",)).get(pk=video.pk)
            _poster_files_delete_on_commit(video.pk, locked.custom_poster_id)
            locked.custom_poster_id, locked.custom_poster_widths = poster_id, sorted(variants)
            locked.save(update_fields=["custom_poster_id", "custom_poster_widths", "updated_at"])
    except BaseException:
        storage.delete_keys(files)
        raise
    video.custom_poster_id, video.custom_poster_widths = poster_id, sorted(variants)
    return video


@transaction.atomic
def poster_delete(*, video: Video) -> Video:
    """Back to the generated poster."""
    locked = Video.objects.select_for_update(of=("self",)).get(pk=video.pk)
    _poster_files_delete_on_commit(video.pk, locked.custom_poster_id)
    locked.custom_poster_id, locked.custom_poster_widths = None, []
    locked.save(update_fields=["custom_poster_id", "custom_poster_widths", "updated_at"])
    video.custom_poster_id, video.custom_poster_widths = None, []
    return video


@transaction.atomic
def tag_save(*, tag: Tag) -> Tag:
    """A tag edited by staff; the videos carrying it are re-indexed (their search text holds tag names)."""
    tag.save()
    for video in tag.videos.all():
        _refresh_search_vector(video)
    return tag


@transaction.atomic
def tag_delete(*, tag: Tag) -> None:
    videos = list(tag.videos.all())
    tag.delete()
    for video in videos:
        _refresh_search_vector(video)


@transaction.atomic
def video_delete(*, video: Video) -> None:
    """Deletes the video at once; a task then removes everything under its storage prefix."""
    from videos.tasks import delete_video_storage

    video_id = str(video.pk)
    videos_remove_from_playlists(video_ids=[video.pk])
    emit("video.deleted", video)
    video.delete()
    transaction.on_commit(lambda: delete_video_storage.delay(video_id))


def videos_delete_for_owner(*, owner: User) -> int:
    """For account deletion: every video of the owner, with its storage."""
    videos = list(Video.objects.filter(owner=owner))
    for video in videos:
        video_delete(video=video)
    return len(videos)


def delete_storage(*, video_id: str) -> int:
    """Aborts unfinished S3 multipart uploads and deletes every object of a video."""
    prefix = keys.video_prefix(video_id)
    if storage.uses_s3():
        client, bucket = storage.s3_client(), storage.s3_bucket()
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
            for pending in page.get("Uploads", []):
                client.abort_multipart_upload(Bucket=bucket, Key=pending["Key"], UploadId=pending["UploadId"])
    return storage.delete_prefix(prefix)
