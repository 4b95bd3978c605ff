"""Every API path answers with and without a trailing slash, without a redirect.

Frontends and generated clients write `/api/v1/videos/` as often as `/api/v1/videos`; a redirect
would turn a POST into a GET in some clients and costs a round trip. The routes stay written one
way (that is what the schema and `reverse()` show); a request for the other spelling is routed
to the same view.

Django resolves the path as sent; only a path that lands on the `/api/` catch-all
(`api_not_found`) is resolved again in its other spelling, so a request spelled as the routes
are pays no extra resolve (resolving a path first, as this middleware once did, cost every API
request about 100 us of CPU: a fifth of a whole plain request).
"""

from django.http import HttpResponseBase
from django.urls import Resolver404, resolve

from vod.api_views import api_not_found


class OptionalTrailingSlashMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs) -> HttpResponseBase | None:
        """Runs the twin spelling's view when the path as sent has no route. The views under
        /api/ are DRF's, exempt from Django's CSRF check, whose process_view this one precedes."""
        if view_func is not api_not_found:
            return None
        path = request.path_info
        twin = path[:-1] if path.endswith("/") else f"{path}/"
        try:
            match = resolve(twin, getattr(request, "urlconf", None))
        except Resolver404:
            return None
        if match.func is api_not_found:
            return None
        request.path_info, request.resolver_match = twin, match
        return match.func(request, *match.args, **match.kwargs)
