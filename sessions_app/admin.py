"""Staff view of device sessions: audit data to read, and a revoke action; never the token ids."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.template.response import TemplateResponse
from django.utils import timezone

from sessions_app.access_tokens import admin as access_tokens_admin  # noqa: F401  (registers its admin)
from sessions_app.models import DeviceSession
from sessions_app.services import session_revoke
from vod.admin_confirmation import confirmation_page, confirmed
from vod.admin_messages import already_note, counted
from vod.admin_read_only import ReadOnlyAdminMixin

# refresh_jti and previous_refresh_jti are left out on purpose: token ids are not for display.
SESSION_FIELDS = (
    "device_name",
    "ip_address",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
    "revoke_reason",
)


class SessionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset) -> QuerySet[DeviceSession]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.active()
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(DeviceSession)
class DeviceSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: sessions change only through the services (sign-in, refresh, revoke)."""

    list_display = ["user_email", *SESSION_FIELDS[:5], "active", "revoke_reason"]
    list_filter = [SessionStateFilter, "revoke_reason"]
    list_select_related = ["user"]
    search_fields = ["user__email", "device_name", "ip_address"]
    date_hierarchy = "created_at"
    fields = ("id", "user", "user_agent", *SESSION_FIELDS, "rotated_at")
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj) -> str:
        return obj.user.email

    @admin.display(boolean=True)
    def active(self, obj) -> bool:
        return obj.is_active

    def has_change_permission(self, request, obj=None) -> bool:
        """True (with the model permission) for the action check; False for a row, so its form is view-only."""
        return obj is None and admin.ModelAdmin.has_change_permission(self, request)

    @admin.action(description="Revoke selected sessions", permissions=["change"])
    def revoke_selected(self, request, queryset) -> TemplateResponse | None:
        """Asks first, then ends each session through the service so its access tokens fail at once."""
        sessions = list(queryset.select_related("user"))
        if not confirmed(request):
            items = [
                f"{s.device_name or 'Unknown device'} of {s.user.email} ({s.ip_address or 'no IP'})" for s in sessions
            ]
            return confirmation_page(
                self,
                request,
                sessions,
                action="revoke_selected",
                title="Revoke sessions",
                question="Revoke these sessions? Their devices are signed out at once.",
                items=items,
            )
        live = [s for s in sessions if s.revoked_at is None]
        for session in live:
            session_revoke(session=session, reason=DeviceSession.RevokeReason.STAFF)
            self.log_change(request, session, "Revoked by staff.")
        note = already_note(len(sessions) - len(live), "revoked")
        self.message_user(request, f"Revoked {counted(len(live), 'session')}{note}.", messages.SUCCESS)
        return None
