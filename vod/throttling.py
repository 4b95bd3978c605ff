"""Redis-backed throttles per client IP, per targeted account and per signed-in user, all by the
view's scope."""

import hashlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from rest_framework.parsers import FormParser
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from vod.client_ip import client_ip


class IPThrottle(ScopedRateThrottle):
    """`throttle_scope`'s rate per client IP (see vod.client_ip for which IP)."""

    def get_rate(self) -> str | None:
        # Read live, not DRF's import-time copy, so operators and tests can change rates.
        return cast(dict, api_settings.DEFAULT_THROTTLE_RATES).get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class AnonymousIPThrottle(IPThrottle):
    """`throttle_scope`'s rate per client IP for requests without an account; signed-in callers
    pass (what they may do is counted per account by the view itself)."""

    def allow_request(self, request, view) -> bool:
        if request.user is not None and request.user.is_authenticated:
            return True
        return super().allow_request(request, view)


class AccountThrottle(IPThrottle):
    """The same rate per account named in the body (`throttle_account_field`), so one account
    cannot be hammered from many IPs. Requests without that field are left to validation.

    The view's `throttle_account_key(value)` names the account: every spelling that reaches one
    account (case, Unicode look-alikes the database matches) must give one key, or each would get
    a fresh budget."""

    def get_cache_key(self, request, view) -> str | None:
        value = request.data.get(view.throttle_account_field) if isinstance(request.data, dict) else None
        if not isinstance(value, str) or not value.strip():
            return None
        digest = hashlib.sha256(view.throttle_account_key(value).encode()).hexdigest()
        return self.cache_format % {"scope": f"{self.scope}-account", "ident": digest}


class UserThrottle(IPThrottle):
    """`throttle_scope`'s rate per signed-in user, from any IP."""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": f"{self.scope}-user", "ident": request.user.pk}


def throttle_wait(request, *, scope: str, account_field: str, account_key: Callable[[str], str]) -> float | None:
    """Runs the API's throttles of `scope` on a form post outside the API (the admin's login), so
    both spend one budget per IP and per account (named by `account_key`, as the API's view does);
    the seconds to wait, or None if allowed."""
    view = SimpleNamespace(throttle_scope=scope, throttle_account_field=account_field, throttle_account_key=account_key)
    drf_request = Request(request, parsers=[FormParser()])
    throttles = [IPThrottle(), AccountThrottle()]
    api_view: Any = view  # the throttles read only these attributes of a view
    waits = [throttle.wait() or 1 for throttle in throttles if not throttle.allow_request(drf_request, api_view)]
    return max(waits, default=None)
