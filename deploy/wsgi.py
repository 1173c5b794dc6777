"""WSGI entry point of the container: the portal behind a reverse proxy.

gunicorn puts the proxy's address in REMOTE_ADDR and never reads
X-Forwarded-For, so without this every visitor would share one address: one
login throttle per IP for the whole municipality (Flask-Limiter keys on
REMOTE_ADDR) and the proxy's address in every audit event. ProxyFix takes the
client address from the last FORWARDED_PROXY_COUNT entries of X-Forwarded-For
(default 1: the TLS-terminating proxy on the host) and the scheme from
X-Forwarded-Proto. X-Forwarded-Host is not trusted: a common proxy setup passes
the client's own value through, and links in mails come from PORTAL_BASE_URL.

If the app itself learns to apply ProxyFix, remove it here: applied twice it
would read one hop too far and take an address the client can choose.
"""

import os

from werkzeug.middleware.proxy_fix import ProxyFix

from portal import create_app

application = create_app()
_hops = int(os.environ.get("FORWARDED_PROXY_COUNT", "1"))
if _hops:
    application.wsgi_app = ProxyFix(application.wsgi_app, x_for=_hops, x_proto=_hops)
