"""Catalog filters and orderings for `GET videos`."""

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from videos.catalog.access import ACCESS_CHOICES
from videos.catalog.selectors import rank_candidates
from videos.models import Video
from vod.filtering import StrictFilterSet, UTCDateTimeFilter
from vod.pagination import CursorPage

ORDERINGS = {
    "newest": ("-published_at", "-id"),
    "most_viewed": ("-view_count", "-id"),
    "title": ("title", "id"),
    "relevance": ("-rank", "-id"),  # only with `q` on PostgreSQL
}


class CatalogFilter(StrictFilterSet):
    tag = django_filters.CharFilter(field_name="tags__name", method="filter_tag", help_text="One tag name.")
    category = django_filters.CharFilter(field_name="category__slug", help_text="A category slug.")
    owner = django_filters.CharFilter(field_name="owner__username", lookup_expr="iexact", help_text="A username.")
    duration_min = django_filters.NumberFilter(field_name="duration", lookup_expr="gte", help_text="Seconds.")
    duration_max = django_filters.NumberFilter(field_name="duration", lookup_expr="lte", help_text="Seconds.")
    featured = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_featured", help_text="Picked by staff."
    )
    published_after = UTCDateTimeFilter(field_name="published_at", lookup_expr="gte")
    published_before = UTCDateTimeFilter(field_name="published_at", lookup_expr="lt")
    access = django_filters.ChoiceFilter(
        choices=ACCESS_CHOICES, help_text="For me: `free` (no plan needed), `granted` (I may play it), `locked`."
    )
    plan = django_filters.CharFilter(field_name="required_plans__code", help_text="Videos this plan code unlocks.")

    class Meta:
        model = Video
        fields: list[str] = []

    def filter_featured(self, queryset, name, value) -> QuerySet[Video]:
        return queryset.filter(is_featured=value == "true")

    def filter_tag(self, queryset, name, value) -> QuerySet[Video]:
        return queryset.filter(tags__name=value.strip().lower())


class CatalogPage(CursorPage):
    """Cursor pages in the order the client picks with `ordering`; by relevance, over the
    capped candidates of `rank_candidates`."""

    def paginate_queryset(self, queryset, request, view=None) -> list | None:
        if self.get_ordering(request, queryset, view) == ORDERINGS["relevance"]:
            queryset = rank_candidates(queryset)
        return super().paginate_queryset(queryset, request, view)

    def get_ordering(self, request, queryset, view) -> tuple[str, str]:
        default = "relevance" if "rank" in queryset.query.annotations else "newest"
        choice = request.query_params.get("ordering", default)
        if choice not in ORDERINGS:
            raise ValidationError({"ordering": [f"Choose one of: {', '.join(ORDERINGS)}."]})
        if choice == "relevance" and "rank" not in queryset.query.annotations:
            choice = "newest"
        return ORDERINGS[choice]
