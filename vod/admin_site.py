"""The admin site: Django's, with the API's sign-in (lockout, throttles, second factor) at its login
and STAFF_REQUIRE_2FA enforced before every other page."""

from functools import update_wrapper
from typing import Any

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import path

from accounts.two_factor.admin_sign_in import AdminLoginForm, enrolment_required, two_factor_page

# Pages a staff user who must enrol can still reach.
ENROLMENT_EXEMPT = {"logout", "two_factor"}


class VodAdminSite(admin.AdminSite):
    login_form = AdminLoginForm
    login_template = "admin/login_two_factor.html"

    def admin_view(self, view, cacheable=False) -> Any:
        def guarded(request, *args, **kwargs):
            exempt = request.resolver_match and request.resolver_match.url_name in ENROLMENT_EXEMPT
            if not exempt and enrolment_required(request.user):
                return redirect("admin:two_factor")
            return view(request, *args, **kwargs)

        return super().admin_view(update_wrapper(guarded, view), cacheable)

    def get_urls(self) -> list:
        def page(request):
            return two_factor_page(self, request)

        return [path("two-factor/", self.admin_view(page), name="two_factor"), *super().get_urls()]
