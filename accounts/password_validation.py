"""A password rule Django lacks: an upper bound, so a password set anywhere (the admin, the API)
is one the API's sign-in accepts, and hashing cost stays bounded."""

from django.core.exceptions import ValidationError

MAX_PASSWORD_LENGTH = 256


class MaximumLengthValidator:
    def __init__(self, max_length: int = MAX_PASSWORD_LENGTH):
        self.max_length = max_length

    def validate(self, password, user=None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long. It must contain at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password must contain at most {self.max_length} characters."
