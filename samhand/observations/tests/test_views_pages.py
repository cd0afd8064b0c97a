"""The observation pages: form, draft, result, trends, ISBAR, scale order, unit alerts."""

import datetime as dt

import pytest
from django.utils import timezone

from samhand.alerts.models import Alert
from samhand.observations.models import IsbarReport, ObservationSet, Spo2ScaleOrder

FORM = {"respiration_rate": "26", "spo2": "91", "on_oxygen": "yes", "systolic_bp": "120",
        "pulse": "70", "consciousness": "a", "temperature": "37,0", "action": "finish"}


@pytest.fixture
def nurse(client, world):
    return world.login(client, world.home_nurse_a)


def url(world, tail=""):
    return f"/patients/{world.patient_a.pk}/observations/{tail}"


def test_the_overview_lists_forms_and_latest_sets(nurse, world, audit):
    watch = audit()
    response = nurse.get(url(world))
    assert response.status_code == 200
    assert "Vital signs (NEWS2)" in response.content.decode() or \
        "Vitale parametere" in response.content.decode()
    assert watch.rows(code="samhand.observation.read", patient_id=world.patient_a.pk)


def test_finishing_the_form_shows_the_total_subscores_and_response(nurse, world):
    response = nurse.post(url(world, "new/vital_signs/"), FORM)
    assert response.status_code == 302
    obs = ObservationSet.objects.get()
    assert obs.news2_total == 8 and obs.status == "final"
    page = nurse.get(response["Location"]).content.decode()
    assert 'class="news2__total"' in page and ">8<" in page
    assert "score-3" in page
    assert Alert.objects.filter(patient=world.patient_a, organisation=world.hn_a).exists()


def test_an_impossible_value_is_shown_next_to_the_field_and_nothing_is_stored(nurse, world):
    response = nurse.post(url(world, "new/vital_signs/"), {**FORM, "temperature": "3.7"})
    assert response.status_code == 422
    assert "37.0" in response.content.decode()
    assert 'value="3.7"' in response.content.decode()
    assert not ObservationSet.objects.exists()


def test_an_unusual_value_asks_for_confirmation_then_is_stored(nurse, world):
    response = nurse.post(url(world, "new/vital_signs/"), {**FORM, "pulse": "230"})
    assert response.status_code == 422
    assert 'name="confirm" value="pulse"' in response.content.decode()
    response = nurse.post(url(world, "new/vital_signs/"),
                          {**FORM, "pulse": "230", "confirm": "pulse"})
    assert response.status_code == 302


def test_a_draft_is_saved_and_finished_later(nurse, world):
    response = nurse.post(url(world, "new/vital_signs/"), {"pulse": "88", "action": "draft"})
    assert response.status_code == 302
    draft = ObservationSet.objects.get()
    assert draft.status == "draft"
    page = nurse.get(url(world, f"{draft.pk}/edit/")).content.decode()
    assert 'value="88"' in page
    response = nurse.post(url(world, f"{draft.pk}/edit/"), FORM)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "final"


def test_the_trend_page_has_charts_and_a_table(nurse, world):
    nurse.post(url(world, "new/vital_signs/"), FORM)
    response = nurse.get(url(world, "trends/?days=7"))
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<svg class="chart"') == 6
    assert "<table" in page and '<td class="num">26</td>' in page


def test_isbar_is_prefilled_edited_and_stored_on_the_patient(nurse, world, audit):
    nurse.post(url(world, "new/vital_signs/"), FORM)
    alert = Alert.objects.get()
    page = nurse.get(url(world, f"isbar/?alert={alert.pk}")).content.decode()
    assert "Identifisering" in page and "Aktuell vurdering" in page and "Råd" in page
    assert "NEWS2 8" in page
    watch = audit()
    response = nurse.post(url(world, "isbar/"), {
        "alert": str(alert.pk), "identify": "Hanne, hjemmesykepleien", "situation": "NEWS2 8",
        "background": "ALS", "assessment": "Takypné", "recommendation": "Lege nå"})
    assert response.status_code == 302
    report = IsbarReport.objects.get()
    assert report.alert_id == alert.pk and report.recommendation == "Lege nå"
    assert watch.rows(code="samhand.isbar.created")


def test_a_doctor_orders_scale_2_and_a_nurse_cannot(client, world):
    world.login(client, world.home_nurse_a)
    client.post(url(world, "scale/"), {"scale": "2", "reason": "Hyperkapni, mål 88-92"})
    assert not Spo2ScaleOrder.objects.exists()
    world.login(client, world.consultant)
    client.post(url(world, "scale/"), {"scale": "2", "reason": "Hyperkapni, mål 88-92"})
    assert Spo2ScaleOrder.objects.get().ordered_by == world.consultant


def test_the_unit_alerts_page_shows_only_the_units_alerts_and_acknowledges(client, world,
                                                                          audit):
    Alert.objects.create(patient=world.patient_a, organisation=world.hn_a, kind="x",
                         text="Fjordby-varsel", episode_key="observations:a",
                         due_at=timezone.now() + dt.timedelta(minutes=15))
    Alert.objects.create(patient=world.patient_b, organisation=world.hn_b, kind="x",
                         text="Nesvik-varsel", episode_key="observations:b")
    world.login(client, world.home_nurse_a)
    page = client.get("/observations/alerts/").content.decode()
    assert "Fjordby-varsel" in page and "Nesvik-varsel" not in page
    alert = Alert.objects.get(text="Fjordby-varsel")
    watch = audit()
    response = client.post(url(world, f"alerts/{alert.pk}/acknowledge/"), {"next": "isbar"})
    assert response.status_code == 302 and f"alert={alert.pk}" in response["Location"]
    alert.refresh_from_db()
    assert alert.acknowledged_by == world.home_nurse_a
    assert watch.rows(code="samhand.alert.acknowledged")


def test_a_relative_reports_worse_and_the_unit_gets_an_alert(client, world, audit):
    world.login(client, world.relative_a)
    page = client.get(f"/patients/{world.patient_a.pk}/report-worse/").content.decode()
    assert "400 00 001" in page
    watch = audit()
    response = client.post(f"/patients/{world.patient_a.pk}/report-worse/",
                           {"symptoms": ["breathless", "fever"], "text": "Verre i natt"})
    assert response.status_code == 200
    assert "Hjemmesykepleien Fjordby sentrum" in response.content.decode()
    alert = Alert.objects.get()
    assert alert.organisation == world.hn_a and alert.severity == "urgent"
    assert alert.due_at is not None
    assert watch.rows(code="samhand.observation.self_reported")
    assert ObservationSet.objects.get().source == "self_report"


def test_a_relative_without_a_delegation_gets_404(client, world):
    world.login(client, world.relative_a)
    response = client.get(f"/patients/{world.patient_b.pk}/report-worse/")
    assert response.status_code == 404


def test_the_hospital_sees_municipal_observations_only_with_consent(client, world):
    from samhand.patients.models import Consent

    world.login(client, world.home_nurse_b)
    client.post(f"/patients/{world.patient_b.pk}/observations/new/vital_signs/", FORM)
    obs = ObservationSet.objects.get(patient=world.patient_b)
    world.login(client, world.ltmv_nurse)
    base = f"/patients/{world.patient_b.pk}/observations/"
    assert client.get(f"{base}{obs.pk}/").status_code == 404  # patient_b: no consent
    assert "<td class=\"num\">26</td>" not in client.get(f"{base}trends/").content.decode()
    Consent.objects.create(patient=world.patient_b, scope=Consent.Scope.SHARE_HEALTH_INFO,
                           status=Consent.Status.GIVEN, recorded_by=world.home_nurse_b,
                           recorded_by_organisation=world.hn_b)
    assert client.get(f"{base}{obs.pk}/").status_code == 200
    assert "<td class=\"num\">26</td>" in client.get(f"{base}trends/").content.decode()


def test_a_doctor_sets_the_rules_and_a_nurse_can_only_read_them(client, world, audit):
    from samhand.observations.models import EscalationSettings

    world.login(client, world.home_nurse_a)
    assert client.get(url(world, "rules/")).status_code == 200
    response = client.post(url(world, "rules/"), {"news2_threshold": "3", "trend_window": "3",
                                                  "trend_rise": "2"})
    assert response.status_code == 403 and not EscalationSettings.objects.exists()
    world.login(client, world.consultant)
    response = client.post(url(world, "rules/"), {"news2_threshold": "25", "trend_window": "3",
                                                  "trend_rise": "2"})
    assert response.status_code == 422
    watch = audit()
    response = client.post(url(world, "rules/"), {
        "news2_threshold": "3", "trend_window": "4", "trend_rise": "2",
        "vitals_every_hours": "12", "alert_on_red_parameter": "on"})
    assert response.status_code == 302
    rules = EscalationSettings.objects.get(patient=world.patient_a)
    assert (rules.news2_threshold, rules.trend_window, rules.vitals_every_hours) == (3, 4, 12)
    assert rules.alert_on_red_parameter and not rules.alert_on_checklist
    assert rules.updated_by == world.consultant
    assert watch.rows(code="samhand.observation.rules_changed")
