"""The staff's tool for identity: users with their sessions and state, and the outbox, read-only.

Actions call the services, never write rows; one-time codes and two-factor devices, recovery codes
and challenges are not registered (they are secrets; the user list shows the 2FA state),
and neither an email's context (it can hold a code) nor a session's token ids are shown.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q
from django.db.models.functions import Now
from django.template.defaultfilters import pluralize
from django.utils.html import format_html

from accounts.models import OutboundEmail, User
from accounts.selectors import avatar_urls
from accounts.services import (
    password_set_by_staff,
    user_deactivate,
    user_delete_by_staff,
    user_unlock,
    verification_code_send,
)
from accounts.subscriptions.admin import SubscriptionInline
from accounts.two_factor.services import two_factor_reset_by_staff
from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.services import tokens_revoke_for_user
from sessions_app.admin import SESSION_FIELDS
from sessions_app.models import DeviceSession, TOTPDevice
from sessions_app.services import sessions_revoke_for_user
from vod.admin_confirmation import confirmation_page, confirmed
from vod.admin_messages import counted
from vod.admin_read_only import ReadOnlyAdminMixin, ReadOnlyInline


def _users(count: int) -> str:
    return counted(count, "user")


class LockedFilter(admin.SimpleListFilter):
    title = "locked"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(is_locked=self.value() == "yes")
        return queryset


class TwoFactorFilter(LockedFilter):
    title = "two-factor sign-in"
    parameter_name = "two_factor"

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(has_two_factor=self.value() == "yes")
        return queryset


class DeviceSessionInline(ReadOnlyInline):
    """The user's sessions, to read; ending them is the "Revoke all sessions" action."""

    model = DeviceSession
    fields = SESSION_FIELDS
    show_change_link = True


class StaffPasswordForm(AdminPasswordChangeForm):
    """The admin's "change password" ends the user's sessions too, like the API's change and reset."""

    def save(self, commit=True):
        data = self.cleaned_data
        password_set_by_staff(user=self.user, password=data["password1"] if data["set_usable_password"] else None)
        return self.user


GRANTING_FIELDS = ["is_staff", "is_superuser", "groups", "user_permissions"]
LOCKOUT_FIELDS = ["failed_login_count", "locked_until", "last_failed_login_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["email", "username", "is_verified", "is_active", "is_staff", "locked", "two_factor", "created_at"]
    list_filter = ["is_verified", "is_active", "is_staff", LockedFilter, TwoFactorFilter]
    search_fields = ["email", "username", "display_name"]
    ordering = ["-created_at"]
    readonly_fields = [
        "id",
        "last_login",
        "created_at",
        "updated_at",
        "locked",
        *LOCKOUT_FIELDS,
        "two_factor",
        "avatar",
        "library",
    ]
    fieldsets = [
        (None, {"fields": ["id", "email", "username", "display_name", "avatar", "password"]}),
        ("State", {"fields": ["is_active", "is_verified", "locked", *LOCKOUT_FIELDS, "two_factor"]}),
        ("Library", {"fields": ["library"]}),
        ("Permissions", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "username", "usable_password", "password1", "password2"]}),
    ]
    inlines = [DeviceSessionInline, SubscriptionInline]
    change_password_form = StaffPasswordForm
    actions = ["unlock_sign_in", "resend_verification", "revoke_all_sessions", "reset_two_factor"]

    def get_readonly_fields(self, request, obj=None):
        """Only superusers grant powers: for other staff, staff status, superuser status, groups and
        permissions are shown but not in the form, so a posted value is ignored."""
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return fields
        return [*fields, *GRANTING_FIELDS]

    def get_queryset(self, request):
        """Lock and two-factor state are computed in SQL, so the list can show, sort and filter them
        in its one query."""
        locked = ExpressionWrapper(Q(locked_until__gt=Now()), output_field=BooleanField())
        enrolled = Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed_at__isnull=False))
        return super().get_queryset(request).annotate(is_locked=locked, has_two_factor=enrolled)

    @admin.display(description="avatar")
    def avatar(self, obj):
        urls = avatar_urls(obj)
        if urls is None:
            return "None (set by the user with PUT users/me/avatar)."
        return format_html('<img src="{}" alt="Avatar of {}" width="128" height="128">', urls["256"], obj.username)

    @admin.display(description="library")
    def library(self, obj):
        """The viewer's library in figures (its pages: Playlists, Ratings, Follows), counted through
        the reverse relations, so accounts imports nothing of videos."""
        if obj.pk is None:
            return "—"
        figures = [
            counted(obj.playlists.count(), "playlist"),
            counted(obj.ratings.count(), "rating"),
            f"follows {counted(obj.follows.count(), 'channel')}",
            counted(obj.followers.count(), "follower"),
        ]
        return ", ".join(figures)

    @admin.display(boolean=True, ordering="is_locked")
    def locked(self, obj):
        return bool(getattr(obj, "is_locked", False))

    @admin.display(boolean=True, ordering="has_two_factor", description="2FA")
    def two_factor(self, obj):
        return bool(getattr(obj, "has_two_factor", False))

    def save_model(self, request, obj, form, change):
        """Unticking "active" ends the user's sessions too, as the deactivate service does."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            user_deactivate(user=obj)

    def get_deleted_objects(self, objs, request):
        """The confirmation lists what goes with the account, but asks no delete permission on it:
        sessions, ratings and the like are read-only pages here, and the service removes them.
        Only superusers delete staff accounts (as only they grant staff status)."""
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        staff_targets = not request.user.is_superuser and any(user.is_staff for user in objs)
        return deleted, counts, {"staff account"} if staff_targets else set(), protected

    def delete_model(self, request, obj):
        """Through the service: the user's videos, files, library and counters go with the account."""
        user_delete_by_staff(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            user_delete_by_staff(user=user)

    @admin.action(description="Unlock sign-in", permissions=["change"])
    def unlock_sign_in(self, request, queryset):
        """Clears failed sign-ins and any lock, for an owner locked out by someone guessing."""
        users = list(queryset)
        for user in users:
            user_unlock(user=user)
            self.log_change(request, user, "Unlocked sign-in.")
        self.message_user(request, f"Unlocked sign-in for {_users(len(users))}.", messages.SUCCESS)

    @admin.action(description="Resend verification code", permissions=["change"])
    def resend_verification(self, request, queryset):
        """Only unverified, active accounts get a code; the service also keeps one email a minute per account."""
        users = list(queryset)
        targets = [user for user in users if not user.is_verified and user.is_active]
        for user in targets:
            verification_code_send(email=user.email)
            self.log_change(request, user, "Asked for a new verification code.")
        verified = sum(user.is_verified for user in users)
        inactive = len(users) - len(targets) - verified
        skipped = []
        if verified:
            skipped.append(f"{verified} already verified")
        if inactive:
            skipped.append(f"{inactive} inactive")
        note = f"; skipped {' and '.join(skipped)}" if skipped else ""
        level = messages.SUCCESS if targets else messages.WARNING
        self.message_user(request, f"Sent a verification code to {_users(len(targets))}{note}.", level)

    @admin.action(description="Revoke all sessions and access tokens", permissions=["change"])
    def revoke_all_sessions(self, request, queryset):
        """Asks first, then signs the users out of every device and ends their personal access
        tokens; their JWTs and tokens fail at once."""
        if not confirmed(request):
            live = Q(device_sessions__revoked_at__isnull=True, device_sessions__expires_at__gt=Now())
            users = list(queryset.annotate(live_sessions=Count("device_sessions", filter=live)))
            return confirmation_page(
                self,
                request,
                users,
                action="revoke_all_sessions",
                title="Revoke all sessions and access tokens",
                question="Sign these users out of every device and end their access tokens?",
                items=[f"{u.email}: {u.live_sessions} active session{pluralize(u.live_sessions)}" for u in users],
            )
        users = list(queryset)
        revoked = tokens = 0
        for user in users:
            revoked += sessions_revoke_for_user(user=user, reason=DeviceSession.RevokeReason.STAFF)
            tokens += tokens_revoke_for_user(user=user, reason=PersonalAccessToken.RevokeReason.STAFF)
            self.log_change(request, user, "Revoked all sessions and access tokens.")
        ended_tokens = f" and {tokens} access token{pluralize(tokens)}" if tokens else ""
        sessions = f"{revoked} session{pluralize(revoked)}"
        self.message_user(request, f"Revoked {sessions}{ended_tokens} of {_users(len(users))}.")
        return None

    @admin.action(description="Reset two-factor sign-in", permissions=["change"])
    def reset_two_factor(self, request, queryset):
        """For users who lost their authenticator and recovery codes: asks first, then turns their
        two-factor sign-in off (they are mailed and may enrol again)."""
        users = list(queryset)
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                users,
                action="reset_two_factor",
                title="Reset two-factor sign-in",
                question="Turn two-factor sign-in off for these users? Their password alone will sign them in.",
                items=[f"{u.email}: {'enrolled' if u.has_two_factor else 'not enrolled'}" for u in users],
            )
        reset = [user for user in users if two_factor_reset_by_staff(user=user)]
        for user in reset:
            self.log_change(request, user, "Reset two-factor sign-in.")
        skipped = len(users) - len(reset)
        note = f"; {skipped} had not enrolled" if skipped else ""
        self.message_user(request, f"Reset two-factor sign-in for {_users(len(reset))}{note}.", messages.SUCCESS)
        return None


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox, to see what was sent and what failed; `context` is never shown (it can hold a code)."""

    list_display = ["to", "template", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["to"]
    date_hierarchy = "created_at"
    fields = ("id", "to", "template", "status", "attempts", "last_error", "created_at", "sent_at")
    readonly_fields = fields
