"""What each audit code means, in one sentence a patient can read (style.md §8).

ONE mapping from namespaced action code to a translated sentence, used by the
patient's access log, the history panels and the review reports. Every code passed
to `record()` must have a sentence here (a test walks the source to check).
Sentences are written from the patient's point of view, about the person who acted:
"Opened the patient record" reads as "Kari Krogh opened the patient record".
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_SENTENCES: dict[str, Promise] = {
    # The patient and the record
    "samhand.patient.read": _("Opened the patient record"),
    "samhand.patient.list": _("Saw the patient in a patient list"),
    "samhand.patient.search": _("Found the patient in a search"),
    "samhand.patient.lookup": _("Looked the patient up by national identity number"),
    "samhand.patient.created": _("Registered the patient"),
    "samhand.patient.create_duplicate": _("Tried to register the patient a second time"),
    "samhand.patient.updated": _("Changed the patient's personal details"),
    "samhand.patient.exported": _("Exported the patient's data"),
    # Care team, relatives, consent
    "samhand.careteam.read": _("Looked at the care team"),
    "samhand.careteam.change": _("Opened the care team to change it"),
    "samhand.careteam.search": _("Looked up the care team"),
    "samhand.careteam.member_added": _("Added someone to the care team"),
    "samhand.careteam.member_ended": _("Ended someone's place on the care team"),
    "samhand.relative.read": _("Looked at relatives and contacts"),
    "samhand.relative.change": _("Opened relatives and contacts to change them"),
    "samhand.relative.added": _("Added a relative or contact"),
    "samhand.relative.updated": _("Changed a relative's or contact's details"),
    "samhand.consent.read": _("Looked at the consents"),
    "samhand.consent.change": _("Opened the consents to change them"),
    "samhand.consent.search": _("Looked up the consents"),
    "samhand.consent.recorded": _("Recorded a consent"),
    "samhand.consent.given": _("Recorded that a consent was given"),
    "samhand.consent.withdrawn": _("Recorded that a consent was withdrawn"),
    "samhand.diagnosis.read": _("Looked at the diagnoses"),
    # Emergency access (break-the-glass)
    "samhand.emergency.started": _("Started emergency access to the record"),
    "samhand.emergency.refused": _("Tried to start emergency access, and was refused"),
    "samhand.emergency.ended": _("Ended emergency access to the record"),
    "samhand.emergency.expired": _("Emergency access to the record ran out"),
    # Messages between organisations (disclosure)
    "samhand.message.sent": _("Sent a message with information about the patient"),
    "samhand.message.received": _("Received a message with information about the patient"),
    # samhand.messaging (issue 6): delivery, operator actions, reading the message view
    "samhand.message.delivered": _("A message about the patient was delivered to the receiver"),
    "samhand.message.not_delivered": _("A message about the patient could not be delivered"),
    "samhand.message.resent": _("Sent a message about the patient again as a new message"),
    "samhand.message.read": _("Read the messages about the patient"),
    "samhand.message.search": _("Looked up the messages about the patient"),
    "samhand.message.inspected": _("Inspected a message about the patient in the operator queue"),
    "samhand.message.corrected": _("Corrected a message about the patient that was not "
                                   "delivered, and sent it as a new message"),
    # end samhand.messaging
    # The audit log itself
    "samhand.access_log.read": _("Looked at the access log"),
    "samhand.audit.read": _("Looked at an entry in the access log"),
    "samhand.audit.search": _("Looked through the access log"),
    "samhand.audit.exported": _("Exported the access log"),
    "samhand.review.resolved": _("Reviewed an emergency access to the record"),
    # Observations and early warning (samhand/observations)
    "samhand.observation.read": _("Looked at observations and NEWS2"),
    "samhand.observation.list": _("Saw the patient's observations in a list"),
    "samhand.observation.recorded": _("Recorded observations"),
    "samhand.observation.draft_saved": _("Saved unfinished observations"),
    "samhand.observation.entered_in_error": _("Marked observations as entered in error"),
    "samhand.observation.self_reported": _("Reported that the patient is worse"),
    "samhand.observation.scale_ordered": _("Ordered SpO2 scale 2 for NEWS2"),
    "samhand.observation.scale_ended": _("Ended SpO2 scale 2 for NEWS2"),
    "samhand.observation.rules_changed": _("Changed the patient's escalation rules"),
    "samhand.observation.escalated": _("Escalated an unacknowledged alert to the next level"),
    "samhand.isbar.read": _("Looked at an ISBAR summary"),
    "samhand.isbar.created": _("Wrote an ISBAR summary"),
    "samhand.isbar.updated": _("Changed an ISBAR summary"),
    # Observations, issue 5 features (ISBAR sent, normalised alerts, schedules, rules)
    "samhand.isbar.sent": _("Sent an ISBAR summary as a message"),
    "samhand.observation.alert_normalised": _("Closed an alert because the values normalised"),
    "samhand.observation.schedule_started": _("Started closer observation after a raised NEWS2"),
    "samhand.observation.schedule_ended": _("Ended closer observation after normal NEWS2"),
    "samhand.observation.rules_seeded": _("Set the escalation rules from the pathway's defaults"),
    # Plans and documents (samhand.plans, issue 4)
    "samhand.plans.read": _("Looked at the plans"),
    "samhand.individual_plan.read": _("Looked at the individual plan"),
    "samhand.individual_plan.change": _("Opened the individual plan to change it"),
    "samhand.individual_plan.started": _("Started the individual plan"),
    "samhand.individual_plan.revised": _("Made a new version of the individual plan"),
    "samhand.individual_plan.compared": _("Compared versions of the individual plan"),
    "samhand.treatment_plan.read": _("Looked at the treatment plan"),
    "samhand.treatment_plan.change": _("Opened the treatment plan to change it"),
    "samhand.treatment_plan.revised": _("Made a new version of the treatment plan"),
    "samhand.treatment_plan.signed": _("Signed the treatment plan"),
    "samhand.action_plan.read": _("Looked at the action plan for acute events"),
    "samhand.action_plan.change": _("Opened the action plan to change it"),
    "samhand.action_plan.revised": _("Made a new version of the action plan"),
    "samhand.action_plan.approved": _("Approved the action plan"),
    "samhand.meeting.read": _("Looked at a collaboration meeting"),
    "samhand.meeting.change": _("Opened a collaboration meeting to change it"),
    "samhand.meeting.called": _("Called a collaboration meeting"),
    "samhand.meeting.changed": _("Changed the participants of a collaboration meeting"),
    "samhand.meeting.minute_added": _("Wrote in the minutes of a collaboration meeting"),
    "samhand.meeting.agreement_changed": _("Changed the collaboration agreement"),
    "samhand.meeting.signed": _("Signed the collaboration agreement"),
    "samhand.meeting.completed": _("Completed the collaboration agreement: minutes stored "
                                   "and sent to the municipality"),
    "samhand.binder.read": _("Looked at the status of the patient binder"),
    "samhand.binder.change": _("Asked for a new patient binder"),
    "samhand.binder.generated": _("Made a new version of the patient binder"),
    "samhand.binder.downloaded": _("Downloaded the patient binder"),
    "samhand.document.generated": _("Made a document about the patient"),
    "samhand.document.downloaded": _("Downloaded a document about the patient"),
    "samhand.document.read": _("Looked at a document about the patient"),
    "samhand.document.search": _("Looked up the patient's documents"),
    "samhand.careplan.read": _("Looked at a plan"),
    "samhand.careplan.search": _("Looked up the patient's plans"),
    # Alerts and pathways (samhand.alerts, samhand.pathways)
    "samhand.alert.raised": _("Raised an alert about the patient"),
    "samhand.alert.acknowledged": _("Acknowledged an alert about the patient"),
    "samhand.alert.closed": _("Closed an alert about the patient"),
    "samhand.alert.list": _("Saw an alert about the patient on a worklist"),
    "samhand.pathway.read": _("Looked at the care pathway"),
    "samhand.pathway.list": _("Saw the patient on a pathway worklist"),
    "samhand.pathway.started": _("Started a care pathway"),
    "samhand.pathway.event": _("Recorded an event on the care pathway"),
    "samhand.pathway.migrated": _("Moved the care pathway to a new template version"),
    "samhand.pathway.gate_judged": _("Recorded a clinical judgement on the discharge gate"),
    "samhand.pathway.gate_override": _("Recorded discharge with an unmet discharge gate"),
    "samhand.task.created": _("Created a task"),
    "samhand.task.completed": _("Completed a task"),
    "samhand.task.commented": _("Commented on a task"),
    "samhand.task.reassigned": _("Reassigned a task"),
    "samhand.task.status": _("Changed the status of a task"),
    "samhand.task.overdue": _("A task became overdue"),
    "samhand.task.paused": _("Paused the home-service tasks"),
    "samhand.task.resumed": _("Resumed the home-service tasks"),
    "samhand.task.list": _("Saw the patient's tasks on a worklist"),
    # Bulk and system work
    "samhand.demo.loaded": _("Loaded demonstration data"),
    "samhand.generate.patients": _("Generated synthetic patients"),
}

# When a code has no sentence yet: a plain one from the FHIR action letter.
FALLBACK_BY_ACTION: dict[str, Promise] = {
    "C": _("Added information"),
    "R": _("Looked at information"),
    "U": _("Changed information"),
    "D": _("Removed information"),
    "E": _("Used the record"),
}


def sentence_for(code: str, action: str = "R") -> str:
    """The translated sentence for an audit code (in the active language)."""
    sentence = ACTION_SENTENCES.get(code) or FALLBACK_BY_ACTION.get(action) \
        or FALLBACK_BY_ACTION["R"]
    return str(sentence)
