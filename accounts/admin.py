from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["email", "username", "is_verified", "is_active", "is_staff", "created_at"]
    list_filter = ["is_verified", "is_active", "is_staff"]
    search_fields = ["email", "username", "display_name"]
    ordering = ["-created_at"]
    readonly_fields = ["id", "last_login", "created_at", "updated_at", "failed_login_count", "locked_until"]
    fieldsets = [
        (None, {"fields": ["id", "email", "username", "display_name", "password"]}),
        ("State", {"fields": ["is_active", "is_verified", "failed_login_count", "locked_until"]}),
        ("Permissions", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "username", "usable_password", "password1", "password2"]}),
    ]
