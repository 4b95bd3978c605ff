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
