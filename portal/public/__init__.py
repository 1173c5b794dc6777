"""The public transparency site: no login."""

from flask import Blueprint

bp = Blueprint("public", __name__, cli_group="public")


@bp.record_once
def _setup(state) -> None:
    from portal import rate_limits, search

    app = state.app
    search.init_app(app)
    rate_limits.check_config(app)


from portal.public import feeds, views  # noqa: E402,F401
