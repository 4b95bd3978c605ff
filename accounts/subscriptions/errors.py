"""Error codes of plans, subscriptions and the billing inlet."""

from rest_framework import status

from vod.exceptions import ApplicationError


class PlanInactive(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "plan_inactive"
    message = "This plan is deactivated: it takes no new subscriptions."


class PlanCodeTaken(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "plan_code_taken"
    message = "A plan with this code exists."


class SubscriptionNotActive(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "subscription_not_active"
    message = "This subscription is already canceled or expired."


class WebhookVerificationFailed(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "webhook_verification_failed"
    message = "The webhook signature, id or timestamp is missing, invalid or outside the 5-minute tolerance."


class UnknownPlan(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "unknown_plan"
    message = "No plan has this code."


class UnknownUser(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "unknown_user"
    message = "No user has this id or email."


class EventTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "event_too_large"
    message = "A billing event is at most 64 KiB."
