"""The confirmation step shared by admin actions that change or delete what staff cannot undo."""

from django.contrib.admin import helpers
from django.template.response import TemplateResponse


def confirmed(request) -> bool:
    """True on the second step, when the confirmation page posted the selection back."""
    return request.POST.get("confirm") == "yes"


def confirmation_page(
    modeladmin, request, queryset, *, action: str, title: str, question: str, items
) -> TemplateResponse:
    """The first step of an action; the page posts the same selection back with `confirm`."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "question": question,
        "items": items,
        "queryset": queryset,
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        # "Select all N": the second step asks for the whole filtered list again, not for N ids
        # (a thousand hidden fields would pass Django's DATA_UPLOAD_MAX_NUMBER_FIELDS).
        "select_across": request.POST.get("select_across") == "1",
        "opts": modeladmin.model._meta,
        "media": modeladmin.media,
    }
    return TemplateResponse(request, "admin/action_confirmation.html", context)
