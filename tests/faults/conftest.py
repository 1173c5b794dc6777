"""Fault injection: the provider portal's fixtures (a real SMTP server, two organisations,
a request with one field of each type) reused, not copied."""

from tests.provider.conftest import (  # noqa: F401 - fixtures
    app_config,
    asked,
    smtp_server,
    smtp_service,
    w,
)
