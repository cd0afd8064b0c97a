"""Parsing, checking and building message Bundles (no database)."""

from __future__ import annotations

import copy
import json

import pytest
from fhir.resources.R4B.bundle import Bundle as FhirBundle

from samhand.messaging import bundle as fhirmsg
from samhand.messaging import codes
from samhand.messaging.bundle import Party, Problem, Unreadable
from samhand.messaging.tests.helpers import all_fixtures, load, raw

INVALID = {"HospitalNotification_Ex_TEK_FCC.json",
           "Bundle-R-Tek-M-dublicate-inv-260a3cc1-38eb-454a-a57b-9e32eabb54a3.json"}

HOSPITAL = Party(name="Hospital", sor="265161000016000", gln="5790000209354",
                 endpoint="https://sor2.sum.dsdn.dk/#id=265161000016000")
MUNICIPALITY = Party(name="Kommune", sor="953741000016009", gln="5790001348120")


@pytest.mark.parametrize("name", all_fixtures())
def test_every_medcom_fixture_is_judged_as_its_readme_says(name):
    problems = fhirmsg.check(fhirmsg.parse(raw(name)))
    if name in INVALID:
        assert problems
    else:
        assert problems == [], problems


def test_the_fcc_fixture_names_the_missing_event_and_encounter_class():
    paths = {p.path for p in fhirmsg.check(fhirmsg.parse(raw(
        "HospitalNotification_Ex_TEK_FCC.json")))}
    assert "Bundle.entry[0].resource.eventCoding" in paths
    assert "Bundle.entry[2].resource.class" in paths


def test_the_invalid_carecommunication_names_the_missing_category_code():
    problems = fhirmsg.check(fhirmsg.parse(raw(
        "Bundle-R-Tek-M-dublicate-inv-260a3cc1-38eb-454a-a57b-9e32eabb54a3.json")))
    assert [(p.path, p.code) for p in problems] == [
        ("Bundle.entry[2].resource.category[0].coding[0].code", "MSG_RESOURCE_REQUIRED")]


def test_malformed_json_and_non_bundles_are_unreadable():
    for data in (b"{not json", b"[]", json.dumps({"resourceType": "Patient"}).encode(),
                 json.dumps({"resourceType": "Bundle", "type": "message",
                             "entry": [{"resource": {"resourceType": "Patient"}}]}).encode()):
        with pytest.raises(Unreadable):
            fhirmsg.parse(data)


def _mutated(name, change):
    data = copy.deepcopy(load(name))
    change(data)
    return fhirmsg.check(fhirmsg.Message(data))


def test_a_second_primary_receiver_is_refused_with_its_path():
    def second(data):
        header = data["entry"][0]["resource"]
        header["destination"].append(copy.deepcopy(header["destination"][0]))
    problems = _mutated("HospitalNotification_Ex_STIN_A.json", second)
    assert ("Bundle.entry[0].resource.destination[1]", "MSG_Receiver_Identifier_UNKNOWN") in [
        (p.path, p.code) for p in problems]


def test_a_missing_primary_receiver_is_refused():
    def none(data):
        data["entry"][0]["resource"]["destination"][0]["extension"][0]["valueCoding"][
            "code"] = "cc"
    codes_ = {p.code for p in _mutated("HospitalNotification_Ex_STIN_A.json", none)}
    assert "MSG_Receiver_Identifier_MISSING" in codes_


def test_an_unknown_event_code_is_refused():
    def unknown(data):
        data["entry"][0]["resource"]["eventCoding"]["code"] = "pizza-order"
    problems = _mutated("HospitalNotification_Ex_STIN_A.json", unknown)
    assert ("Bundle.entry[0].resource.eventCoding.code", "MSG_VALUESET_VALUE_UNKNOWN") in [
        (p.path, p.code) for p in problems]


def test_a_wrong_cpr_is_refused_with_the_identifier_path():
    def wrong(data):
        for entry in data["entry"]:
            if entry["resource"]["resourceType"] == "Patient":
                entry["resource"]["identifier"][0]["value"] = "3213479989"
    problems = _mutated("HospitalNotification_Ex_STIN_A.json", wrong)
    assert [p.code for p in problems if p.path.endswith("identifier[0].value")] == [
        "MSG_Datatype_Wrong"]


def _set_in_resource(kind, key, value):
    def change(data):
        for entry in data["entry"]:
            if entry["resource"]["resourceType"] == kind:
                entry["resource"][key] = value
    return change


def test_a_reference_not_carried_in_the_bundle_is_refused_with_its_path():
    data = load("Bundle-R-Tek-B-82875f08-4b9e-4a23-b81a-e23ec1251334.json")
    index = next(i for i, e in enumerate(data["entry"])
                 if e["resource"]["resourceType"] == "Communication")
    problems = _mutated("Bundle-R-Tek-B-82875f08-4b9e-4a23-b81a-e23ec1251334.json",
                        _set_in_resource("Communication", "subject",
                                         {"reference": "Patient/not-in-the-bundle"}))
    assert [(p.path, p.code) for p in problems] == [
        (f"Bundle.entry[{index}].resource.subject", "MSG_RESOURCE_REQUIRED")]


def test_structural_fhir_errors_name_their_element_every_time():
    """fhir.resources' answer, element by element, is the same on every message (the
    class lookups it repeats for every entry are kept after the first)."""
    name = "HospitalNotification_Ex_STIN_A.json"
    index = next(i for i, e in enumerate(load(name)["entry"])
                 if e["resource"]["resourceType"] == "Patient")

    def broken(data):
        _set_in_resource("Patient", "gender", 5)(data)
        _set_in_resource("Patient", "shoeSize", 44)(data)
    answers = [[(p.path, p.code) for p in _mutated(name, broken)] for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert (f"Bundle.entry[{index}].resource.gender", "MSG_BAD_SYNTAX") in answers[0]
    assert (f"Bundle.entry[{index}].resource.shoeSize", "MSG_BAD_SYNTAX") in answers[0]
    assert _mutated(name, lambda data: None) == []


def test_an_organisation_without_gln_is_refused():
    def no_gln(data):
        for entry in data["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "Organization":
                res["identifier"] = [i for i in res["identifier"] if "gs1" not in i["system"]]
    assert "MSG_Receiver_Identifier_MISSING" in {
        p.code for p in _mutated("HospitalNotification_Ex_STIN_A.json", no_gln)}


def test_an_oversized_attachment_is_refused():
    data = load("Bundle-R-A-new-b10f940e-2000-4ec8-9e0b-a3fb60fc5bb5.json")
    problems = fhirmsg.check(fhirmsg.Message(data), max_attachment_bytes=100)
    assert [p.code for p in problems] == ["MSG_Element_To_Long"]
    assert problems[0].path.endswith("contentAttachment.data")


def test_priority_is_allowed_only_for_referrals_and_topic_needed_for_other():
    def other(data):
        comm = next(e["resource"] for e in data["entry"]
                    if e["resource"]["resourceType"] == "Communication")
        comm["category"][0]["coding"][0]["code"] = "other"
        comm.pop("topic", None)
        comm["priority"] = "asap"
    paths = {p.path for p in _mutated(
        "Bundle-S-C-new-aca3d03a-febd-4b88-ad53-ac1bc36da615.json", other)}
    assert any(p.endswith("topic.text") for p in paths)
    assert any(p.endswith("priority") for p in paths)


def _focus_encounter():
    return {"resourceType": "Encounter", "id": fhirmsg.new_id(), "status": "in-progress",
            "class": {"system": codes.ACT_CODE_SYSTEM, "code": "IMP"},
            "subject": {"reference": "Patient/p1"},
            "episodeOfCare": [{"identifier": {"system": HOSPITAL.address,
                                              "value": fhirmsg.new_id()}}],
            "period": {"start": "2026-11-25T10:00:00+01:00"},
            "serviceProvider": {"reference": "Organization/h1"}}


def test_a_built_hospital_notification_is_valid_fhir_and_passes_the_medcom_rules():
    bundle = fhirmsg.build_message(
        event=codes.Event.HOSPITAL_NOTIFICATION, sender=HOSPITAL, receiver=MUNICIPALITY,
        focus=_focus_encounter(), activity=codes.Activity.ADMIT_INPATIENT, sender_id="h1",
        resources=[{"resourceType": "Patient", "id": "p1",
                    "identifier": [{"system": codes.CPR, "value": "2509479989"}]}])
    FhirBundle.model_validate(bundle)
    message = fhirmsg.Message(bundle)
    assert fhirmsg.check(message) == []
    assert message.current_activity() == "admit-inpatient"


def test_a_resend_has_a_new_bundle_id_and_the_same_header_id():
    bundle = fhirmsg.build_message(event=codes.Event.HOSPITAL_NOTIFICATION, sender=HOSPITAL,
                                   receiver=MUNICIPALITY, focus=_focus_encounter())
    again = fhirmsg.restamp(bundle)
    assert again["id"] != bundle["id"]
    assert again["entry"] == bundle["entry"]


@pytest.mark.parametrize("code", ["ok", "transient-error", "fatal-error"])
def test_acknowledgements_follow_the_profile(code):
    problems = [] if code == "ok" else [Problem("Bundle.entry[0].resource.eventCoding",
                                                 "MSG_RESOURCE_REQUIRED", "missing")]
    ack = fhirmsg.build_ack(code=code, acked_header_id="abc-1", acked_activity="admit-inpatient",
                            original_sender=HOSPITAL, us=MUNICIPALITY, problems=problems)
    FhirBundle.model_validate(ack)
    message = fhirmsg.Message(ack)
    assert fhirmsg.check(message) == []
    assert len(message.provenances()) == 2
    assert fhirmsg.ack_summary(ack) == ("abc-1", code,
                                        [] if code == "ok" else ["MSG_RESOURCE_REQUIRED"])
    assert message.header["destination"][0]["endpoint"] == HOSPITAL.endpoint
