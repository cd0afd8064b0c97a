"""The plans on the pathway: the meeting's agenda from open tasks and unmet criteria,
decisions as tasks, the event "meeting_held", and the discharge gate's plan criteria."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from samhand.pathways import gate as pathway_gate
from samhand.pathways.models import Task
from samhand.plans import binder, meetings
from samhand.plans.meetings import ParticipantIn

from .helpers import actor_and_grant, full_ltmv_patient, start_ltmv_pathway


def _discharge_criteria(pathway):
    status = next(g for g in pathway_gate.gates(pathway) if g.key == "discharge")
    return {c.definition.evaluator: c for c in status.criteria if c.definition.evaluator}


def test_the_agenda_holds_open_tasks_and_unmet_criteria(world):
    from samhand.pathways import services as pathways

    pathway = start_ltmv_pathway(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    pathways.create_task(patient=world.patient_a, title="Søknad til kommunen", actor=actor,
                         owner_organisation=world.pulm, pathway=pathway)
    meeting = meetings.call_meeting(
        actor, world.patient_a, grant, starts_at=timezone.now(), place="Møterom",
        participants=[ParticipantIn(role="consultant", user_id=world.consultant.pk),
                      ParticipantIn(role="coordinator", user_id=world.coordinator_a.pk)])
    assert meeting.pathway_id == pathway.pk
    sources = {item["source"] for item in meeting.agenda}
    assert sources == {"topic", "task", "criterion"}
    assert "Søknad til kommunen" in [i["text"] for i in meeting.agenda if i["source"] == "task"]
    criteria = [i["text"] for i in meeting.agenda if i["source"] == "criterion"]
    assert any("Individuell plan" in text or "Individual plan" in text for text in criteria)


def test_signing_creates_tasks_and_records_the_meeting_on_the_pathway(world):
    pathway = start_ltmv_pathway(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, world.patient_a)
    meeting = meetings.call_meeting(
        actor, world.patient_a, grant, starts_at=timezone.now() - dt.timedelta(hours=1),
        place="Møterom",
        participants=[ParticipantIn(role="consultant", user_id=world.consultant.pk),
                      ParticipantIn(role="coordinator", user_id=world.coordinator_a.pk)])
    minute = meetings.add_minute(actor, meeting, grant, kind="decision",
                                 text="Kommunen setter sammen teamet",
                                 owner_organisation_id=world.hn_a.pk,
                                 deadline=dt.date(2027, 1, 15))
    meetings.set_agreement(actor, meeting, grant, text="Avtalt.")
    assert not _discharge_criteria(pathway)["pathway.meeting_held"].met
    for user in (world.consultant, world.coordinator_a):
        signer, signer_grant = actor_and_grant(user, world.patient_a)
        meeting.refresh_from_db()
        meetings.sign_agreement(signer, meeting, signer_grant,
                                seen_hash=meeting.agreement_hash())
    minute.refresh_from_db()
    task = Task.objects.get(pk=minute.task_id)
    assert task.pathway == pathway and task.kind == "decision"
    assert task.owner_organisation == world.hn_a and task.title == "Kommunen setter sammen teamet"
    assert task.due_at.date() == dt.date(2027, 1, 15)
    event = pathway.events.get(kind="meeting_held")
    assert event.data["meeting_id"] == str(meeting.pk)
    assert _discharge_criteria(pathway)["pathway.meeting_held"].met


def test_the_plan_criteria_turn_green_only_when_met(world):
    pathway = start_ltmv_pathway(world)
    criteria = _discharge_criteria(pathway)
    names = ("plans.individual_plan_started", "plans.action_plan_approved",
             "plans.treatment_plan_signed", "plans.binder_current")
    assert not any(criteria[name].met for name in names)
    assert all(criteria[name].missing for name in names)
    patient = full_ltmv_patient(world)
    criteria = _discharge_criteria(pathway)
    assert all(criteria[name].met for name in names[:3])
    assert not criteria["plans.binder_current"].met
    actor, _grant = actor_and_grant(world.ltmv_nurse, patient)
    binder.generate_binder(actor, patient)
    assert _discharge_criteria(pathway)["plans.binder_current"].met
    # A new phone number makes the binder out of date until it is made again.
    world.hn_a.phone_24h = "400 12 345"
    world.hn_a.save()
    assert not _discharge_criteria(pathway)["plans.binder_current"].met


def test_a_refused_individual_plan_counts_as_recorded(world):
    from .helpers import consent

    pathway = start_ltmv_pathway(world)
    consent(world, status="withdrawn")
    assert _discharge_criteria(pathway)["plans.individual_plan_started"].met
