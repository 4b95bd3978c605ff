"""Wording of the admin's action messages, shared by every app's admin."""

from django.template.defaultfilters import pluralize


def counted(count: int, noun: str) -> str:
    """ "1 video", "3 videos"."""
    return f"{count} {noun}{pluralize(count)}"


def already_note(count: int, state: str) -> str:
    """ "; 2 were already public", or "" when none were."""
    if not count:
        return ""
    return f"; {count} {'was' if count == 1 else 'were'} already {state}"
