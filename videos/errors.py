"""Error codes the videos API answers with."""

from rest_framework import status

from vod.exceptions import ApplicationError


class UploadTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "upload_too_large"
    message = "The file is larger than the upload limit."


class QuotaExceeded(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "quota_exceeded"
    message = "This upload would go over your storage quota."


class LengthRequired(ApplicationError):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    code = "length_required"
    message = "Send a Content-Length header with the upload."


class SourceNotAccepted(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "source_not_accepted"
    message = "This video already has a source; only a draft or failed video takes a new one."


class UploadNotActive(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "upload_not_active"
    message = "This upload is already completed or aborted."


class IncompleteUpload(ApplicationError):
    code = "upload_incomplete"
    message = "The parts do not match what was received."


class BadPart(ApplicationError):
    code = "bad_part"
    message = "This part does not fit the upload."


class InvalidPartToken(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "invalid_part_url"
    message = "This part URL is not valid or has expired; get fresh ones from the upload."


class NoSource(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "no_source"
    message = "This video has no source to transcode."


class TranscodeInProgress(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "transcode_in_progress"
    message = "A transcode of this video is already queued or running."


class VideoNotReady(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "video_not_ready"
    message = "This video is not ready to play yet."


class PlaybackTokenInvalid(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "playback_token_invalid"
    message = "This playback link is not valid."


class PlaybackTokenExpired(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "playback_token_expired"
    message = "This playback link has expired; ask for a new one."


class RangeNotSatisfiable(ApplicationError):
    status_code = status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE
    code = "range_not_satisfiable"
    message = "The requested range is outside the file."


class SubscriptionRequired(ApplicationError):
    """Names the plans that unlock the video, in `fields.required_plans` and in the message."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "subscription_required"
    message = "A subscription to one of this video's plans is needed to play it."

    def __init__(self, plans):
        names = ", ".join(f"{plan.name} ({plan.code})" for plan in plans)
        super().__init__(
            f"A subscription to one of these plans is needed to play this video: {names}.",
            fields={"required_plans": [plan.code for plan in plans]},
        )
