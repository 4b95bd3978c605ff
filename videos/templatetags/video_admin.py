"""The admin index's dashboard block (templates/admin/index.html)."""

from django import template

from videos.catalog.selectors import staff_dashboard

register = template.Library()


@register.simple_tag
def video_dashboard() -> dict:
    return staff_dashboard()
