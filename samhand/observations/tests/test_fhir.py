"""FHIR: Observation (vital signs with LOINC, NEWS2 on its own), QuestionnaireResponse and
Flag, validated against R4B, through the access layer."""

import pytest
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from samhand.alerts.models import Alert
from samhand.observations import services

from .conftest import VITALS_HIGH


@pytest.fixture
def recorded(world, as_user):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    return services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                     answers=VITALS_HIGH, final=True)


def test_vital_signs_read_as_observations_with_loinc(world, token_client, recorded, audit):
    client = token_client(world.home_nurse_a)
    body = client.get(f"/fhir/Observation/{recorded.pk}.hr").json()
    Observation.model_validate(body)
    assert body["code"]["coding"][0] == {"system": "http://loinc.org", "code": "8867-4",
                                         "display": "Heart rate"}
    assert body["valueQuantity"]["value"] == 70
    news = client.get(f"/fhir/Observation/{recorded.pk}.news2").json()
    Observation.model_validate(news)
    assert news["valueInteger"] == 8
    assert len(news["component"]) == 7


def test_the_search_needs_a_patient_and_lists_only_mine(world, token_client, recorded):
    client = token_client(world.home_nurse_a)
    bundle = client.get(f"/fhir/Observation?patient=Patient/{world.patient_a.pk}"
                        "&code=http://loinc.org|9279-1").json()
    assert bundle["total"] == 1
    mine = client.get("/fhir/Observation?code=http://loinc.org|9279-1").json()
    assert mine["total"] == 1  # without a patient: my patients, my sector's records
    # Municipal records reach the hospital through the patient's consent (patient_a has
    # given it), with or without the patient named; withdrawn, neither way.
    hospital = token_client(world.ltmv_nurse)
    named = hospital.get(f"/fhir/Observation?patient=Patient/{world.patient_a.pk}").json()
    assert hospital.get("/fhir/Observation").json()["total"] == named["total"] > 0
    from django.utils import timezone

    from samhand.patients.models import Consent

    Consent.objects.create(patient=world.patient_a, scope=Consent.Scope.SHARE_HEALTH_INFO,
                           status=Consent.Status.WITHDRAWN, recorded_by=world.home_nurse_a,
                           recorded_by_organisation=world.hn_a, recorded_at=timezone.now())
    assert hospital.get("/fhir/Observation").json()["total"] == 0
    assert hospital.get(f"/fhir/Observation?patient=Patient/{world.patient_a.pk}"
                        ).json()["total"] == 0
    other = token_client(world.home_nurse_b).get(
        f"/fhir/Observation?patient=Patient/{world.patient_a.pk}").json()
    assert other["total"] == 0
    assert token_client(world.home_nurse_b).get(
        f"/fhir/Observation/{recorded.pk}.hr").status_code == 404


def test_a_set_reads_as_a_questionnaire_response(world, token_client, recorded):
    body = token_client(world.home_nurse_a).get(
        f"/fhir/QuestionnaireResponse/{recorded.pk}").json()
    QuestionnaireResponse.model_validate(body)
    assert body["questionnaire"].endswith("/vital_signs|1")
    assert body["status"] == "completed"
    consciousness = next(i for i in body["item"] if i["linkId"] == "consciousness")
    assert consciousness["answer"][0]["valueCoding"]["code"] == "a"


def test_an_alert_reads_as_a_flag(world, token_client, recorded):
    alert = Alert.objects.get()
    body = token_client(world.home_nurse_a).get(f"/fhir/Flag/{alert.pk}").json()
    Flag.model_validate(body)
    assert body["status"] == "active"
    bundle = token_client(world.home_nurse_a).get(
        f"/fhir/Flag?patient=Patient/{world.patient_a.pk}").json()
    assert bundle["total"] == 1


def test_the_forms_read_as_questionnaires(world, token_client):
    from fhir.resources.R4B.questionnaire import Questionnaire

    client = token_client(world.home_nurse_b)
    body = client.get("/fhir/Questionnaire/vital-signs.1").json()
    Questionnaire.model_validate(body)
    assert body["url"].endswith("/vital_signs") and body["version"] == "1"
    bundle = client.get("/fhir/Questionnaire?name=esas").json()
    assert bundle["total"] == 1
    assert client.get("/fhir/Questionnaire/nope.1").status_code == 404
