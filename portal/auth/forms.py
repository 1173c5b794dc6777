"""Login, password and two-factor forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from portal.auth.passwords import MAX_LENGTH, password_problem


class LoginForm(FlaskForm):
    email = EmailField(_l("E-postadress"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Lösenord"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class TotpForm(FlaskForm):
    code = StringField(
        _l("Engångskod"),
        validators=[DataRequired(), Length(min=6, max=8)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class TotpSetupForm(TotpForm):
    current = PasswordField(
        _l("Nuvarande lösenord"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-postadress"), validators=[DataRequired(), Email(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nytt lösenord"),
        validators=[DataRequired()],
        description=_l("Minst 12 tecken. Gärna en mening av flera ord."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Upprepa lösenordet"),
        validators=[DataRequired(), EqualTo("password", message=_l("Lösenorden är inte lika."))],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self._email = email

    def validate_password(self, field) -> None:
        problem = password_problem(field.data or "", self._email)
        if problem:
            raise ValidationError(problem)


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        _l("Nuvarande lösenord"),
        validators=[DataRequired()],
        render_kw={"autocomplete": "current-password"},
    )
