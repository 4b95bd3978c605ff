"""The admin's sign-in, on the API's code path: the login form checks the password with
`user_authenticate` (lockout included) behind the API's login throttles, then asks enrolled
accounts for a code through `second_factor_check`. With STAFF_REQUIRE_2FA, staff who have not
enrolled are sent to the enrolment page below before any other admin page."""

import math

import segno
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe

from accounts.selectors import account_key
from accounts.services import user_authenticate
from accounts.two_factor.services import second_factor_check, two_factor_confirm, two_factor_setup
from sessions_app.selectors import two_factor_device
from vod.exceptions import ApplicationError
from vod.throttling import throttle_wait


class AdminLoginForm(AdminAuthenticationForm):
    otp_code = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=32,
        strip=True,
        help_text="If two-factor sign-in is on: the 6-digit code from your authenticator app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self) -> dict:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not username or not password:
            return self.cleaned_data
        wait = throttle_wait(self.request, scope="login", account_field="username", account_key=account_key)
        if wait is not None:
            raise ValidationError(
                "Too many sign-in attempts. Try again in %(seconds)d seconds.",
                code="throttled",
                params={"seconds": math.ceil(wait)},
            )
        try:
            user = user_authenticate(identifier=username, password=password)
            self.confirm_login_allowed(user)  # staff only, before any code is asked for
            if two_factor_device(user=user) is not None:
                code = self.cleaned_data.get("otp_code")
                if not code:
                    raise ValidationError(
                        "Two-factor sign-in is on for this account: enter the code from your authenticator app "
                        "(or a recovery code) and sign in again.",
                        code="otp_required",
                    )
                second_factor_check(user=user, code=code)
        except ApplicationError as exc:
            raise ValidationError(exc.message, code=exc.code) from exc
        self.user_cache = user
        return self.cleaned_data


def enrolment_required(user) -> bool:
    """STAFF_REQUIRE_2FA: a staff user may reach the admin only once enrolled."""
    return bool(
        settings.STAFF_REQUIRE_2FA and user.is_authenticated and user.is_staff and two_factor_device(user=user) is None
    )


class PasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}), max_length=256)


class CodeForm(forms.Form):
    code = forms.RegexField(
        r"^[0-9]{6}$",
        label="Code from the app",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
        error_messages={"invalid": "Enter the 6 digits the app shows."},
    )


def _qr_svg(uri: str) -> str:
    return mark_safe(segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff"))  # noqa: S308 (our SVG)


def two_factor_page(admin_site, request) -> HttpResponse:
    """`/admin/two-factor/`: the staff user's own enrolment, in three posts: password (setup: QR and
    secret, shown once), a first code (confirm: the recovery codes, shown once), done."""
    context = {
        **admin_site.each_context(request),
        "title": "Two-factor sign-in",
        "enrolled": two_factor_device(user=request.user) is not None,
        "required": settings.STAFF_REQUIRE_2FA,
        "step": "start",
        "password_form": PasswordForm(),
    }
    step = request.POST.get("step") if request.method == "POST" else None
    try:
        if step == "setup" and (form := PasswordForm(request.POST)).is_valid():
            enrolment = two_factor_setup(user=request.user, password=form.cleaned_data["password"])
            secret = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
            context.update(step="confirm", secret=secret, qr=_qr_svg(enrolment.otpauth_uri), code_form=CodeForm())
        elif step == "setup":
            context.update(password_form=form)
        elif step == "confirm" and (code_form := CodeForm(request.POST)).is_valid():
            codes = two_factor_confirm(user=request.user, code=code_form.cleaned_data["code"])
            context.update(step="done", enrolled=True, recovery_codes=codes)
        elif step == "confirm":
            context.update(step="confirm", code_form=code_form)
    except ApplicationError as exc:
        messages = [str(m) for errors in (exc.fields or {}).values() for m in errors] or [exc.message]
        context.update(error=" ".join(messages), step="confirm" if step == "confirm" else "start")
        if step == "confirm":
            context["code_form"] = CodeForm()
    return TemplateResponse(request, "admin/two_factor.html", context)
