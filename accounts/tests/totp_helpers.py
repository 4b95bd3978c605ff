"""Enrolling a test user in two-factor sign-in and reading codes as their authenticator app would."""

import time

import pyotp

from accounts.tests.factories import TEST_PASSWORD
from accounts.two_factor.services import two_factor_confirm, two_factor_setup
from sessions_app.models import TOTPDevice
from sessions_app.totp import secret_decrypt


def authenticator_code(user) -> str:
    """The code the app shows for the earliest time step the server still accepts: the current
    one, or the next if the current was used (so a test gets two fresh codes per 30 seconds)."""
    device = TOTPDevice.objects.get(user=user)
    totp = pyotp.TOTP(secret_decrypt(device.encrypted_secret))
    step = totp.timecode(time.time())
    if device.last_used_step is not None:
        step = max(step, device.last_used_step + 1)
    return totp.generate_otp(step)


def enrol(user) -> list[str]:
    """Turns two-factor sign-in on for `user` through the services; returns the recovery codes.
    Its confirmation used the current step, so the next `authenticator_code` is the next step's."""
    two_factor_setup(user=user, password=TEST_PASSWORD)
    return two_factor_confirm(user=user, code=authenticator_code(user))
