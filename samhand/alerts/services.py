"""Raising, acknowledging and closing alerts. Each call applies whole, audited."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from samhand.audit.models import AuditEvent
from samhand.audit.services import Actor, Entry, record, record_many
from samhand.lib.errors import Conflict, DomainError
from samhand.lib.i18n import Text
from samhand.orgs.models import Organisation
from samhand.patients.models import Patient

from .models import Alert, AlertQuerySet

A = AuditEvent.Action


def _actor(actor: Actor | Any | None) -> Actor:
    if actor is None:
        return Actor(client="system")
    if isinstance(actor, Actor):
        return actor
    return Actor(user=actor)


def new_alert(
    *,
    patient: Patient,
    organisation: Organisation,
    kind: str,
    episode_key: str,
    text: str | Text,
    severity: str = Alert.Severity.WARNING,
    role: str = "",
    due_at: dt.datetime | None = None,
    source: str = "",
    escalated_from: Alert | None = None,
    escalation_level: int = 0,
) -> Alert:
    """The unsaved alert `raise_alert` inserts, its severity and text checked."""
    if severity not in Alert.SEVERITY_RANK:
        raise DomainError(_("Unknown alert severity."), code="alert_severity", field="severity")
    if not text.strip():
        raise DomainError(_("An alert needs a text."), code="alert_text", field="text")
    return Alert(patient=patient, organisation=organisation, kind=kind, severity=severity,
                 text=str(text), episode_key=episode_key, role=role, due_at=due_at,
                 source=source, escalated_from=escalated_from,
                 escalation_level=escalation_level,
                 text_source=text.as_json() if isinstance(text, Text) else {})


def raise_alert(
    *,
    patient: Patient,
    organisation: Organisation,
    kind: str,
    episode_key: str,
    text: str | Text,
    actor: Actor | Any | None = None,
    severity: str = Alert.Severity.WARNING,
    role: str = "",
    due_at: dt.datetime | None = None,
    source: str = "",
    escalated_from: Alert | None = None,
    escalation_level: int = 0,
) -> tuple[Alert, bool]:
    """Raise an alert for `organisation` about `patient`, once per episode.

    While an open alert with the same `episode_key` exists for the patient, that one is
    returned (created=False) and nothing changes: a sweep or a re-sent message never
    raises the same alert twice."""
    alert = new_alert(patient=patient, organisation=organisation, kind=kind,
                      episode_key=episode_key, text=text, severity=severity, role=role,
                      due_at=due_at, source=source, escalated_from=escalated_from,
                      escalation_level=escalation_level)
    # The row and its audit row apply whole: in the caller's transaction, or in one of
    # their own (no savepoint: the insert does not fail on an open episode).
    whole = (contextlib.nullcontext() if transaction.get_connection().in_atomic_block
             else transaction.atomic())
    for _attempt in range(3):
        with whole:
            if _insert_unless_open(alert):
                record(_actor(actor), "samhand.alert.raised", A.CREATE, patient_id=patient.pk,
                       object_type="Flag", object_ids=[alert.pk], recipient=organisation)
                return alert, True
        # Open already (raised before, or concurrently by someone else): theirs is the one.
        existing = Alert.objects.open().filter(patient=patient, episode_key=episode_key).first()
        if existing is not None:
            return existing, False
        # Closed between the insert and the look-up: try again.
    raise Conflict(_("The alert could not be raised; try again."), code="alert_busy")


# Fixed text (static check #21: only values are parameters); the columns are the model's
# concrete fields in order (a test ties the two together). PostgreSQL and SQLite alike.
INSERT_UNLESS_OPEN_COLUMNS = (
    "id", "patient_id", "organisation_id", "role", "kind", "severity", "text", "episode_key",
    "source", "raised_at", "due_at", "acknowledged_at", "acknowledged_by_id",
    "acknowledge_note", "closed_at", "closed_by_id", "close_note", "escalation_level",
    "escalated_from_id", "text_source")
INSERT_UNLESS_OPEN_SQL = (
    'INSERT INTO "alerts_alert" ("id", "patient_id", "organisation_id", "role", "kind", '
    '"severity", "text", "episode_key", "source", "raised_at", "due_at", "acknowledged_at", '
    '"acknowledged_by_id", "acknowledge_note", "closed_at", "closed_by_id", "close_note", '
    '"escalation_level", "escalated_from_id", "text_source") '
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    'ON CONFLICT ("patient_id", "episode_key") WHERE "closed_at" IS NULL DO NOTHING '
    "RETURNING 1")


def _insert_unless_open(alert: Alert) -> bool:
    """INSERT the alert unless an open one exists for its patient and episode: one
    statement (`ON CONFLICT DO NOTHING` on the open-episode unique index, which waits for
    a concurrent insert of the same episode to commit or roll back), no savepoint.
    True when inserted."""
    connection = transaction.get_connection()
    fields = Alert._meta.concrete_fields
    values = [f.get_db_prep_save(f.pre_save(alert, True), connection=connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(INSERT_UNLESS_OPEN_SQL, values)
        inserted = cursor.fetchone() is not None
    if inserted:
        alert._state.adding = False
        alert._state.db = connection.alias
    return inserted


# The same as INSERT_UNLESS_OPEN_SQL for many rows at once: one array per column
# (PostgreSQL), in the model's column order (a test ties the two together).
INSERT_MANY_UNLESS_OPEN_SQL = (
    'INSERT INTO "alerts_alert" ("id", "patient_id", "organisation_id", "role", "kind", '
    '"severity", "text", "episode_key", "source", "raised_at", "due_at", "acknowledged_at", '
    '"acknowledged_by_id", "acknowledge_note", "closed_at", "closed_by_id", "close_note", '
    '"escalation_level", "escalated_from_id", "text_source") '
    "SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::varchar(32)[], "
    "%s::varchar(40)[], %s::varchar(10)[], %s::text[], %s::varchar(200)[], "
    "%s::varchar(200)[], %s::timestamptz[], %s::timestamptz[], %s::timestamptz[], "
    "%s::uuid[], %s::text[], %s::timestamptz[], %s::uuid[], %s::text[], %s::smallint[], "
    "%s::uuid[], %s::jsonb[]) "
    'ON CONFLICT ("patient_id", "episode_key") WHERE "closed_at" IS NULL DO NOTHING '
    'RETURNING "id"')


def raise_new_alerts(alerts: Sequence[Alert], actor: Actor | Any | None = None) -> list[Alert]:
    """Insert new alerts (from `new_alert`) together, each as `raise_alert` would: not
    while an open alert of its patient and episode exists, also one earlier in the list.
    The ones inserted are returned, and audited. One statement on PostgreSQL (a batch of
    received messages raises its alerts at its end)."""
    if not alerts:
        return []
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        raised = [alert for alert in alerts if _insert_unless_open(alert)]
    else:
        fields = Alert._meta.concrete_fields
        columns: list[list[Any]] = [[] for _f in fields]
        for alert in alerts:
            for column, f in zip(columns, fields, strict=True):
                column.append(f.get_db_prep_save(f.pre_save(alert, True), connection=connection))
        import psycopg

        # Bound on the server (Django's cursors quote every value into the text in
        # Python: the dearest part of storing a batch's alerts); Django's error wrapper
        # still turns a unique violation into an IntegrityError.
        with connection.cursor() as wrapper, connection.wrap_database_errors, \
                psycopg.Cursor(wrapper.cursor.connection) as cursor:
            cursor.execute(INSERT_MANY_UNLESS_OPEN_SQL, columns)
            inserted = {row[0] for row in cursor.fetchall()}
        raised = [alert for alert in alerts if alert.pk in inserted]
        for alert in raised:
            alert._state.adding = False
            alert._state.db = connection.alias
    record_many(_actor(actor), [
        Entry(code="samhand.alert.raised", action=A.CREATE, patient_id=alert.patient_id,
              object_type="Flag", object_ids=[alert.pk], recipient=alert.organisation)
        for alert in raised])
    return raised


@transaction.atomic
def acknowledge(alert: Alert, user: Any, note: str = "", actor: Actor | None = None) -> Alert:
    """A named person takes the alert: they will act on it. Once only."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.closed_at is not None:
        raise Conflict(_("The alert is already closed."), code="alert_closed")
    if alert.acknowledged_at is not None:
        raise Conflict(_("The alert was already acknowledged by %(name)s.")
                       % {"name": alert.acknowledged_by.get_full_name()
                          if alert.acknowledged_by else "?"}, code="alert_acknowledged")
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = user
    alert.acknowledge_note = note.strip()
    alert.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledge_note"])
    record(actor or Actor(user=user), "samhand.alert.acknowledged", A.UPDATE,
           patient_id=alert.patient_id, object_type="Flag", object_ids=[alert.pk])
    return alert


@transaction.atomic
def close(alert: Alert, actor: Actor | Any | None = None, note: str = "") -> Alert:
    """The episode is over. Closing twice is harmless."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.closed_at is not None:
        return alert
    act = _actor(actor)
    alert.closed_at = timezone.now()
    alert.closed_by = act.user
    alert.close_note = note.strip()
    alert.save(update_fields=["closed_at", "closed_by", "close_note"])
    record(act, "samhand.alert.closed", A.UPDATE, patient_id=alert.patient_id,
           object_type="Flag", object_ids=[alert.pk])
    return alert


def close_episode(patient: Patient, episode_key: str, actor: Actor | Any | None = None,
                  note: str = "") -> Alert | None:
    alert = Alert.objects.open().filter(patient=patient, episode_key=episode_key).first()
    return close(alert, actor, note) if alert else None


def open_alerts_for(organisation_ids: list[Any]) -> AlertQuerySet:
    """Open alerts addressed to these units, most severe and oldest first is the caller's
    choice; patients must still be filtered through the access layer by the caller."""
    return Alert.objects.open().for_organisations(organisation_ids).select_related(
        "patient", "organisation", "acknowledged_by")
