"""Forms of the pathway pages. Services do the domain checks; the forms only shape input."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from samhand.orgs.models import Organisation
from samhand.patients.models import CareTeamMember

from .definitions import Template
from .loader import load_library
from .models import EVENT_LABELS


class StartPathwayForm(forms.Form):
    template = forms.ChoiceField(label=_("Pathway"))
    entry = forms.ChoiceField(label=_("Entry"))
    at = forms.DateField(label=_("Started"), required=False,
                         widget=forms.DateInput(attrs={"type": "date"}),
                         help_text=_("Leave empty for today."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lang = get_language()
        library = load_library()
        cast(forms.ChoiceField, self.fields["template"]).choices = [
            (k, t.title.get(lang)) for k, t in sorted(library.items())]
        entries: dict[str, str] = {}
        for t in library.values():
            for key, text in t.entries.items():
                entries.setdefault(key, text.get(lang))
        cast(forms.ChoiceField, self.fields["entry"]).choices = list(entries.items())


class EventForm(forms.Form):
    kind = forms.ChoiceField(label=_("What happened"))
    at = forms.DateTimeField(label=_("When"), required=False,
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                        format="%Y-%m-%dT%H:%M"),
                             input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
                             help_text=_("Leave empty for now."))
    discharge_ready_from = forms.DateField(
        label=_("Discharge-ready from (municipal decision)"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}))
    receive_from = forms.DateField(
        label=_("The municipality can receive the patient from"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For the answer to a discharge-ready notice. Leave empty when the "
                    "municipality cannot receive the patient yet."))
    phase = forms.ChoiceField(label=_("New phase"), required=False)
    note = forms.CharField(label=_("Note"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    override_reason = forms.CharField(
        label=_("Reason for discharging with the gate unmet"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only the responsible consultant. The reason is shown on the pathway "
                    "and logged."))

    def __init__(self, *args: Any, template: Template, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lang = get_language()
        kinds = [k for k in template.events if k in EVENT_LABELS and k != "ended"] + ["ended"]
        cast(forms.ChoiceField, self.fields["kind"]).choices = [(k, EVENT_LABELS[k]) for k in kinds]
        cast(forms.ChoiceField, self.fields["phase"]).choices = [("", "—")] + [
            (p.key, p.title.get(lang)) for p in template.phases]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == "municipal_decision" and not data.get("discharge_ready_from"):
            self.add_error("discharge_ready_from",
                           _("The decision must give the date the patient is "
                             "discharge-ready from."))
        if data.get("kind") == "phase_changed" and not data.get("phase"):
            self.add_error("phase", _("Choose the new phase."))
        return data


class JudgementForm(forms.Form):
    gate = forms.CharField(widget=forms.HiddenInput)
    criterion = forms.CharField(widget=forms.HiddenInput)
    met = forms.TypedChoiceField(label=_("Judgement"), coerce=lambda v: v == "yes",
                                 choices=[("yes", _("Met")), ("no", _("Not met"))],
                                 widget=forms.RadioSelect)
    note = forms.CharField(label=_("Based on"), widget=forms.Textarea(attrs={"rows": 2}))


class CompleteTaskForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}))


class ReassignForm(forms.Form):
    organisation = forms.ModelChoiceField(label=_("To unit"), queryset=Organisation.objects.none())
    role = forms.ChoiceField(label=_("Role"), required=False,
                             choices=[("", "—"), *CareTeamMember.Role.choices])
    reason = forms.CharField(label=_("Why"), required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            is_active=True).order_by("name")


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=300)
    organisation = forms.ModelChoiceField(label=_("Owner"), queryset=Organisation.objects.none())
    role = forms.ChoiceField(label=_("Role"), required=False,
                             choices=[("", "—"), *CareTeamMember.Role.choices])
    due_at = forms.DateTimeField(label=_("Due"), required=False,
                                 widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                 input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d"])
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            is_active=True).order_by("name")
