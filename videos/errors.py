"""Error codes the videos API answers with."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rest_framework import status

from vod.exceptions import ApplicationError

if TYPE_CHECKING:
    from accounts.models import Plan


class UploadTooLarge(ApplicationError, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="upload_too_large"):
    """The file is larger than the upload limit."""


class QuotaExceeded(ApplicationError, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="quota_exceeded"):
    """This upload would go over your storage quota."""


class LengthRequired(ApplicationError, status=status.HTTP_411_LENGTH_REQUIRED, code="length_required"):
    """Send a Content-Length header with the upload."""


class SourceNotAccepted(ApplicationError, status=status.HTTP_409_CONFLICT, code="source_not_accepted"):
    """This video already has a source; only a draft or failed video takes a new one."""


class UploadNotActive(ApplicationError, status=status.HTTP_409_CONFLICT, code="upload_not_active"):
    """This upload is already completed or aborted."""


class IncompleteUpload(ApplicationError, code="upload_incomplete"):
    """The parts do not match what was received."""


class BadPart(ApplicationError, code="bad_part"):
    """This part does not fit the upload."""


class InvalidPartToken(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="invalid_part_url"):
    """This part URL is not valid or has expired; get fresh ones from the upload."""


class NoSource(ApplicationError, status=status.HTTP_409_CONFLICT, code="no_source"):
    """This video has no source to transcode."""


class TranscodeInProgress(ApplicationError, status=status.HTTP_409_CONFLICT, code="transcode_in_progress"):
    """A transcode of this video is already queued or running."""


class VideoNotReady(ApplicationError, status=status.HTTP_409_CONFLICT, code="video_not_ready"):
    """This video is not ready to play yet."""


class PlaybackTokenInvalid(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="playback_token_invalid"):
    """This playback link is not valid."""


class PlaybackTokenExpired(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="playback_token_expired"):
    """This playback link has expired; ask for a new one."""


class RangeNotSatisfiable(
    ApplicationError, status=status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE, code="range_not_satisfiable"
):
    """The requested range is outside the file."""


class SubscriptionRequired(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="subscription_required"):
    """A subscription to one of this video's plans is needed to play it."""

    # Names the plans that unlock the video, in `fields.required_plans` and in the message.
    def __init__(self, plans: Iterable["Plan"]) -> None:
        plans = list(plans)
        names = ", ".join(f"{plan.name} ({plan.code})" for plan in plans)
        super().__init__(
            f"A subscription to one of these plans is needed to play this video: {names}.",
            fields={"required_plans": [plan.code for plan in plans]},
        )


class CaptionInvalid(ApplicationError, code="invalid_caption"):
    """The caption file is not valid WebVTT or SRT."""


class CaptionTooLarge(ApplicationError, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, code="caption_too_large"):
    """The caption file is larger than the limit."""


class CaptionExists(ApplicationError, status=status.HTTP_409_CONFLICT, code="caption_exists"):
    """This video already has a track of this language and kind."""


class CaptionLimitReached(ApplicationError, status=status.HTTP_409_CONFLICT, code="caption_limit_reached"):
    """This video has as many caption tracks as it may have."""


class PlaylistFull(ApplicationError, status=status.HTTP_409_CONFLICT, code="playlist_full"):
    """This playlist holds the most items a playlist may hold."""


class PlaylistLimitReached(ApplicationError, status=status.HTTP_409_CONFLICT, code="playlist_limit_reached"):
    """You have the most playlists a user may have."""


class PositionOutOfRange(ApplicationError, code="position_out_of_range"):
    """This position is outside the playlist."""


class WatchLaterFixed(ApplicationError, status=status.HTTP_409_CONFLICT, code="watch_later_fixed"):
    """Watch later cannot be deleted, renamed or shared."""


class CannotFollowSelf(ApplicationError, code="cannot_follow_self"):
    """You cannot follow your own channel."""


class FollowersPrivate(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="followers_private"):
    """Only the channel's owner sees who follows it; the count is public."""
