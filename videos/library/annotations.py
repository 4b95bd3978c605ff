"""Library state that catalog answers carry: the caller's own rating, annotated in the query."""

from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value

from accounts.models import User
from videos.models import Rating, Video


def with_my_rating(videos: QuerySet[Video], *, viewer: User | None) -> QuerySet[Video]:
    """Annotates `my_rating` (like, dislike or null) for a signed-in viewer, no query more."""
    if viewer is None or not viewer.is_authenticated:
        return videos.annotate(my_rating=Value(None, output_field=CharField()))
    mine = Rating.objects.filter(video=OuterRef("pk"), user=viewer).values("value")[:1]
    return videos.annotate(my_rating=Subquery(mine))
