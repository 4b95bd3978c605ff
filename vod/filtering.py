"""Base FilterSet for query-parameter filters."""

import django_filters


class StrictFilterSet(django_filters.FilterSet):
    """Refuses a filter parameter sent empty, instead of silently ignoring it."""

    def is_valid(self):
        valid = super().is_valid()
        for name in self.filters:
            if name in self.data and self.data.get(name) == "":
                self.form.add_error(name, "Give a value, or leave the parameter out.")
                valid = False
        return valid
