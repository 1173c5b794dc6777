"""The form of the publication pages (the publisher's choices are :mod:`.choices`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

MAX_TITLE, MAX_SUMMARY, MAX_REASON = 300, 5000, 2000


class WithdrawForm(FlaskForm):
    reason = TextAreaField(
        _l("Skäl till återkallelsen"),
        validators=[DataRequired(), Length(max=MAX_REASON)],
        description=_l("Skälet visas för allmänheten på sidan, som finns kvar utan filerna."),
    )
