"""Forms of the plans pages. They shape input into plan content; the services decide
and their DomainError is shown next to the field it names.

Lists are typed one entry per line, with fields separated by a vertical bar
("Daily care | Home nursing"): quick on a tablet, and readable when printed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from samhand.patients.models import CareTeamMember

from .content import CALL_KEYS, PARTIES
from .models import MeetingMinute, MeetingParticipant
from .schema import MEASURE_PARTIES, VENTILATION_KINDS


def lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def split(line: str, parts: int) -> list[str]:
    fields = [f.strip() for f in line.split("|")]
    return (fields + [""] * parts)[:parts] if len(fields) <= parts else \
        [*fields[:parts - 1], " | ".join(fields[parts - 1:])]


def joined(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> str:
    return "\n".join(" | ".join(str(row.get(k, "")) for k in keys).rstrip(" |")
                     for row in rows)


def textarea(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class IndividualPlanForm(forms.Form):
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False)
    summary = forms.CharField(label=_("About me"), required=False, widget=textarea(3),
                              max_length=4000)
    goals = forms.CharField(
        label=_("My goals, in my own words"), required=False, widget=textarea(4),
        help_text=_("One goal per line, as the patient says it."))
    contacts = forms.CharField(
        label=_("Contact list"), required=False, widget=textarea(6),
        help_text=_("One contact per line: name | role | phone. A new or changed line counts "
                    "as confirmed today."))
    revision_every_months = forms.IntegerField(label=_("Revise every (months)"), min_value=1,
                                               max_value=24, initial=6)
    revision_next_on = forms.DateField(label=_("Next revision"),
                                       widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("What changed"), required=False, max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for party, label in MEASURE_PARTIES.items():
            self.fields[f"measures_{party}"] = forms.CharField(
                label=_("Measures: %(party)s") % {"party": label}, required=False,
                widget=textarea(3),
                help_text=_("One measure per line; add the responsible service after a "
                            "vertical bar: Daily care | Home nursing"))
        # Keep the note last.
        self.fields["note"] = self.fields.pop("note")

    def measure_fields(self) -> list[Any]:
        return [self[f"measures_{party}"] for party in MEASURE_PARTIES]

    @staticmethod
    def initial_from(content: dict[str, Any], number: int) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "based_on": number, "summary": content.get("summary", ""),
            "goals": "\n".join(g["text"] for g in content.get("goals", [])),
            "contacts": joined(content.get("contacts", []), ("name", "role", "phone")),
            "revision_every_months": content["revision"]["every_months"],
            "revision_next_on": content["revision"]["next_on"]}
        for party in MEASURE_PARTIES:
            initial[f"measures_{party}"] = joined(
                [m for m in content.get("measures", []) if m["party"] == party],
                ("text", "service"))
        return initial

    def content(self, previous: dict[str, Any], today: dt.date) -> dict[str, Any]:
        data = self.cleaned_data
        old = {(c["name"], c["role"], c["phone"]): c for c in previous.get("contacts", [])}
        contacts = []
        for line in lines(data["contacts"]):
            name, role, phone = split(line, 3)
            earlier = old.get((name, role, phone))
            contacts.append({"name": name, "role": role, "phone": phone,
                             "around_the_clock": earlier["around_the_clock"] if earlier
                             else False,
                             "confirmed_on": earlier["confirmed_on"] if earlier else today})
        measures = []
        for party in MEASURE_PARTIES:
            for line in lines(data[f"measures_{party}"]):
                text, service = split(line, 2)
                measures.append({"text": text, "party": party, "service": service})
        return {"summary": data["summary"],
                "goals": [{"text": g} for g in lines(data["goals"])],
                "measures": measures, "contacts": contacts,
                "revision": {"every_months": data["revision_every_months"],
                             "next_on": data["revision_next_on"]}}


class TreatmentPlanForm(forms.Form):
    based_on = forms.IntegerField(widget=forms.HiddenInput, required=False)
    ventilation_kind = forms.ChoiceField(label=_("Ventilation"), required=False,
                                         choices=list(VENTILATION_KINDS.items()))
    ventilation_device = forms.CharField(label=_("Ventilator"), required=False,
                                         max_length=200)
    ventilation_interface = forms.CharField(label=_("Mask or tube (type and size)"),
                                            required=False, max_length=300)
    ventilation_mode = forms.CharField(label=_("Mode"), required=False, max_length=80)
    ventilation_settings = forms.CharField(
        label=_("Settings"), required=False, widget=textarea(4),
        help_text=_("One setting per line: name | value | unit, e.g. IPAP | 18 | cmH2O"))
    ventilation_hours_per_day = forms.CharField(label=_("Hours per day"), required=False,
                                                max_length=5)
    ventilation_battery = forms.CharField(label=_("Battery time"), required=False,
                                          max_length=300)
    ventilation_pause_when = forms.CharField(label=_("When it may be paused"), required=False,
                                             widget=textarea(2))
    ventilation_resume_how = forms.CharField(label=_("How it is resumed"), required=False,
                                             widget=textarea(2))
    oxygen_without_niv = forms.CharField(label=_("Oxygen without ventilation"),
                                         required=False, max_length=300)
    oxygen_with_niv = forms.CharField(label=_("Oxygen with ventilation"), required=False,
                                      max_length=300)
    oxygen_how_to_switch = forms.CharField(label=_("How to switch between them"),
                                           required=False, widget=textarea(2))
    oxygen_saturation_target = forms.CharField(label=_("Target saturation"), required=False,
                                               max_length=100)
    physiotherapy = forms.CharField(label=_("Physiotherapy programme"), required=False,
                                    widget=textarea(3))
    secretion_clearance = forms.CharField(label=_("Secretion clearance"), required=False,
                                          widget=textarea(3))
    humidifier = forms.CharField(label=_("Humidifier"), required=False, widget=textarea(2))
    cough_assist = forms.CharField(label=_("Cough assist"), required=False,
                                   widget=textarea(2))
    suction = forms.CharField(label=_("Suction"), required=False, widget=textarea(2))
    other = forms.CharField(label=_("Other orders"), required=False, widget=textarea(2))
    note = forms.CharField(label=_("What changed"), required=False, max_length=300)

    @staticmethod
    def initial_from(content: dict[str, Any], number: int) -> dict[str, Any]:
        vent, oxygen = content["ventilation"], content["oxygen"]
        initial = {"based_on": number, **{f"ventilation_{k}": v for k, v in vent.items()
                                          if k != "settings"},
                   **{f"oxygen_{k}": v for k, v in oxygen.items()},
                   "ventilation_settings": joined(vent["settings"], ("name", "value", "unit"))}
        for key in ("physiotherapy", "secretion_clearance", "humidifier", "cough_assist",
                    "suction", "other"):
            initial[key] = content.get(key, "")
        return initial

    def content(self) -> dict[str, Any]:
        d = self.cleaned_data
        settings = [dict(zip(("name", "value", "unit"), split(line, 3), strict=True))
                    for line in lines(d["ventilation_settings"])]
        return {
            "physiotherapy": d["physiotherapy"], "secretion_clearance": d["secretion_clearance"],
            "ventilation": {"kind": d["ventilation_kind"], "device": d["ventilation_device"],
                            "interface": d["ventilation_interface"],
                            "mode": d["ventilation_mode"], "settings": settings,
                            "hours_per_day": d["ventilation_hours_per_day"],
                            "battery": d["ventilation_battery"],
                            "pause_when": d["ventilation_pause_when"],
                            "resume_how": d["ventilation_resume_how"]},
            "oxygen": {"without_niv": d["oxygen_without_niv"], "with_niv": d["oxygen_with_niv"],
                       "how_to_switch": d["oxygen_how_to_switch"],
                       "saturation_target": d["oxygen_saturation_target"]},
            "humidifier": d["humidifier"], "cough_assist": d["cough_assist"],
            "suction": d["suction"], "other": d["other"]}


class VersionForm(forms.Form):
    """Sign or approve the version one has read."""

    number = forms.IntegerField(widget=forms.HiddenInput)
    seen_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)


class BuildActionPlanForm(forms.Form):
    scenarios = forms.MultipleChoiceField(label=_("Scenarios"), required=True,
                                          widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, choices: list[tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["scenarios"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = choices or []


class ScenarioForm(forms.Form):
    based_on = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(label=_("Title"), max_length=200)
    signs = forms.CharField(label=_("Signs"), required=False, widget=textarea(4),
                            help_text=_("One sign per line."))
    steps = forms.CharField(label=_("What to do"), widget=textarea(6),
                            help_text=_("One step per line, in order."))
    call = forms.MultipleChoiceField(label=_("Whom to call"), required=False,
                                     choices=[(k, v) for k, v in CALL_KEYS.items()],
                                     widget=forms.CheckboxSelectMultiple)
    extra_numbers = forms.CharField(
        label=_("Other numbers"), required=False, widget=textarea(2),
        help_text=_("One per line: who | number"))
    gp = forms.CharField(label=_("The GP's responsibility"), required=False,
                         widget=textarea(2))
    specialist = forms.CharField(label=_("The specialist's responsibility"), required=False,
                                 widget=textarea(2))

    @staticmethod
    def initial_from(scenario: dict[str, Any], number: int) -> dict[str, Any]:
        return {"based_on": number, "title": scenario["title"],
                "signs": "\n".join(scenario["signs"]), "steps": "\n".join(scenario["steps"]),
                "call": scenario["call"],
                "extra_numbers": joined(scenario.get("extra_numbers", []), ("label", "number")),
                "gp": scenario["gp"], "specialist": scenario["specialist"]}

    def scenario(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"title": d["title"], "signs": lines(d["signs"]), "steps": lines(d["steps"]),
                "call": d["call"],
                "extra_numbers": [dict(zip(("label", "number"), split(line, 2), strict=True))
                                  for line in lines(d["extra_numbers"])],
                "gp": d["gp"], "specialist": d["specialist"]}


# Care-team role → meeting role, for the invitation list.
MEETING_ROLE: dict[str, str] = {
    CareTeamMember.Role.RESPONSIBLE_CONSULTANT: MeetingParticipant.Role.CONSULTANT,
    CareTeamMember.Role.LTMV_NURSE: MeetingParticipant.Role.NURSE,
    CareTeamMember.Role.HOSPITAL_COORDINATOR: MeetingParticipant.Role.COORDINATOR,
    CareTeamMember.Role.MUNICIPAL_COORDINATOR: MeetingParticipant.Role.COORDINATOR,
    CareTeamMember.Role.HOME_NURSING_PRIMARY: MeetingParticipant.Role.EXECUTING_SERVICE,
    CareTeamMember.Role.HOME_NURSING: MeetingParticipant.Role.CARE,
    CareTeamMember.Role.ALLOCATION_OFFICE: MeetingParticipant.Role.ADMINISTRATION,
    CareTeamMember.Role.GP: MeetingParticipant.Role.GP,
    CareTeamMember.Role.PALLIATIVE_TEAM: MeetingParticipant.Role.NURSE,
    CareTeamMember.Role.SUPPLIER: MeetingParticipant.Role.OTHER,
}


class CallMeetingForm(forms.Form):
    starts_at = forms.DateTimeField(label=_("Time"), widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
    place = forms.CharField(label=_("Place"), required=False, max_length=200)
    video_link = forms.URLField(label=_("Video link"), required=False, max_length=200,
                                assume_scheme="https")
    invite = forms.MultipleChoiceField(label=_("Participants from the care team"),
                                       required=False, widget=forms.CheckboxSelectMultiple)
    extra_name = forms.CharField(label=_("Other participant: name"), required=False,
                                 max_length=200)
    extra_role = forms.ChoiceField(label=_("Other participant: role"), required=False,
                                   choices=[("", "–"), *MeetingParticipant.Role.choices])

    def __init__(self, *args: Any, team: list[CareTeamMember] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = []
        for member in team or []:
            if member.organisation is None or member.role not in MEETING_ROLE:
                continue
            who = member.user.get_full_name() if member.user else ""
            label = f"{member.get_role_display()}: {who + ', ' if who else ''}" \
                    f"{member.organisation.name}"
            choices.append((str(member.pk), label))
        field = self.fields["invite"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = choices
        if not self.is_bound:
            self.initial["invite"] = [c[0] for c in choices]


class MinuteForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=MeetingMinute.Kind.choices,
                             widget=forms.RadioSelect, initial=MeetingMinute.Kind.NOTE)
    text = forms.CharField(label=_("Minute"), widget=textarea(3), max_length=4000)
    owner_organisation = forms.ChoiceField(label=_("Responsible unit (decisions)"),
                                           required=False)
    deadline = forms.DateField(label=_("Deadline (decisions)"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, team: list[CareTeamMember] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        seen: dict[str, str] = {}
        for member in team or []:
            if member.organisation is not None:
                seen.setdefault(str(member.organisation_id), member.organisation.name)
        field = self.fields["owner_organisation"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "–"), *sorted(seen.items(), key=lambda kv: kv[1])]


class AgreementForm(forms.Form):
    agreement_text = forms.CharField(label=_("Agreement"), widget=textarea(8),
                                     max_length=20000)


class SignAgreementForm(forms.Form):
    seen_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)


__all__ = ["PARTIES"]
