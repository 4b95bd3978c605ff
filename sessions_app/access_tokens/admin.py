"""Staff view of personal access tokens: who holds which, with which scopes, last used when and
from where; and a revoke action. Never a secret: only the hash is stored, and it is not shown."""

from django.contrib import admin, messages
from django.template.defaultfilters import pluralize
from django.utils import timezone

from sessions_app.access_tokens.models import PersonalAccessToken
from sessions_app.access_tokens.scopes import Scope
from sessions_app.access_tokens.services import token_revoke
from vod.admin_confirmation import confirmation_page, confirmed

TOKEN_FIELDS: list[str] = [
    "name",
    "prefix",
    "scopes",
    "created_at",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "revoked_at",
    "revoke_reason",
]


class TokenStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.live()
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=timezone.now())
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class TokenScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return Scope.choices

    def queryset(self, request, queryset):
        if self.value() in Scope.values:
            # A match on the JSON text, quotes included: works on SQLite too, where JSON
            # containment does not. Scope names never contain one another with their quotes.
            return queryset.filter(scopes__icontains=f'"{self.value()}"')
        return queryset


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens change only through the services (create, rotate, revoke)."""

    list_display = ["name", "user_email", "prefix", "scopes", "expires_at", "last_used_at", "last_used_ip", "state"]
    list_filter = [TokenStateFilter, TokenScopeFilter, "revoke_reason", "user__is_staff"]
    list_select_related = ["user"]
    search_fields = ["user__email", "name", "prefix", "last_used_ip"]
    date_hierarchy = "created_at"
    fields = ["id", "user", *TOKEN_FIELDS, "rotated_from", "expiry_notified_at"]
    readonly_fields = ["id", "user", *TOKEN_FIELDS, "rotated_from", "expiry_notified_at"]
    actions = ["revoke_tokens"]

    @admin.display(description="user", ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description="state")
    def state(self, obj):
        return obj.state

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        """True (with the model permission) for the action check; False for a row, so its form is view-only."""
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected access tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        """Asks first, then revokes each token through the service; it fails from the next request on."""
        tokens = list(queryset.select_related("user"))
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                tokens,
                action="revoke_tokens",
                title="Revoke access tokens",
                question="Revoke these access tokens? Scripts using them stop working at once.",
                items=[f"{t.name} ({t.prefix}…) of {t.user.email}" for t in tokens],
            )
        live = [t for t in tokens if t.revoked_at is None]
        for token in live:
            token_revoke(token=token, reason=PersonalAccessToken.RevokeReason.STAFF)
            self.log_change(request, token, "Revoked by staff.")
        done = len(tokens) - len(live)
        already = f"; {done} {'was' if done == 1 else 'were'} already revoked" if done else ""
        revoked = f"{len(live)} access token{pluralize(len(live))}"
        self.message_user(request, f"Revoked {revoked}{already}.", messages.SUCCESS)
        return None
