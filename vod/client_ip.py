"""The client's IP address, trusting `X-Forwarded-For` only through the configured proxies."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str | None:
    """With TRUSTED_PROXY_COUNT = n, the address n hops from the right of X-Forwarded-For (the one
    our outermost proxy saw); with 0, the socket's peer. Entries a client could forge are ignored."""
    candidate = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            candidate = addresses[-min(hops, len(addresses))]
    try:
        return str(ipaddress.ip_address(candidate)) if candidate else None
    except ValueError:
        return None
