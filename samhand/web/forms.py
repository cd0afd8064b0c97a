"""Forms of the web UI. They only shape and pre-check input; the services in
samhand/patients/services.py and samhand/access/policy.py decide, and their
DomainError is shown next to the field it names (`show_domain_error`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from samhand.access.models import EmergencyAccessGrant
from samhand.lib.errors import DomainError
from samhand.orgs.models import Organisation
from samhand.patients.identifiers import InvalidIdentifier, parse_national_id
from samhand.patients.models import CareTeamMember, Consent, RelatedPerson


def show_domain_error(form: forms.Form, error: DomainError | Any,
                      field_map: dict[str, str] | None = None) -> None:
    """Attach a service error to its field (or to the form when it names none)."""
    field = getattr(error, "field", None) or getattr(error, "code", None)
    field = (field_map or {}).get(field or "", field)
    message = getattr(error, "message", str(error))
    form.add_error(field if field in form.fields else None, message)


class NationalIdField(forms.CharField):
    """A national identity number, parsed and validated; cleans to the normalised digits."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("National identity number"))
        kwargs.setdefault("max_length", 14)
        kwargs.setdefault("help_text", _("11 digits (Norway) or 10 digits (Denmark)."))
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "inputmode": "numeric", "autocomplete": "off", "spellcheck": "false",
            "class": "input-id"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return ""
        try:
            ident = parse_national_id(value, allow_test=settings.SAMHAND_ALLOW_TEST_IDENTIFIERS,
                                      allow_help=settings.SAMHAND_ALLOW_HELP_NUMBERS)
        except InvalidIdentifier as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from None
        return ident.value


class FindByNationalIdForm(forms.Form):
    national_id = NationalIdField()


class ConsentForm(forms.Form):
    scope = forms.ChoiceField(label=_("What the consent covers"), choices=Consent.Scope.choices)
    status = forms.ChoiceField(label=_("Decision"), choices=Consent.Status.choices,
                               widget=forms.RadioSelect)
    given_by = forms.ChoiceField(label=_("Decided by"), choices=Consent.GivenBy.choices,
                                 initial=Consent.GivenBy.PATIENT)
    given_by_name = forms.CharField(label=_("Name of the person who decided"), required=False,
                                    max_length=200,
                                    help_text=_("Only when someone other than the patient "
                                                "decided."))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


def organisation_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Active organisations grouped under their top-level organisation (one query)."""
    orgs = list(Organisation.objects.filter(is_active=True)
                .select_related("parent__parent").order_by("name"))
    groups: dict[str, list[tuple[str, str]]] = {}
    for org in orgs:
        top = org.top
        groups.setdefault(top.name, []).append((str(org.pk), org.name))
    return sorted(groups.items())


def people_in(organisation_id: str) -> list[tuple[str, str]]:
    """Active members of one organisation, for the optional person on a care team row."""
    from samhand.orgs.models import Membership

    try:
        memberships = (Membership.objects.active().filter(organisation_id=organisation_id,
                                                          user__is_active=True)
                       .select_related("user").order_by("user__last_name", "user__first_name"))
        people = {str(m.user_id): f"{m.user.get_full_name() or m.user.get_username()} "
                                  f"({m.get_role_display().lower()})" for m in memberships}
    except (ValueError, ValidationError):
        return []
    return sorted(people.items(), key=lambda item: item[1])


class CareTeamMemberForm(forms.Form):
    organisation = forms.ChoiceField(label=_("Organisation"))
    user = forms.ChoiceField(label=_("Person"), required=False,
                             help_text=_("Only when one named person has the role."))
    role = forms.ChoiceField(
        label=_("Role on the care team"),
        choices=[(value, label) for value, label in CareTeamMember.Role.choices
                 if value != CareTeamMember.Role.RELATIVE])
    period_end = forms.DateField(
        label=_("Member until"), required=False,
        help_text=_("Leave empty when the end is not known."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Choose an organisation")), *organisation_choices()]
        # Picking the organisation loads the people who work there (htmx).
        field.widget.attrs.update({"hx-get": reverse("web:care_team_people"),
                                   "hx-trigger": "change", "hx-target": "#person-field",
                                   "hx-swap": "outerHTML"})
        person = self.fields["user"]
        assert isinstance(person, forms.ChoiceField)
        organisation_id = self.data.get("organisation") if self.is_bound else None
        person.choices = [("", _("Nobody in particular")),
                          *(people_in(str(organisation_id)) if organisation_id else [])]


class RelativeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    relation = forms.ChoiceField(label=_("Relation to the patient"),
                                 choices=RelatedPerson.Relation.choices)
    phone = forms.CharField(label=_("Phone"), max_length=30, required=False,
                            widget=forms.TextInput(attrs={"type": "tel",
                                                          "autocomplete": "off"}))
    email = forms.EmailField(label=_("Email"), required=False)
    may_be_told = forms.ChoiceField(label=_("What the relative may be told"),
                                    choices=RelatedPerson.MayBeTold.choices,
                                    initial=RelatedPerson.MayBeTold.PRACTICAL)
    is_primary_contact = forms.BooleanField(label=_("Primary contact"), required=False)
    is_guardian = forms.BooleanField(label=_("Guardian"), required=False)


class EmergencyLookupForm(forms.Form):
    national_id = NationalIdField(help_text=_("The full number. It is sent in the form, never "
                                              "in the address."))


class EmergencyStartForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), strip=False,
        help_text=_("Confirm that it is you before opening the record."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    reason_code = forms.ChoiceField(label=_("Reason"), choices=EmergencyAccessGrant.Reason.choices,
                                    widget=forms.RadioSelect)
    reason_text = forms.CharField(
        label=_("Explain why you need access now"), max_length=2000,
        help_text=_("At least one sentence. The explanation is reviewed later."),
        widget=forms.Textarea(attrs={"rows": 3}))
