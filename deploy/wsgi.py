"""WSGI entry point of the container: the portal app as configured by the environment.

Behind the reverse proxy the app takes the client's address and the scheme from the
last PORTAL_PROXY_HOPS entries of X-Forwarded-For and X-Forwarded-Proto (ProxyFix,
applied by ``portal.create_app``; docker-compose.yml sets 1 hop: the TLS-terminating
proxy on the host). X-Forwarded-Host is never trusted, and links in mails, feeds and
the API come from PORTAL_BASE_URL.
"""

from portal import create_app

application = create_app()
