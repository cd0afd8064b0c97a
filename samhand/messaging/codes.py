"""Code systems, profiles and codes of MedCom messaging and samhand's Norwegian flows.

Sources: ../shared/standards.md §A (MedCom FHIR messaging, HospitalNotification,
CareCommunication, Acknowledgement, terminology) and §B (Norwegian PLO messages).
Plain constants, no Django.
"""

from __future__ import annotations

from enum import StrEnum

# --------------------------------------------------------------------------- systems

MEDCOM_TERMINOLOGY = "http://medcomfhir.dk/ig/terminology/CodeSystem/"
EVENT_SYSTEM = MEDCOM_TERMINOLOGY + "medcom-messaging-eventCodes"
ACTIVITY_SYSTEM = MEDCOM_TERMINOLOGY + "medcom-messaging-activityCodes"
DESTINATION_USE_SYSTEM = MEDCOM_TERMINOLOGY + "medcom-messaging-destinationUse"
CATEGORY_SYSTEM = MEDCOM_TERMINOLOGY + "medcom-careCommunication-categoryCodes"
ACK_ERROR_SYSTEM = MEDCOM_TERMINOLOGY + "medcom-acknowledgement-error-codes"
FHIR_OPERATION_OUTCOME_SYSTEM = "http://terminology.hl7.org/CodeSystem/operation-outcome"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# samhand's own event codes for the Norwegian flows (local, not registered).
SAMHAND_EVENT_SYSTEM = "urn:samhand:codesystem:message-event"
SAMHAND_ACTIVITY_SYSTEM = "urn:samhand:codesystem:message-activity"

DESTINATION_USE_URL = ("http://medcomfhir.dk/ig/messaging/StructureDefinition/"
                       "medcom-messaging-destinationUseExtension")
REPORT_OF_ADMISSION_URL = ("http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"
                           "medcom-messaging-reportOfAdmissionExtension")
REPORT_OF_ADMISSION_RECIPIENT_URL = (
    "http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"
    "medcom-messaging-reportOfAdmissionRecipientExtension")
LEAVE_PERIOD_URL = ("http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"
                    "medcom-hospitalnotifiation-leave-period-extension")  # sic: "notifiation"
CORE_EXT = "http://medcomfhir.dk/ig/core/StructureDefinition/"
SEGMENT_DATETIME_URL = CORE_EXT + "medcom-core-datetime-extension"
SEGMENT_IDENTIFIER_URL = CORE_EXT + "medcom-core-identifier-extension"
SEGMENT_AUTHOR_URL = CORE_EXT + "medcom-core-practitioner-extension"
SEGMENT_CONTACT_URL = CORE_EXT + "medcom-core-contact-extension"
SENDER_EXT_URL = CORE_EXT + "medcom-core-sender-extension"
CARE_COMMUNICATION_DEFINITION = ("http://medcomfhir.dk/ig/messagedefinitions/MessageDefinition/"
                                 "MedComCareCommunicationMessageDefinition|5.0")

# Identifier systems (standards.md §C).
SOR = "urn:oid:1.2.208.176.1.1"
GLN = "https://www.gs1.org/gln"
HER_ID = "urn:oid:2.16.578.1.12.4.1.2"
CPR = "urn:oid:1.2.208.176.1.2"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
HNR = "urn:oid:2.16.578.1.12.4.1.4.3"
REPLACEMENT_CPR_PREFIX = "urn:oid:1.2.208.176.1.6.1."
LPR3 = "https://www.esundhed.dk/Registre/Landspatientregisteret"
SOR_URL_PREFIX = "https://sor2.sum.dsdn.dk/#id="

PROFILE_BASE = "http://medcomfhir.dk/ig/"
PROFILES = {
    "hospital-notification-message": PROFILE_BASE + "hospitalnotification/StructureDefinition/"
    "medcom-hospitalNotification-message",
    "care-communication-message": PROFILE_BASE + "carecommunication/StructureDefinition/"
    "medcom-careCommunication-message",
    "acknowledgement-message": PROFILE_BASE + "acknowledgement/StructureDefinition/"
    "medcom-messaging-acknowledgement",
}
MESSAGING_MESSAGE_PROFILE = (PROFILE_BASE + "messaging/StructureDefinition/"
                             "medcom-messaging-message")


class Event(StrEnum):
    """MessageHeader.eventCoding: MedCom's codes and samhand's Norwegian flows."""

    EMPTY = "empty-message"
    CARE_COMMUNICATION = "care-communication-message"
    HOSPITAL_NOTIFICATION = "hospital-notification-message"
    ACKNOWLEDGEMENT = "acknowledgement-message"
    HOMECARE_OBSERVATION = "homecareobservation-message"
    # Norwegian PLO flows (standards.md §B), samhand event codes.
    PLO_ADMISSION_NOTICE = "plo-admission-notice"  # melding om innlagt pasient
    PLO_ADMISSION_REPORT = "plo-admission-report"  # innleggelsesrapport
    PLO_HEALTH_INFO_APPLICATION = "plo-health-info-application"  # helseopplysninger + søknad
    PLO_DISCHARGE_READY = "plo-discharge-ready"  # melding om utskrivningsklar pasient
    PLO_DISCHARGE_READY_WITHDRAWN = "plo-discharge-ready-withdrawn"  # avmelding
    PLO_MUNICIPAL_DECISION = "plo-municipal-decision"  # svar og vedtak, med dato
    PLO_DISCHARGE_REPORT = "plo-discharge-report"  # utskrivningsrapport
    PLO_MEDICAL_INFO = "plo-medical-info"  # medisinske opplysninger
    PLO_HEALTH_INFO_TO_GP = "plo-health-info-to-gp"  # helseopplysninger til lege
    PLO_MEDICATION_INFO = "plo-medication-info"  # legemiddelopplysninger
    PLO_SERVICE_INFO = "plo-service-info"  # orientering om tjenestetilbud
    PLO_REQUEST = "plo-request"  # forespørsel
    PLO_ANSWER = "plo-answer"  # svar på forespørsel
    PLO_DEVIATION = "plo-deviation"  # avviksmelding
    PLO_MEETING_MINUTES = "plo-meeting-minutes"  # referat / avtale fra samarbeidsmøte
    PLO_ISBAR = "plo-isbar"  # ISBAR-oppsummering


MEDCOM_EVENTS = frozenset({Event.EMPTY, Event.CARE_COMMUNICATION, Event.HOSPITAL_NOTIFICATION,
                           Event.ACKNOWLEDGEMENT, Event.HOMECARE_OBSERVATION})
PLO_EVENTS = frozenset(e for e in Event if e.value.startswith("plo-"))
# The events samhand receives and acts on (others are answered "unable to receive").
RECEIVABLE_EVENTS = frozenset({Event.CARE_COMMUNICATION, Event.HOSPITAL_NOTIFICATION,
                               Event.ACKNOWLEDGEMENT, *PLO_EVENTS})


def event_system(event: str) -> str:
    return SAMHAND_EVENT_SYSTEM if event in PLO_EVENTS else EVENT_SYSTEM


# --------------------------------------------------------------------------- activities

class Activity(StrEnum):
    NEW = "new-message"
    FORWARD = "forward-message"
    REPLY = "reply-message"
    RETRACT = "retract-message"
    MODIFIED = "modified-message"
    CARBON_COPY = "carboncopy-message"
    ACKNOWLEDGEMENT = "acknowledgement"
    ADMIT_EMERGENCY = "admit-emergency"
    REVISE_ADMIT_EMERGENCY = "revise-admit-emergency"
    CANCEL_ADMIT_EMERGENCY = "cancel-admit-emergency"
    ADMIT_INPATIENT = "admit-inpatient"
    REVISE_ADMIT_INPATIENT = "revise-admit-inpatient"
    CANCEL_ADMIT_INPATIENT = "cancel-admit-inpatient"
    START_LEAVE = "start-leave-inpatient"
    REVISE_START_LEAVE = "revise-start-leave-inpatient"
    CANCEL_START_LEAVE = "cancel-start-leave-inpatient"
    END_LEAVE = "end-leave-inpatient"
    REVISE_END_LEAVE = "revise-end-leave-inpatient"
    CANCEL_END_LEAVE = "cancel-end-leave-inpatient"
    DISCHARGE_EMERGENCY = "discharge-emergency-home"
    REVISE_DISCHARGE_EMERGENCY = "revise-discharge-emergency-home"
    CANCEL_DISCHARGE_EMERGENCY = "cancel-discharge-emergency-home"
    DISCHARGE_INPATIENT = "discharge-inpatient-home"
    REVISE_DISCHARGE_INPATIENT = "revise-discharge-inpatient-home"
    CANCEL_DISCHARGE_INPATIENT = "cancel-discharge-inpatient-home"


HOSPITAL_NOTIFICATION_ACTIVITIES = frozenset(
    a for a in Activity if a not in (Activity.NEW, Activity.FORWARD, Activity.REPLY,
                                     Activity.RETRACT, Activity.MODIFIED,
                                     Activity.CARBON_COPY, Activity.ACKNOWLEDGEMENT))
CARE_COMMUNICATION_ACTIVITIES = frozenset({Activity.NEW, Activity.REPLY, Activity.FORWARD})

# --------------------------------------------------------------------------- CareCommunication

# The 18 categories (medcom-careCommunication-categoryCodes), with the Danish display.
CATEGORIES: dict[str, str] = {
    "activity": "Aktivitet",
    "assistive-devices": "Hjælpemidler",
    "discharge": "Udskrivning",
    "examination-results": "Undersøgelsesresultater",
    "medication": "Medicin",
    "patient-info": "Patientoplysninger",
    "nursing": "Pleje",
    "appointment": "Aftale",
    "pre-admission": "Forundersøgelse",
    "rehabilitation": "Genoptræning",
    "treatment": "Behandling",
    "decease": "Dødsfald",
    "regarding-referral": "Vedr. henvisning",
    "telemedicine": "Telemedicin",
    "training": "Træning",
    "acute-ambulant": "Akut ambulant",
    "extended-care-responsibility": "Udvidet behandlingsansvar",
    "other": "Andet",
}
PRIORITIES = ("routine", "asap")

# --------------------------------------------------------------------------- acknowledgement

class AckCode(StrEnum):
    OK = "ok"
    TRANSIENT_ERROR = "transient-error"
    FATAL_ERROR = "fatal-error"


# Issue detail codes (ValueSet medcom-acknowledgement-issue-details): FHIR operation-outcome
# codes and MedCom's own (spellings as published).
FHIR_ISSUE_CODES = frozenset({"MSG_BAD_FORMAT", "MSG_BAD_SYNTAX", "MSG_DUPLICATE_ID",
                              "MSG_RESOURCE_REQUIRED", "MSG_UNKNOWN_TYPE", "MSG_UNKNOWN_CONTENT",
                              "MSG_CANT_PARSE_CONTENT", "MSG_ID_INVALID",
                              "MSG_RESOURCE_ID_MISSING", "MSG_AUTH_REQUIRED"})
MEDCOM_ISSUE_CODES = frozenset({
    "MSG_Receiver_Identifier_UNKNOWN", "MSG_Receiver_Identifier_MISSING",
    "MSG_RECEIVER_UNABLE_TO_RECEIVE_MSG_TYPE", "MSG_VALUESET_VALUE_UNKNOWN",
    "MSG_CodeSystem_VALUE_UNKNOWN", "MSG_Element_To_Long", "MSG_Datatype_Wrong",
    "MSG_Mailbox_Out_Of_Operation", "MSG_Damaged_durin_transport",
})


def issue_system(code: str) -> str:
    return FHIR_OPERATION_OUTCOME_SYSTEM if code in FHIR_ISSUE_CODES else ACK_ERROR_SYSTEM
