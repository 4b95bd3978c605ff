"""Admin for rows that other code writes (outbox emails, sessions, renditions, transcode jobs):
shown, never added, edited or deleted by hand."""

from typing import cast

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """No add, change or delete permission in the admin, whatever the model permissions say."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return cast(tuple[str, ...], tuple(self.fields or ()))
