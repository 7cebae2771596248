"""Forms for the staff pages. Messages follow the GOV.UK Design System: say what went wrong and what to do."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from fairdebt.domain import vocabulary as v

BAD_CREDENTIALS = (
    "Enter a correct username and password. "
    "Ask your system administrator to reset your password if you have forgotten it."
)


class SignInForm(AuthenticationForm):
    """Django's sign-in form with GOV.UK wording. An inactive user gets the same message as a wrong password."""

    error_messages = {**AuthenticationForm.error_messages, "invalid_login": BAD_CREDENTIALS, "inactive": BAD_CREDENTIALS}

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username"
        self.fields["password"].error_messages["required"] = "Enter your password"
        self.fields["password"].strip = False

    def govuk_errors(self) -> tuple[list[dict], dict[str, str]]:
        """(error summary items, {field id: message}) for govukErrorSummary and the fields' errorMessage."""
        summary: list[dict] = []
        fields: dict[str, str] = {}
        for message in self.non_field_errors():
            # Wrong credentials: the summary links to the first field, which shows the same message.
            summary.append({"text": message, "href": "#username"})
            fields.setdefault("username", message)
        for name in ("username", "password"):
            for message in self.errors.get(name, []):
                summary.append({"text": message, "href": f"#{name}"})
                fields.setdefault(name, message)
        return summary, fields


class AccountSearchForm(forms.Form):
    """The search box and type filter on /accounts/ (GET). An unknown type is ignored, not an error."""

    q = forms.CharField(required=False, max_length=200, strip=True)
    type = forms.ChoiceField(
        required=False, choices=[("", "All types"), *((t, v.ACCOUNT_TYPE_LABELS[t]) for t in v.ACCOUNT_TYPES)]
    )

    def terms(self) -> tuple[str, str]:
        """(query, account type), whatever was submitted."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        query = data.get("q") or (self.data.get("q") or "").strip()[:200]
        return query, data.get("type") or ""
