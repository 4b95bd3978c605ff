"""Error codes of the webhooks app."""

from rest_framework import status

from vod.exceptions import ApplicationError


class UrlNotAllowed(ApplicationError, code="webhook_url_not_allowed"):
    """Webhooks may only call public https URLs on an allowed port."""


class UrlUnresolvable(ApplicationError, code="webhook_url_unresolvable"):
    """The webhook URL's host does not resolve."""


class EventsNotAllowed(ApplicationError, status=status.HTTP_403_FORBIDDEN, code="webhook_events_not_allowed"):
    """Account events and every user's events are for staff with the receive_all_events permission."""


class EndpointLimitReached(ApplicationError, status=status.HTTP_409_CONFLICT, code="webhook_endpoint_limit"):
    """You have the most webhook endpoints allowed; delete one first."""


class EndpointDisabled(ApplicationError, status=status.HTTP_409_CONFLICT, code="webhook_endpoint_disabled"):
    """This webhook endpoint is disabled; enable it first (PATCH is_active)."""
