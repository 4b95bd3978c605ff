"""What makes the cached public answers (vod.response_cache) stale: every write that can change
the catalog, a video, a channel or the categories.

Model saves and deletes are caught by signals, so the admin and every service path are covered
without each remembering: videos (publish, edit, delete, visibility, featured, posters), their
tags and plans, categories, tags, plans, playlists, and the public side of users (username,
display name, avatar, deactivation). Writes that bypass signals (`QuerySet.update()`,
`bulk_create`, fast deletes: counters, follows, playlist item counts, view counts) call
`invalidate()` (or its throttled forms below) in their services. Signals here only drop a cache:
they carry no business rule.
"""

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from vod.response_cache import invalidate

# The parts of a user a channel, a video's owner or a playlist's owner shows.
PUBLIC_USER_FIELDS = frozenset({"username", "display_name", "avatar_id", "is_active"})
VIEWS_AT_MOST_EVERY = 60  # seconds: view counts in cached answers may lag this much
COUNTS_AT_MOST_EVERY = 10  # seconds: like, follower and playlist counts may lag this much


def _on_write(sender: Any, **kwargs: Any) -> None:
    invalidate()


def _on_user_save(sender: Any, update_fields: frozenset[str] | None = None, **kwargs: Any) -> None:
    """Sign-ins, password and lockout writes leave the public answers alone."""
    if update_fields is None or update_fields & PUBLIC_USER_FIELDS:
        invalidate()


def _on_m2m(sender: Any, action: str, **kwargs: Any) -> None:
    if action.startswith("post_"):
        invalidate()


def view_counted() -> None:
    """A view was counted: cached answers catch up at most once a minute."""
    invalidate(at_most_every=VIEWS_AT_MOST_EVERY, reason="views")


def counts_moved() -> None:
    """A rating, a follow or a public playlist's size moved. Any signed-in user can repeat these
    cheaply (like, none, like...), and one generation serves every answer, so they bump at most
    every COUNTS_AT_MOST_EVERY seconds: else one user could keep the whole cache empty."""
    invalidate(at_most_every=COUNTS_AT_MOST_EVERY, reason="counts")


def connect() -> None:
    from accounts.models import User
    from accounts.subscriptions.models import Plan
    from videos.models import Category, Playlist, Tag, Video

    for model in (Video, Category, Tag, Plan, Playlist):
        uid = f"anon-cache:{model._meta.label}"
        post_save.connect(_on_write, sender=model, dispatch_uid=uid)
        post_delete.connect(_on_write, sender=model, dispatch_uid=uid)
    post_save.connect(_on_user_save, sender=User, dispatch_uid="anon-cache:user")
    post_delete.connect(_on_write, sender=User, dispatch_uid="anon-cache:user")
    m2m_changed.connect(_on_m2m, sender=Video.tags.through, dispatch_uid="anon-cache:video-tags")
    m2m_changed.connect(_on_m2m, sender=Video.required_plans.through, dispatch_uid="anon-cache:video-plans")
