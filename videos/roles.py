"""Staff roles as Django groups, kept in step with the code after every `migrate`.

"Content editors" manage the catalog (videos, categories, tags) and read the pipeline's rows shown
inline (renditions, transcode jobs); they get no permission on users, sessions or emails, so the
admin answers 403 there. A member also needs `is_staff` to sign in to the admin.
"""

from django.contrib.auth.models import Group, Permission

CONTENT_EDITORS = "Content editors"
CONTENT_EDITOR_PERMISSIONS = {
    "video": ["add", "change", "delete", "view"],
    "category": ["add", "change", "delete", "view"],
    "tag": ["add", "change", "delete", "view"],
    "rendition": ["view"],
    "transcodejob": ["view"],
}


def sync_roles(sender, **kwargs) -> None:
    """post_migrate: creates the group if missing and gives it these permissions (runs after Django
    has created the app's permissions, which come from the same signal). Permissions an operator
    added to the group are kept."""
    codenames = [f"{action}_{model}" for model, actions in CONTENT_EDITOR_PERMISSIONS.items() for action in actions]
    permissions = Permission.objects.filter(content_type__app_label="videos", codename__in=codenames)
    group, _ = Group.objects.get_or_create(name=CONTENT_EDITORS)
    group.permissions.add(*permissions)
