"""Every API path answers with and without a trailing slash, without a redirect.

Frontends and generated clients write `/api/v1/videos/` as often as `/api/v1/videos`; a redirect
would turn a POST into a GET in some clients and costs a round trip. The routes stay written one
way (that is what the schema and `reverse()` show); a request for the other spelling is routed
to the same view.
"""

from django.urls import Resolver404, resolve

from vod.api_views import api_not_found


def _resolves_to_a_view(path: str, urlconf) -> bool:
    try:
        return resolve(path, urlconf).func is not api_not_found
    except Resolver404:
        return False


class OptionalTrailingSlashMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path.startswith("/api/"):
            urlconf = getattr(request, "urlconf", None)
            if not _resolves_to_a_view(path, urlconf):
                twin = path[:-1] if path.endswith("/") else f"{path}/"
                if _resolves_to_a_view(twin, urlconf):
                    request.path_info = twin
        return self.get_response(request)
