"""Template helpers of the web UI: who is logged in (for the header), form fields
with their errors wired for screen readers, and small display filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import template
from django.forms import BoundField
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from samhand.access import policy
from samhand.orgs.models import Organisation

register = template.Library()


@dataclass
class Who:
    """What the header shows about the logged-in user."""

    name: str = ""
    role: str = ""
    organisations: list[Organisation] = field(default_factory=list)
    is_staff_member: bool = False
    is_relative: bool = False


def who_is(request: HttpRequest) -> Who:
    """Cached per request: two small queries, whatever the page."""
    cached = getattr(request, "_samhand_who", None)
    if cached is not None:
        return cached
    user = request.user
    who = Who()
    if user.is_authenticated:
        memberships = policy.active_memberships(user)  # read once per request
        who.name = user.get_full_name() or user.get_username()
        seen: set[Any] = set()
        for membership in memberships:
            if membership.organisation_id not in seen:
                seen.add(membership.organisation_id)
                who.organisations.append(membership.organisation)
        if memberships:
            who.role = memberships[0].get_role_display()
            who.is_staff_member = True
        else:
            who.role = user.get_profession_display()
            who.is_relative = policy.delegated_patients(user).exists()
    request._samhand_who = who  # type: ignore[attr-defined]
    return who


@register.simple_tag(takes_context=True)
def current_user(context: template.Context) -> Who:
    request = context.get("request")
    return who_is(request) if request is not None else Who()


@register.inclusion_tag("web/_field.html")
def form_field(bound: BoundField, css: str = "") -> dict[str, Any]:
    """A labelled field with hint and error, tied together with aria-describedby."""
    describedby = []
    if bound.help_text:
        describedby.append(f"{bound.auto_id}_hint")
    if bound.errors:
        describedby.append(f"{bound.auto_id}_error")
    attrs: dict[str, Any] = {}
    if describedby:
        attrs["aria-describedby"] = " ".join(describedby)
    if bound.errors:
        attrs["aria-invalid"] = "true"
    widget_type = bound.field.widget.__class__.__name__
    return {
        "field": bound,
        "widget": bound.as_widget(attrs=attrs),
        "is_checkbox": widget_type == "CheckboxInput",
        "is_choice_list": widget_type in {"RadioSelect", "CheckboxSelectMultiple"},
        "css": css,
    }


@register.filter
def group_digits(value: str, size: int = 4) -> str:
    value = str(value or "")
    return " ".join(value[i:i + size] for i in range(0, len(value), size))


# Languages patients in Norway and Denmark often speak, named in the UI's language.
PATIENT_LANGUAGES = {
    "nb": gettext_lazy("Norwegian (Bokmål)"),
    "nn": gettext_lazy("Norwegian (Nynorsk)"),
    "no": gettext_lazy("Norwegian"),
    "se": gettext_lazy("Northern Sami"),
    "da": gettext_lazy("Danish"),
    "sv": gettext_lazy("Swedish"),
    "en": gettext_lazy("English"),
    "de": gettext_lazy("German"),
    "pl": gettext_lazy("Polish"),
    "lt": gettext_lazy("Lithuanian"),
    "uk": gettext_lazy("Ukrainian"),
    "ru": gettext_lazy("Russian"),
    "ar": gettext_lazy("Arabic"),
    "so": gettext_lazy("Somali"),
    "ti": gettext_lazy("Tigrinya"),
    "fa": gettext_lazy("Persian"),
    "ur": gettext_lazy("Urdu"),
    "tr": gettext_lazy("Turkish"),
    "vi": gettext_lazy("Vietnamese"),
    "th": gettext_lazy("Thai"),
}


@register.filter
def language_label(code: str) -> str:
    """'nb' -> 'Norwegian (Bokmål)' in the active language; the code itself if unknown."""
    from django.utils.translation import get_language_info

    code = str(code or "").lower()
    if code in PATIENT_LANGUAGES:
        return str(PATIENT_LANGUAGES[code])
    try:
        return str(get_language_info(code)["name_translated"])
    except KeyError:
        return code


@register.filter
def id_kind_label(kind: str) -> str:
    from django.utils.translation import gettext as _

    labels = {
        "fnr": _("National identity number"),
        "dnr": _("D-number"),
        "hnr": _("H-number"),
        "test": _("Synthetic test number"),
        "cpr": _("CPR number"),
    }
    return labels.get(str(kind), _("National identity number"))


@register.filter
def as_minutes(value: Any) -> int:
    """A timedelta as whole minutes, rounded up."""
    seconds = getattr(value, "total_seconds", lambda: 0)()
    return max(1, -(-int(seconds) // 60)) if seconds else 0


# The sections of a patient's record, in order: (url name, label, key). Apps that are
# not (yet) routed are skipped, so the bar never links to a missing page.
PATIENT_SECTIONS = (
    ("web:patient", gettext_lazy("Overview"), "overview"),
    ("pathways:patient_pathways", gettext_lazy("Pathway and tasks"), "pathways"),
    ("plans:overview", gettext_lazy("Plans"), "plans"),
    ("observations:overview", gettext_lazy("Observations"), "observations"),
    ("messaging:patient_messages", gettext_lazy("Messages"), "messages"),
    ("pathways:timeline", gettext_lazy("Timeline"), "timeline"),
)


@register.inclusion_tag("web/patient/_sections.html")
def patient_sections(patient: Any, active: str = "overview") -> dict[str, Any]:
    from django.urls import NoReverseMatch, reverse

    links = []
    for name, label, key in PATIENT_SECTIONS:
        try:
            links.append({"url": reverse(name, args=[patient.pk]), "label": label,
                          "key": key})
        except NoReverseMatch:
            continue
    return {"links": links, "active": active}


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """`{{ labels|get_item:key }}`: a dict lookup with a variable key."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None
