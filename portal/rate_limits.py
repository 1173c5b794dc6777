"""The per-client limit of public search and the open-data API.

Every query of the search page, the Atom feed and the API costs a search, and whether a
query matches tells something; without a limit a script could try thousands of words or
prefixes a minute. One budget per client is shared by the three (spreading the queries
over them gains nothing). The default, 120 a minute, is generous for a person (paging
through results, refining a query: a few requests a minute) and for a program harvesting
the API (100 items a request, or the CSV export, which has every match in one request),
and finite for a script. Identical requests are mostly answered by the caching proxy in
front (API and feed responses may be kept for a minute) and never count here.

Clients are told apart by address (``X-Forwarded-For`` when ``PORTAL_PROXY_HOPS`` says
how many proxies set it; without it every client behind the proxy shares one budget):
IPv4 by the address, IPv6 by its /64 network, which one subscriber usually gets whole.
A client past the limit gets 429 with ``Retry-After`` (see :mod:`portal.errors`).
"""

from __future__ import annotations

import ipaddress

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse_many

from portal.extensions import limiter

DEFAULT_PUBLIC_LIMIT = "120 per minute"


def client_network() -> str:
    """Limiter key: the client's IPv4 address, or the /64 network of its IPv6 address."""
    address = get_remote_address()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def public_limit() -> str:
    """The configured limit (``PORTAL_PUBLIC_RATE_LIMIT``), e.g. ``120 per minute``."""
    return current_app.config.get("PUBLIC_RATE_LIMIT") or DEFAULT_PUBLIC_LIMIT


def check_config(app) -> None:
    """Refuse to start with a limit that cannot be read (rather than fail every request)."""
    from portal.config import ConfigError

    value = app.config.get("PUBLIC_RATE_LIMIT") or DEFAULT_PUBLIC_LIMIT
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(
            f"PORTAL_PUBLIC_RATE_LIMIT must be a rate such as '120 per minute', not {value!r}"
        ) from None


# Decorate a view (or register on a blueprint) to count it in the public budget.
public_search = limiter.shared_limit(public_limit, scope="public-search", key_func=client_network)
