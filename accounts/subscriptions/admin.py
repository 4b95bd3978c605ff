"""The staff's tool for plans and subscriptions: grant (add form), extend and cancel (actions, or
the change form's end), all through the services, so every change writes its audit row. The audit
trail and the billing events are shown, never edited."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.template.defaultfilters import pluralize
from django.utils import timezone

from accounts.subscriptions import services
from accounts.subscriptions.models import BillingEvent, Plan, Subscription, SubscriptionChange
from vod.admin_confirmation import confirmation_page, confirmed
from vod.admin_read_only import ReadOnlyInline

EXTEND_BY = timedelta(days=30)
LIVE = services.LIVE


def _subscriptions(count: int) -> str:
    return f"{count} subscription{pluralize(count)}"


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active", "sort_order", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    fields = ["code", "name", "description", "sort_order", "is_active"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []  # the code names the plan in URLs, videos and billing events

    def save_model(self, request, obj, form, change):
        if change:
            services.plan_update(plan=obj, **{name: form.cleaned_data[name] for name in form.changed_data})
        else:
            created = services.plan_create(**{name: form.cleaned_data[name] for name in self.fields})
            obj.__dict__.update(created.__dict__)  # the admin goes on (log, redirect) with `obj`

    def delete_model(self, request, obj):
        """A plan in use is deactivated, not deleted."""
        if not services.plan_delete(plan=obj):
            self.message_user(request, f"{obj} is in use, so it was deactivated instead.", messages.WARNING)

    def delete_queryset(self, request, queryset):
        for plan in queryset:
            self.delete_model(request, plan)


class SubscriptionChangeInline(ReadOnlyInline):
    model = SubscriptionChange
    fk_name = "subscription"
    fields = ["created_at", "actor", "staff_user", "action", "reason", "before", "after"]
    verbose_name_plural = "audit trail"


class SubscriptionInline(ReadOnlyInline):
    """On the user page: their subscriptions; grant one with "Add subscription" on the list."""

    model = Subscription
    fk_name = "user"
    fields = ["plan", "status", "source", "starts_at", "ends_at", "renews"]
    show_change_link = True


class SubscriptionGrantForm(forms.ModelForm):
    """What `subscription_grant` would refuse is refused here first, on the form."""

    reason = forms.CharField(max_length=500, required=False, help_text="Kept in the audit trail.")

    class Meta:
        model = Subscription
        fields = ["user", "plan", "starts_at", "ends_at"]

    def clean(self):
        data = super().clean()
        if data.get("plan") and not data["plan"].is_active:
            self.add_error("plan", "This plan is deactivated: it takes no new subscriptions.")
        if data.get("ends_at") and data.get("starts_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The end must be later than the start.")
        return data


class SubscriptionChangeForm(forms.ModelForm):
    """Only the end changes here (through `subscription_extend`), and only while it is live."""

    reason = forms.CharField(max_length=500, required=False, help_text="Kept in the audit trail.")

    class Meta:
        model = Subscription
        fields = ["ends_at"]

    def clean(self):
        data = super().clean()
        if "ends_at" in self.changed_data:
            if self.instance.status not in LIVE:
                raise forms.ValidationError("This subscription is canceled or expired; grant a new one.")
            if data.get("ends_at") and data["ends_at"] <= self.instance.starts_at:
                self.add_error("ends_at", "The end must be later than the start.")
        return data


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "plan", "status", "source", "starts_at", "ends_at", "renews", "external_ref"]
    list_filter = ["status", "source", "plan", "renews"]
    list_select_related = ["user", "plan"]
    search_fields = ["user__email", "external_ref"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"
    inlines = [SubscriptionChangeInline]
    actions = ["extend", "cancel"]
    readonly = ["user", "plan", "status", "source", "starts_at", "renews", "external_ref", "reminded_at"]

    def get_inlines(self, request, obj):
        return self.inlines if obj else []  # a new subscription has no history yet

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SubscriptionChangeForm if obj else SubscriptionGrantForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "plan", "starts_at", "ends_at", "reason"]
        return [*self.readonly, "ends_at", "reason"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly if obj else []

    def save_model(self, request, obj, form, change):
        data, reason = form.cleaned_data, form.cleaned_data.get("reason", "")
        if not change:
            granted = services.subscription_grant(
                user=data["user"],
                plan=data["plan"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                staff_user=request.user,
                reason=reason,
            )
            obj.__dict__.update(granted.__dict__)  # the admin goes on (log, redirect) with `obj`
        elif "ends_at" in form.changed_data:
            services.subscription_extend(
                subscription=obj, ends_at=data["ends_at"], staff_user=request.user, reason=reason
            )

    def save_related(self, request, form, formsets, change):
        """The audit inline is read-only and the service wrote everything."""

    def has_delete_permission(self, request, obj=None):
        return False  # subscriptions end (cancel, expire); their history stays

    @admin.action(description=f"Extend by {EXTEND_BY.days} days", permissions=["change"])
    def extend(self, request, queryset):
        """Moves each live subscription's end 30 days later (from now, when it has passed)."""
        subscriptions = list(queryset.filter(status__in=LIVE, ends_at__isnull=False))
        for subscription in subscriptions:
            start = max(subscription.ends_at, timezone.now())
            services.subscription_extend(
                subscription=subscription, ends_at=start + EXTEND_BY, staff_user=request.user, reason="admin action"
            )
        skipped = queryset.count() - len(subscriptions)
        note = f"; skipped {skipped} not live or open-ended" if skipped else ""
        self.message_user(request, f"Extended {_subscriptions(len(subscriptions))}{note}.", messages.SUCCESS)

    @admin.action(description="Cancel (access stops at once)", permissions=["change"])
    def cancel(self, request, queryset):
        live = list(queryset.filter(status__in=LIVE).select_related("user", "plan"))
        if not confirmed(request):
            return confirmation_page(
                self,
                request,
                queryset,
                action="cancel",
                title="Cancel subscriptions",
                question="Cancel these subscriptions? Their videos stop playing at once.",
                items=[f"{s.user.email}: {s.plan.name} ({s.status})" for s in live],
            )
        for subscription in live:
            services.subscription_cancel(subscription=subscription, staff_user=request.user, reason="admin action")
        self.message_user(request, f"Canceled {_subscriptions(len(live))}.", messages.SUCCESS)
        return None


@admin.register(BillingEvent)
class BillingEventAdmin(admin.ModelAdmin):
    """What the billing inlet received and did; shown, never edited."""

    list_display = ["webhook_id", "event_type", "occurred_at", "result", "received_at"]
    list_filter = ["event_type", "result"]
    search_fields = ["webhook_id"]
    fields = ["webhook_id", "event_type", "occurred_at", "result", "subscription", "payload", "received_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
