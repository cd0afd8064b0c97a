"""Hospitals, municipalities and their units, GP offices, suppliers; who works where."""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from samhand.accounts.models import User


def validate_org_number(value: str) -> None:
    """Norwegian organisasjonsnummer: 9 digits, mod-11 check digit (weights 3,2,7,6,5,4,3,2)."""
    if len(value) != 9 or not (value.isascii() and value.isdigit()):
        raise ValidationError(_("An organisation number has 9 digits."), code="format")
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    remainder = sum(int(d) * w for d, w in zip(value[:8], weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    if check == 10 or check != int(value[8]):
        raise ValidationError(_("The organisation number's check digit is wrong."), code="check")


class Sector(models.TextChoices):
    SPECIALIST = "specialist", _("Specialist health service")
    PRIMARY = "primary", _("Municipal health and care service")
    SUPPLIER = "supplier", _("Supplier")


class Organisation(models.Model):
    class Kind(models.TextChoices):
        HOSPITAL = "hospital", _("Hospital")
        DEPARTMENT = "department", _("Hospital department")
        MUNICIPALITY = "municipality", _("Municipality")
        HOME_NURSING = "home_nursing", _("Home nursing")
        COORDINATING_UNIT = "coordinating_unit", _("Coordinating unit")
        ALLOCATION_OFFICE = "allocation_office", _("Allocation office")
        ACUTE_BEDS = "acute_beds", _("Municipal acute beds")
        OUT_OF_HOURS = "out_of_hours", _("Out-of-hours service")
        GP_OFFICE = "gp_office", _("GP office")
        SUPPLIER = "supplier", _("Equipment supplier")

    # Which kinds may sit under which parent kind.
    ALLOWED_PARENTS: dict[str, set[str | None]] = {
        Kind.HOSPITAL: {None},
        Kind.DEPARTMENT: {Kind.HOSPITAL, Kind.DEPARTMENT},
        Kind.MUNICIPALITY: {None},
        Kind.HOME_NURSING: {Kind.MUNICIPALITY},
        Kind.COORDINATING_UNIT: {Kind.MUNICIPALITY},
        Kind.ALLOCATION_OFFICE: {Kind.MUNICIPALITY},
        Kind.ACUTE_BEDS: {Kind.MUNICIPALITY},
        Kind.OUT_OF_HOURS: {Kind.MUNICIPALITY},
        Kind.GP_OFFICE: {None, Kind.MUNICIPALITY},
        Kind.SUPPLIER: {None},
    }
    SPECIALIST_KINDS = {Kind.HOSPITAL, Kind.DEPARTMENT}
    SUPPLIER_KINDS = {Kind.SUPPLIER}

    class Country(models.TextChoices):
        NO = "NO", _("Norway")
        DK = "DK", _("Denmark")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
        verbose_name=_("part of"),
    )
    country = models.CharField(_("country"), max_length=2, choices=Country.choices,
                               default=Country.NO)
    org_number = models.CharField(_("organisation number"), max_length=9, blank=True,
                                  validators=[validate_org_number])
    her_id = models.CharField(_("HER-id"), max_length=20, blank=True)
    sor_id = models.CharField(_("SOR-id"), max_length=20, blank=True)
    municipality_number = models.CharField(_("municipality number"), max_length=4, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    phone_24h = models.CharField(_("24-hour number"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["her_id"], condition=~Q(her_id=""),
                                    name="org_unique_her_id"),
            models.UniqueConstraint(fields=["sor_id"], condition=~Q(sor_id=""),
                                    name="org_unique_sor_id"),
            models.CheckConstraint(condition=~Q(parent=models.F("id")) | Q(parent__isnull=True),
                                   name="org_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def sector(self) -> str:
        if self.kind in self.SPECIALIST_KINDS:
            return Sector.SPECIALIST
        if self.kind in self.SUPPLIER_KINDS:
            return Sector.SUPPLIER
        return Sector.PRIMARY

    def clean(self) -> None:
        parent_kind = self.parent.kind if self.parent else None
        if parent_kind not in self.ALLOWED_PARENTS.get(self.kind, set()):
            raise ValidationError(
                {"parent": _("This kind of organisation cannot be placed there.")})

    def ancestors(self) -> list[Organisation]:
        chain: list[Organisation] = []
        node = self.parent
        while node is not None and len(chain) < 10:
            chain.append(node)
            node = node.parent
        return chain

    @property
    def top(self) -> Organisation:
        ancestors = self.ancestors()
        return ancestors[-1] if ancestors else self

    def display_24h(self) -> str:
        """The 24-hour number, inherited from the parent when the unit has none of its own."""
        for org in [self, *self.ancestors()]:
            if org.phone_24h:
                return org.phone_24h
        return ""


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self, at: datetime.datetime | None = None) -> MembershipQuerySet:
        at = at or timezone.now()
        return self.filter(
            Q(valid_from__lte=at), Q(valid_to__isnull=True) | Q(valid_to__gt=at),
            organisation__is_active=True,
        )


class Membership(models.Model):
    """A user working in an organisation in a role, for a period."""

    class Role(models.TextChoices):
        NURSE = "nurse", _("Nurse")
        DOCTOR = "doctor", _("Doctor")
        COORDINATOR = "coordinator", _("Coordinator")
        ALLOCATION_OFFICER = "allocation_officer", _("Allocation officer")
        GP = "gp", _("GP")
        HEALTH_WORKER = "health_worker", _("Health worker")
        PHYSIOTHERAPIST = "physiotherapist", _("Physiotherapist")
        ADMINISTRATIVE = "administrative", _("Administrative staff")
        SECURITY_OFFICER = "security_officer", _("Security officer")

    CLINICAL_ROLES = {Role.NURSE, Role.DOCTOR, Role.COORDINATOR, Role.GP,
                      Role.HEALTH_WORKER, Role.PHYSIOTHERAPIST, Role.ALLOCATION_OFFICER}

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships", verbose_name=_("user"))
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT,
                                     related_name="memberships", verbose_name=_("organisation"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    valid_from = models.DateTimeField(_("from"), default=timezone.now)
    valid_to = models.DateTimeField(_("to"), null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"],
                                    condition=Q(valid_to__isnull=True),
                                    name="membership_one_open_per_role"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True)
                                   | Q(valid_to__gt=models.F("valid_from")),
                                   name="membership_period_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"

    def end(self, *, at: datetime.datetime | None = None) -> None:
        """End the membership; the user's sessions end with it (security.md #14)."""
        from samhand.accounts.models import end_sessions_for

        self.valid_to = at or timezone.now()
        self.save(update_fields=["valid_to"])
        end_sessions_for(self.user)


def active_organisations(user: User) -> models.QuerySet[Organisation]:
    return Organisation.objects.filter(
        pk__in=Membership.objects.active().filter(user=user).values("organisation_id")
    )
