"""The read cache of public answers, their ETags and Cache-Control.

`cached_read` wraps a viewset's GET action. It runs after DRF's authentication, permissions and
content negotiation, so it knows who asks and in what format:

- an anonymous 200 whose answer is public is stored, rendered, in the default cache (Redis),
  under a hash of the normalised request (scheme and host, since page links and poster URLs in
  the body are absolute; path without its trailing slash; the negotiated media type; the query
  parameters sorted), tagged with the current *generation*. A hit (its tag is the generation)
  returns the stored bytes without a query, in one cache round trip.
- every write that can change a public answer calls `invalidate()`, which bumps the generation on
  commit: every entry is stale at once, and is overwritten by the next read of its request. One
  generation for everything: writes are rare next to reads, and a scoped scheme would have to
  know which lists a video appears on. Writes anyone can repeat cheaply (views, likes, follows)
  bump at most once a window; one suppressed inside a window leaves a bump due at its end,
  which the first read after it makes, so they show within the window however long entries live.
- a signed-in viewer's answer to an action given `personal=` is made from the shared one: the anonymous
  answer to the same request (from the cache, or computed and stored as an anonymous read would),
  with `personal.overlay` putting in what differs per viewer (the catalog's `access` and `my_rating`),
  so a signed-in page costs a cache hit and the overlay's queries, not the page's query and serializer.
- every 200 (anonymous or not) carries a strong `ETag` (a hash of the body) and answers a
  matching `If-None-Match` with a 304 without a body.
- anonymous public answers say `public, max-age=<ANON_CACHE_MAX_AGE, at most what is left of the
  entry>` for a CDN, which no write can purge; anything else (a signed-in viewer's answer, an
  unlisted video) says `private, no-cache`.

Entries live `ANON_CACHE_SECONDS` (0 turns the cache off), never more than half the playback token
lifetime (less the step tokens are issued in), so a signed poster URL served from the cache (or a CDN
honouring max-age) has at least half its life left. While Redis is unreachable, reads are computed
as without the cache (a bump that fails at commit leaves entries until their TTL).
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial, wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.response import Response

GENERATION_KEY = "anon-cache:generation"
ENTRY_KEY = "anon-cache:entry:{}"
_THROTTLE_KEY = "anon-cache:throttle:{}"
_DUE_KEY = "anon-cache:due:{}"
THROTTLED = ("views", "counts")  # the reasons `invalidate(at_most_every=...)` is called with
# Query strings longer than this, or with parameters the view does not read, are answered but not
# stored: junk must not fill the cache with copies of one answer.
MAX_QUERY_BYTES = 1024
VARY = ("Accept", "Authorization", "Cookie")
PRIVATE = "private, no-cache"
# Headers a 304 repeats (RFC 9110 15.4.5).
_NOT_MODIFIED_HEADERS = ("Cache-Control", "ETag", "Vary", "Content-Location", "Expires")

logger = logging.getLogger(__name__)


def entry_seconds() -> int:
    """How long an entry lives: the setting, capped at half the shortest life of a signed URL in it
    (tokens are issued per step of at most a tenth of their lifetime: `videos.playback.signing`)."""
    shortest = int(settings.PLAYBACK_TOKEN_TTL.total_seconds() * 0.9)
    return max(0, min(settings.ANON_CACHE_SECONDS, shortest // 2))


def generation() -> int:
    """The current generation. Created from the clock when missing (evicted, flushed), so a lost
    counter never restarts at a number old entries were stored under."""
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        value = cache.get(GENERATION_KEY)
    return int(value)


def bump() -> None:
    """Moves the generation now; `invalidate` schedules it on commit."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # missing: a fresh one from the clock is newer than any stored under
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)


def invalidate(*, at_most_every: int | None = None, reason: str = "") -> None:
    """Makes every cached public answer stale once the current transaction commits (at once
    outside one). With `at_most_every` seconds, writes of this `reason` (one of THROTTLED) bump at
    most that often: the first of a window at once; a later one leaves a bump due at the window's
    end, made by the first read after it (`_lookup`), so it shows within the window."""
    if not entry_seconds():  # off: nothing is stored (what was lives ANON_CACHE_SECONDS at most)
        return
    if at_most_every:
        try:
            if not cache.add(_THROTTLE_KEY.format(reason), time.time() + at_most_every, timeout=at_most_every):
                end = cache.get(_THROTTLE_KEY.format(reason)) or time.time()
                due = partial(_add_due, reason, end, at_most_every + entry_seconds())
                transaction.on_commit(due, robust=True)
                return
        except RedisError:  # nothing is read from the cache either; entries end by their TTL
            logger.warning("read cache unavailable", exc_info=True)
            return
    transaction.on_commit(bump, robust=True)


def _add_due(reason: str, when: float, timeout: int) -> None:
    cache.add(_DUE_KEY.format(reason), when, timeout=timeout)


def _anonymous(request: Request) -> bool:
    return (
        request.user is None
        and request.auth is None
        and "HTTP_AUTHORIZATION" not in request.META
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


def _known_params(view: Any, extra: Iterable[str]) -> set[str]:
    names = {"format", *extra}
    filterset = getattr(view, "filterset_class", None)
    if filterset is not None:
        names.update(filterset.base_filters)
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        names.update(
            name
            for name in (getattr(paginator, a, None) for a in ("cursor_query_param", "page_size_query_param"))
            if name
        )
    return names


def cache_key(request: Request, view: Any, extra_params: Iterable[str] = (), *, shared: bool = False) -> str | None:
    """The entry's key for an anonymous request (with `shared`, the key an anonymous one of the same
    request would have), or None when it is not to be stored."""
    if not entry_seconds() or not (shared or _anonymous(request)):
        return None
    query = request.META.get("QUERY_STRING", "")
    if len(query) > MAX_QUERY_BYTES or not set(request.GET).issubset(_known_params(view, extra_params)):
        return None
    parts = [
        str(request.scheme),
        request.get_host(),
        request.path_info.rstrip("/"),
        str(request.version or ""),
        str(request.accepted_media_type),
        *(f"{name}={value}" for name, values in sorted(request.GET.lists()) for value in values),
    ]
    return ENTRY_KEY.format(hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest())


def _lookup(key: str) -> tuple[int | None, dict | None]:
    """The current generation and the entry stored under `key` if it is of that generation, in
    one round trip (plus a bump when one is due). (None, None) while the cache is unreachable."""
    dues = [_DUE_KEY.format(reason) for reason in THROTTLED]
    try:
        found = cache.get_many([GENERATION_KEY, key, *dues])
        now = time.time()
        for due in dues:  # delete() is true for one reader only: one bump per due
            if found.get(due, now + 1) <= now and cache.delete(due):
                bump()
                found.pop(GENERATION_KEY, None)
        current = found[GENERATION_KEY] if GENERATION_KEY in found else generation()
    except RedisError:  # the answer is computed as without the cache
        logger.warning("read cache unavailable", exc_info=True)
        return None, None
    entry = found.get(key)
    return int(current), entry if entry is not None and entry.get("generation") == int(current) else None


def _etag(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def _not_modified(request: Request, response: HttpResponse) -> HttpResponse:
    """The 304 for a matching `If-None-Match` (weak comparison, `*` included), else the response."""
    wanted = parse_etags(request.META.get("HTTP_IF_NONE_MATCH", "")[:2048])
    etag = response["ETag"]
    if "*" not in wanted and etag not in {tag.removeprefix("W/") for tag in wanted}:
        return response
    answer = HttpResponseNotModified()
    for header in _NOT_MODIFIED_HEADERS:
        if header in response:
            answer[header] = response[header]
    return answer


def _from_entry(request: Request, entry: dict) -> HttpResponse:
    response = HttpResponse(entry["content"], content_type=entry["content_type"])
    response["ETag"] = entry["etag"]
    left = max(0, int(entry["expires"] - time.time()))
    response["Cache-Control"] = f"public, max-age={min(left, settings.ANON_CACHE_MAX_AGE)}"
    patch_vary_headers(response, VARY)
    return _not_modified(request, response)


@dataclass(frozen=True)
class Personal:
    """How a signed-in viewer's answer is made from the shared (anonymous) one of the same request:
    `applies(request)` says whether it can be (e.g. no parameter that filters per viewer),
    `shared(view, request)` computes the anonymous answer, `overlay(request, data)` returns the
    viewer's. The viewer's answer must differ from the shared one only where `overlay` writes."""

    applies: Callable[[Request], bool]
    shared: Callable[[Any, Request], Response]
    overlay: Callable[[Request, Any], Any]


def cached_read(
    *, public: Callable[[Any], bool] = lambda data: True, params: Iterable[str] = (), personal: Personal | None = None
) -> Callable[[Callable], Callable]:
    """Wraps a GET action: anonymous public 200s from and into the cache, an ETag and conditional
    GET on every 200, Cache-Control. `public(data)` says whether the answer may be shared (e.g. a
    video's detail only when it is public and free); `params` are query parameters the action
    reads beyond its filterset's and paginator's; `personal`, how signed-in viewers' answers are
    made from the shared one."""
    extra = tuple(params)

    def decorate(action: Callable) -> Callable:
        def render(view: Any, request: Request, response: Response, current: int | None, key: str | None) -> None:
            """Renders a 200 with its ETag, Vary and Cache-Control, and stores it under `key` when
            it may be shared. (DRF finalizes it again after the action: the same renderer and
            headers, no second rendering.)"""
            view.finalize_response(request, response).render()
            response["ETag"] = _etag(response.content)
            patch_vary_headers(response, VARY)
            shareable = public(response.data)
            seconds = entry_seconds()
            if shareable and _anonymous(request):
                age = min(seconds, settings.ANON_CACHE_MAX_AGE)
                response["Cache-Control"] = f"public, max-age={age}" if seconds else "public, no-cache"
            else:
                response["Cache-Control"] = PRIVATE
            if shareable and key is not None and current is not None:
                entry = {
                    "generation": current,
                    "content": response.content,
                    "content_type": response["Content-Type"],
                    "etag": response["ETag"],
                    "expires": time.time() + seconds,
                }
                try:
                    cache.set(key, entry, timeout=seconds)
                except RedisError:
                    logger.warning("read cache unavailable", exc_info=True)

        def personalised(view: Any, request: Request) -> Response | None:
            """The viewer's answer made from the shared one, or None when it cannot be."""
            key = cache_key(request, view, extra, shared=True)
            json_answer = getattr(request, "accepted_renderer", None) and request.accepted_renderer.format == "json"
            if personal is None or key is None or not json_answer or not personal.applies(request):
                return None
            current, entry = _lookup(key)
            if entry is not None:
                content = entry["content"]
            else:
                response = personal.shared(view, request)
                if response.status_code != 200:
                    return None
                render(view, request, response, current, key)
                content = response.content
            return Response(personal.overlay(request, json.loads(content)))

        @wraps(action)
        def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
            key = cache_key(request, view, extra)
            current, entry = _lookup(key) if key is not None else (None, None)
            if entry is not None:
                return _from_entry(request, entry)
            response = (None if key is not None else personalised(view, request)) or action(
                view, request, *args, **kwargs
            )
            if response.status_code != 200 or not isinstance(response, Response):
                return response
            render(view, request, response, current, key)
            return _not_modified(request, response)

        wrapper.conditional_get = True  # type: ignore[attr-defined]  # read by vod.openapi
        return wrapper

    return decorate


def public_video(data: dict) -> bool:
    """A video's answer may be shared when anyone may find it. A gated one's is shared too: every
    anonymous viewer gets the same (`access: locked`), as the catalog's pages already show it."""
    return data.get("visibility") == "public"
