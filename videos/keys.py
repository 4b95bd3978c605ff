"""Where a video's objects live in storage; every key is built here.

Everything of a video sits under one prefix, so deleting it is one sweep: its source, the parts of
a resumable upload kept by the API, and one folder per HLS version (a transcode attempt writes its
own, and publishing keeps only the published one). Inside a version, the file names below are the
ones the ladder writes and the publisher points the video at. Custom posters and caption files
sit under the video's prefix too, outside `hls/`; avatars under `avatars/`, keyed by a UUID."""

import uuid

MASTER_PLAYLIST = "master.m3u8"
POSTER = "poster.jpg"
STORYBOARD_FOLDER = "storyboard"
STORYBOARD_VTT = f"{STORYBOARD_FOLDER}/storyboard.vtt"


def video_prefix(video_id: uuid.UUID | str) -> str:
    return f"videos/{video_id}/"


def new_source_key(video_id: uuid.UUID | str) -> str:
    """A fresh key for a source: never the uploader's file name, never an earlier source's key."""
    return f"{video_prefix(video_id)}source/{uuid.uuid4().hex}"


def upload_parts_prefix(video_id: uuid.UUID | str, upload_id: uuid.UUID | str) -> str:
    return f"{video_prefix(video_id)}uploads/{upload_id}/"


def upload_part_key(video_id: uuid.UUID | str, upload_id: uuid.UUID | str, number: int) -> str:
    return f"{upload_parts_prefix(video_id, upload_id)}{number:05d}"


def hls_root(video_id: uuid.UUID | str) -> str:
    """The folder of every HLS version of the video (published, old, or left by a killed attempt)."""
    return f"{video_prefix(video_id)}hls/"


def hls_version_prefix(video_id: uuid.UUID | str, job_id: uuid.UUID, attempt: int) -> str:
    """Where one attempt of a transcode job writes its version."""
    return f"{hls_root(video_id)}{job_id.hex[:12]}-{attempt}/"


def poster_prefix(video_id: uuid.UUID | str, poster_id: uuid.UUID | str) -> str:
    """One custom poster's variants (outside hls/, so a new transcode leaves them alone)."""
    return f"{video_prefix(video_id)}poster/{uuid.UUID(str(poster_id)).hex}/"


def poster_key(video_id: uuid.UUID | str, poster_id: uuid.UUID | str, width: int) -> str:
    return f"{poster_prefix(video_id, poster_id)}{width}.webp"


def caption_key(video_id: uuid.UUID | str, file_id: uuid.UUID | str) -> str:
    """A caption track's normalised WebVTT; a new file for a track gets a new key."""
    return f"{video_prefix(video_id)}captions/{uuid.UUID(str(file_id)).hex}.vtt"


def avatar_prefix(avatar_id: uuid.UUID | str) -> str:
    """A user's avatar variants, under a key that says nothing about the user."""
    return f"avatars/{uuid.UUID(str(avatar_id)).hex}/"


def avatar_key(avatar_id: uuid.UUID | str, size: int) -> str:
    return f"{avatar_prefix(avatar_id)}{size}.webp"
