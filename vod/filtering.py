"""Base FilterSet for query-parameter filters."""

from datetime import UTC

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError


class StrictFilterSet(django_filters.FilterSet):
    """Refuses a filter parameter sent empty, instead of silently ignoring it."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.filters:
            if name in self.data and self.data.get(name) == "":
                self.form.add_error(name, "Give a value, or leave the parameter out.")
                valid = False
        return valid


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time compared in UTC: offsets PostgreSQL would refuse (beyond +-15:59)
    are converted first, and dates that fall off the calendar in UTC are a 400."""

    def filter(self, queryset, value) -> QuerySet:
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except OverflowError:
                raise ValidationError({self.field_name: ["This date-time is out of range."]}) from None
        return super().filter(queryset, value)
