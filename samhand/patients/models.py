"""Patients, their relatives, the care team across organisations, consents and blocks.

Nothing here decides who may see what: that is `samhand.access.policy`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from samhand.orgs.models import Organisation

from .identifiers import SYSTEMS, IdKind, NationalId


class Patient(models.Model):
    class AddressKind(models.TextChoices):
        HOME = "home", _("Own home")
        SHELTERED = "sheltered", _("Sheltered housing")
        NURSING_HOME = "nursing_home", _("Nursing home")

    class Group(models.TextChoices):
        LTMV = "ltmv", _("Long-term mechanical ventilation (LTMV)")
        HOME_NIV = "home_niv", _("Home NIV")
        COPD_HF = "copd_hf", _("COPD / heart failure")
        PALLIATIVE = "palliative", _("Palliative care at home")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    national_id = models.CharField(_("national identity number"), max_length=11)
    national_id_kind = models.CharField(_("kind of number"), max_length=8,
                                        choices=[(k.value, k.value) for k in IdKind])
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    # Only from the population register, never parsed from the number.
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    group = models.CharField(_("patient group"), max_length=16, choices=Group.choices,
                             blank=True)
    address_kind = models.CharField(_("lives in"), max_length=16, choices=AddressKind.choices,
                                    default=AddressKind.HOME)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    municipality = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True,
        related_name="residents", limit_choices_to={"kind": Organisation.Kind.MUNICIPALITY},
        verbose_name=_("municipality"),
    )
    language = models.CharField(_("language"), max_length=10, default="nb")
    interpreter_needed = models.BooleanField(_("interpreter needed"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["family_name", "given_name"]
        constraints = [
            models.UniqueConstraint(fields=["national_id"], name="patient_unique_national_id"),
        ]
        indexes = [
            # "My patients" sorts and searches by name.
            models.Index(fields=["family_name", "given_name"], name="patient_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def identifier(self) -> NationalId:
        return NationalId(IdKind(self.national_id_kind), self.national_id)

    @property
    def identifier_system(self) -> str:
        return SYSTEMS[IdKind(self.national_id_kind)]

    def consent_active(self, scope: str) -> bool:
        return Consent.objects.active_for(self, scope)


class RelatedPerson(models.Model):
    class Relation(models.TextChoices):
        SPOUSE = "spouse", _("Spouse or partner")
        PARENT = "parent", _("Parent")
        CHILD = "child", _("Child")
        SIBLING = "sibling", _("Sibling")
        GUARDIAN = "guardian", _("Guardian")
        FRIEND = "friend", _("Friend or neighbour")
        OTHER = "other", _("Other")

    class MayBeTold(models.TextChoices):
        EVERYTHING = "everything", _("Everything about treatment and care")
        PRACTICAL = "practical", _("Practical matters only (appointments, contacts)")
        NOTHING = "nothing", _("Nothing without asking the patient")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="relatives")
    name = models.CharField(_("name"), max_length=200)
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    is_primary_contact = models.BooleanField(_("primary contact"), default=False)
    is_guardian = models.BooleanField(_("guardian"), default=False)
    may_be_told = models.CharField(_("may be told"), max_length=16, choices=MayBeTold.choices,
                                   default=MayBeTold.PRACTICAL)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="relative_of",
                             verbose_name=_("login"))

    class Meta:
        verbose_name = _("relative")
        verbose_name_plural = _("relatives")
        ordering = ["-is_primary_contact", "name"]
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(is_primary_contact=True),
                                    name="relative_one_primary_contact"),
        ]

    def __str__(self) -> str:
        return self.name


class CareTeamMemberQuerySet(models.QuerySet["CareTeamMember"]):
    def active(self, at: Any = None) -> CareTeamMemberQuerySet:
        at = at or timezone.now()
        return self.filter(Q(period_start__lte=at), Q(period_end__isnull=True)
                           | Q(period_end__gt=at))


class CareTeamMember(models.Model):
    """One member of the patient's cross-sector care team (ansvarsgruppe).

    A member is an organisation, optionally narrowed to a named person in it, or a
    relative. The organisation's membership on an active row is the care relation
    (tjenstlig behov) that opens the patient to people working there.
    """

    class Role(models.TextChoices):
        RESPONSIBLE_CONSULTANT = "responsible_consultant", _("Responsible consultant")
        LTMV_NURSE = "ltmv_nurse", _("LTMV nurse")
        HOSPITAL_COORDINATOR = "hospital_coordinator", _("Hospital coordinator")
        MUNICIPAL_COORDINATOR = "municipal_coordinator", _("Municipal coordinator")
        HOME_NURSING_PRIMARY = "home_nursing_primary", _("Primary contact in home nursing")
        HOME_NURSING = "home_nursing", _("Home nursing")
        ALLOCATION_OFFICE = "allocation_office", _("Allocation office")
        GP = "gp", _("GP")
        PALLIATIVE_TEAM = "palliative_team", _("Palliative team")
        SUPPLIER = "supplier", _("Equipment supplier")
        RELATIVE = "relative", _("Relative")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="care_team")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True,
                                     blank=True, related_name="care_relations",
                                     verbose_name=_("organisation"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                             blank=True, related_name="care_team_roles",
                             verbose_name=_("person"))
    related_person = models.ForeignKey(RelatedPerson, on_delete=models.CASCADE, null=True,
                                       blank=True, related_name="care_team_roles")
    period_start = models.DateTimeField(_("from"), default=timezone.now)
    period_end = models.DateTimeField(_("to"), null=True, blank=True)

    objects = CareTeamMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("care team member")
        verbose_name_plural = _("care team members")
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=False) | Q(related_person__isnull=False),
                name="careteam_member_is_org_or_relative",
            ),
            models.CheckConstraint(condition=Q(period_end__isnull=True)
                                   | Q(period_end__gt=models.F("period_start")),
                                   name="careteam_period_ordered"),
        ]
        indexes = [
            # The access layer: "patients with an active relation to organisation X".
            # The period columns are in the key so that PostgreSQL answers the relation
            # check (and the worklist's COUNT) from the index alone.
            models.Index(fields=["organisation", "patient", "period_start", "period_end"],
                         name="careteam_org_patient_idx"),
        ]

    def __str__(self) -> str:
        who = self.user or self.organisation or self.related_person
        return f"{self.get_role_display()}: {who}"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.period_start <= now and (self.period_end is None or self.period_end > now)


class ConsentQuerySet(models.QuerySet["Consent"]):
    def active_for(self, patient: Patient, scope: str) -> bool:
        # On a tie in recorded_at the withdrawal wins ("withdrawn" sorts after "given").
        latest = (self.filter(patient=patient, scope=scope)
                  .order_by("-recorded_at", "-status").first())
        return latest is not None and latest.status == Consent.Status.GIVEN


class Consent(models.Model):
    """A consent decision. Consents are never edited: a withdrawal is a new row.

    The newest row per (patient, scope) is in force.
    """

    class Scope(models.TextChoices):
        SHARE_HEALTH_INFO = "share_health_info", _(
            "Sharing health information between hospital and municipality")
        INDIVIDUAL_PLAN = "individual_plan", _("Individual plan")
        RELATIVES_ACCESS = "relatives_access", _("Relatives' access")

    class Status(models.TextChoices):
        GIVEN = "given", _("Given")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class GivenBy(models.TextChoices):
        PATIENT = "patient", _("The patient")
        GUARDIAN = "guardian", _("Guardian")
        PARENTS = "parents", _("Parents")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="consents")
    scope = models.CharField(_("scope"), max_length=32, choices=Scope.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    given_by = models.CharField(_("given by"), max_length=16, choices=GivenBy.choices,
                                default=GivenBy.PATIENT)
    given_by_name = models.CharField(_("name of the person who decided"), max_length=200,
                                     blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+", verbose_name=_("recorded by"))
    recorded_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                                 related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["patient", "scope", "-recorded_at"],
                                name="consent_current_idx")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()}: {self.get_status_display()}"


class Diagnosis(models.Model):
    """A diagnosis recorded by one organisation: health information that crosses
    between hospital and municipality only while sharing consent is active."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="diagnoses")
    code = models.CharField(_("ICD-10 code"), max_length=10)
    text = models.CharField(_("diagnosis"), max_length=200)
    recorded_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                                 related_name="+",
                                                 verbose_name=_("recorded by"))
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        ordering = ["recorded_at"]

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class AccessBlock(models.Model):
    """The patient's objection (sperring): a named person or organisation must not see
    the record. Applies on every path: pages, API, FHIR, exports."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="blocks")
    blocked_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                     null=True, blank=True, related_name="+")
    blocked_organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                             null=True, blank=True, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("access block")
        verbose_name_plural = _("access blocks")
        constraints = [
            models.CheckConstraint(
                condition=Q(blocked_user__isnull=False) | Q(blocked_organisation__isnull=False),
                name="block_names_someone"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.blocked_user or self.blocked_organisation}"


class Delegation(models.Model):
    """A relative's right to act for the patient: scoped and time-bounded (security #9)."""

    class Scope(models.TextChoices):
        CONTACTS = "contacts", _("Care team and contact numbers")
        PLANS = "plans", _("Plans")
        APPOINTMENTS = "appointments", _("Appointments")
        MESSAGES = "messages", _("Messages")
        ACCESS_LOG = "access_log", _("Access log")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    related_person = models.ForeignKey(RelatedPerson, on_delete=models.CASCADE,
                                       related_name="delegations")
    scopes = models.JSONField(_("scopes"), default=list)
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)
    valid_from = models.DateTimeField(default=timezone.now)
    valid_to = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")

    def __str__(self) -> str:
        return f"{self.related_person} {self.scopes}"

    def is_active(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.valid_from <= at < self.valid_to
