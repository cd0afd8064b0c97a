"""Observations on the patient's timeline: sets with NEWS2, finished checklists, ISBARs
written and sent, alerts acknowledged — filterable, and only for those who may see them."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from samhand.access.policy import grant_for
from samhand.alerts.models import Alert
from samhand.alerts.services import acknowledge
from samhand.observations import services, timeline
from samhand.observations.models import IsbarReport, IsbarSending, ObservationSet

from .conftest import VITALS_HIGH, VITALS_NORMAL

CHECKLIST = {k: "unchanged" for k in ("appetite", "mobility", "breathless_rest",
                                      "breathless_effort", "cough_sputum", "sleep",
                                      "swelling", "mood_anxiety", "weight_change",
                                      "relatives_impression")}


def _fill(world, as_user):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    earlier = timezone.now() - dt.timedelta(hours=2)
    services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                              answers=VITALS_NORMAL, final=True, taken_at=earlier)
    services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                              answers=VITALS_HIGH, final=True)
    services.save_observation(actor, world.patient_a, grant, form_key="change_checklist",
                              answers={**CHECKLIST, "confusion": "worse",
                                       "medication": "as_prescribed"}, final=True)
    services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                              answers={"pulse": 80}, final=False)  # a draft: not shown
    alert = Alert.objects.get(episode_key="observations:news2:high")
    acknowledge(alert, world.home_nurse_a, note="Ringer legevakten", actor=actor)
    report = IsbarReport.objects.create(
        patient=world.patient_a, identify="I", situation="NEWS2 8 (høy)", background="B",
        assessment="A", recommendation="R", created_by=world.home_nurse_a,
        organisation=world.hn_a)
    IsbarSending.objects.create(report=report, receiver_name="Fjordby legesenter",
                                receiver_partner_id=world.gp_office.pk, event="plo-isbar",
                                header_id="h1", sent_by=world.home_nurse_a,
                                organisation=world.hn_a)
    return report


def test_sets_checklists_isbars_and_acknowledgements_are_on_the_timeline(world, as_user,
                                                                         client):
    _fill(world, as_user)
    world.login(client, world.home_nurse_a)
    page = client.get(f"/patients/{world.patient_a.pk}/timeline/").content.decode()
    assert "NEWS2 8 (høy)" in page and "NEWS2 0 (lav)" in page
    assert "Sjekkliste fullført" in page
    assert "ISBAR skrevet" in page and "ISBAR sendt til Fjordby legesenter" in page
    assert "Varsel kvittert" in page and "Ringer legevakten" in page
    kinds = [i["kind"] for i in timeline.items(world.patient_a,
                                               grant_for(world.home_nurse_a, world.patient_a))]
    assert sorted(set(kinds)) == ["alert", "checklist", "isbar", "observation"]
    assert kinds.count("observation") == 2  # the draft is left out


def test_the_timeline_filters_to_one_kind(world, as_user, client):
    _fill(world, as_user)
    world.login(client, world.home_nurse_a)
    page = client.get(f"/patients/{world.patient_a.pk}/timeline/?kind=isbar").content.decode()
    assert "ISBAR skrevet" in page
    listed = page.split("<ol", 1)[1]
    assert "Sjekkliste fullført" not in listed and "Varsel kvittert" not in listed
    assert "Vitale parametere" not in listed


def test_a_set_entered_in_error_leaves_the_timeline(world, as_user):
    _fill(world, as_user)
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    high = ObservationSet.objects.get(news2_total=8)
    services.mark_entered_in_error(actor, world.patient_a, grant, high)
    titles = [i["title"] for i in timeline.items(world.patient_a, grant)
              if i["kind"] == "observation"]
    assert len(titles) == 1 and "NEWS2 0" in titles[0]


def test_a_foreign_user_sees_none_of_it(world, as_user, client, audit):
    _fill(world, as_user)
    watch = audit()
    world.login(client, world.home_nurse_b)
    response = client.get(f"/patients/{world.patient_a.pk}/timeline/")
    assert response.status_code == 404
    assert "NEWS2" not in response.content.decode()
    assert watch.rows(outcome="4", patient_id=world.patient_a.pk)  # the refusal is audited


def test_the_other_sector_sees_none_without_consent(world, as_user):
    """Patient B has no consent to share health information: the hospital consultant on
    the care team does not see what Nesvik's home nursing recorded or wrote."""
    actor, grant = as_user(world.home_nurse_b, world.patient_b)
    services.save_observation(actor, world.patient_b, grant, form_key="vital_signs",
                              answers=VITALS_HIGH, final=True)
    IsbarReport.objects.create(patient=world.patient_b, identify="I", situation="S",
                               background="B", assessment="A", recommendation="R",
                               created_by=world.home_nurse_b, organisation=world.hn_b)
    consultant = grant_for(world.consultant, world.patient_b)
    kinds = {i["kind"] for i in timeline.items(world.patient_b, consultant)}
    assert not kinds & {"observation", "isbar"}
    own = {i["kind"] for i in timeline.items(world.patient_b, grant)}
    assert {"observation", "isbar"} <= own


def test_a_relatives_delegation_sees_none(world, as_user):
    _fill(world, as_user)
    relative = grant_for(world.relative_a, world.patient_a)
    assert relative is not None and relative.basis == "delegation"
    assert timeline.items(world.patient_a, relative) == []
