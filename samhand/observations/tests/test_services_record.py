"""save_observation / ingest_batch: drafts, finished sets, NEWS2 stored, refusals whole."""

import datetime as dt

import pytest
from django.utils import timezone

from samhand.lib.errors import Forbidden
from samhand.observations import services
from samhand.observations.models import ObservationSet, Spo2ScaleOrder, VitalSign
from samhand.observations.services import BatchItem, ObservationRejected

from .conftest import VITALS_NORMAL


def test_a_finished_vital_signs_set_stores_news2_and_the_vitals(world, as_user, audit):
    watch = audit()
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    obs = services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                    answers={**VITALS_NORMAL, "pulse": 95}, final=True)
    obs.refresh_from_db()
    assert obs.status == "final"
    assert (obs.news2_total, obs.news2_risk, obs.spo2_scale) == (1, "low", 1)
    assert obs.news2_subscores["pulse"] == 1
    assert obs.organisation == world.hn_a
    codes = dict(VitalSign.objects.filter(observation_set=obs).values_list("code", "value"))
    assert codes["pulse"] == 95 and codes["news2"] == 1 and codes["consciousness"] == 0
    [row] = watch.rows(code="samhand.observation.recorded")
    assert row.patient_id == world.patient_a.pk and row.object_ids == [str(obs.pk)]


def test_a_draft_is_saved_without_the_required_answers_and_finished_later(world, as_user):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    draft = services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                      answers={"pulse": 80}, final=False)
    assert draft.status == "draft" and draft.news2_total is None
    assert "respiration_rate" in draft.news2_missing
    assert not VitalSign.objects.filter(observation_set=draft).exists()
    with pytest.raises(ObservationRejected) as info:
        services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                  answers={"pulse": 80}, final=True, draft=draft)
    assert "respiration_rate" in info.value.problems
    done = services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                     answers=VITALS_NORMAL, final=True, draft=draft)
    assert done.pk == draft.pk and done.status == "final" and done.news2_total == 0


def test_an_impossible_value_is_refused_and_nothing_is_stored(world, as_user, audit):
    watch = audit()
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    with pytest.raises(ObservationRejected) as info:
        services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                  answers={**VITALS_NORMAL, "spo2": 140, "temperature": 3.7},
                                  final=True)
    assert set(info.value.problems) == {"spo2", "temperature"}
    assert "37.0" in info.value.problems["temperature"]
    assert not ObservationSet.objects.exists()
    assert watch.rows(code="samhand.observation.recorded") == []


def test_an_unusual_value_is_stored_once_confirmed(world, as_user):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    answers = {**VITALS_NORMAL, "pulse": 230}
    with pytest.raises(ObservationRejected) as info:
        services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                  answers=answers, final=True, evaluate=False)
    assert info.value.needs_confirmation == ["pulse"]
    obs = services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                    answers=answers, final=True, confirmed=["pulse"],
                                    evaluate=False)
    assert obs.news2_subscores["pulse"] == 3 and obs.confirmed == ["pulse"]


def test_scale_2_applies_only_while_a_doctor_has_ordered_it(world, as_user, audit):
    nurse_actor, nurse_grant = as_user(world.home_nurse_a, world.patient_a)
    with pytest.raises(Forbidden):
        services.order_spo2_scale(nurse_actor, world.patient_a, nurse_grant, scale=2,
                                  reason="Hyperkapnisk respirasjonssvikt")
    watch = audit()
    doc_actor, doc_grant = as_user(world.consultant, world.patient_a)
    order = services.order_spo2_scale(doc_actor, world.patient_a, doc_grant, scale=2,
                                      reason="Hyperkapnisk respirasjonssvikt, mål 88-92 %")
    assert order.ordered_by == world.consultant
    assert watch.rows(code="samhand.observation.scale_ordered")
    answers = {**VITALS_NORMAL, "spo2": 89}
    obs = services.save_observation(nurse_actor, world.patient_a, nurse_grant,
                                    form_key="vital_signs", answers=answers, final=True)
    assert (obs.spo2_scale, obs.news2_subscores["spo2"]) == (2, 0)
    services.order_spo2_scale(doc_actor, world.patient_a, doc_grant, scale=1)
    assert not Spo2ScaleOrder.objects.filter(ended_at__isnull=True).exists()
    obs = services.save_observation(nurse_actor, world.patient_a, nurse_grant,
                                    form_key="vital_signs", answers=answers, final=True,
                                    evaluate=False)
    assert (obs.spo2_scale, obs.news2_subscores["spo2"]) == (1, 3)


def test_a_relative_cannot_record_observations(world, as_user):
    actor, grant = as_user(world.relative_a, world.patient_a)
    with pytest.raises(Forbidden):
        services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                  answers=VITALS_NORMAL, final=True)


def test_a_time_in_the_future_is_refused(world, as_user):
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    with pytest.raises(ObservationRejected):
        services.save_observation(actor, world.patient_a, grant, form_key="vital_signs",
                                  answers=VITALS_NORMAL, final=True,
                                  taken_at=timezone.now() + dt.timedelta(hours=1))


def test_a_batch_is_written_whole_with_one_audit_row_per_patient(world, as_user, audit):
    watch = audit()
    actor, grant = as_user(world.ltmv_nurse, world.patient_a)
    _a, grant_b = as_user(world.ltmv_nurse, world.patient_b)
    base = timezone.now() - dt.timedelta(hours=5)
    items = [BatchItem(world.patient_a, grant, "vital_signs", VITALS_NORMAL,
                       base + dt.timedelta(hours=i)) for i in range(3)]
    items.append(BatchItem(world.patient_b, grant_b, "vital_signs", VITALS_NORMAL, base))
    sets = services.ingest_batch(actor, items)
    assert len(sets) == 4
    assert ObservationSet.objects.filter(news2_total=0).count() == 4
    assert VitalSign.objects.filter(code="news2").count() == 4
    rows = watch.rows(code="samhand.observation.recorded")
    assert sorted(len(r.object_ids) for r in rows) == [1, 3]


def test_one_bad_item_refuses_the_whole_batch_and_names_it(world, as_user):
    actor, grant = as_user(world.ltmv_nurse, world.patient_a)
    items = [BatchItem(world.patient_a, grant, "vital_signs", VITALS_NORMAL),
             BatchItem(world.patient_a, grant, "vital_signs", {**VITALS_NORMAL, "spo2": 140})]
    with pytest.raises(ObservationRejected) as info:
        services.ingest_batch(actor, items)
    assert list(info.value.problems) == ["[1].spo2"]
    assert not ObservationSet.objects.exists()


def test_a_finished_checklist_completes_the_open_14_day_observation_task(world, as_user):
    from samhand.pathways.models import Task

    task = Task.objects.create(patient=world.patient_a, task_key="structured_observation",
                               title="Strukturert observasjon", owner_organisation=world.hn_a,
                               due_at=timezone.now() + dt.timedelta(days=2))
    actor, grant = as_user(world.home_nurse_a, world.patient_a)
    answers = {k: "unchanged" for k in ("appetite", "mobility", "breathless_rest",
                                        "breathless_effort", "cough_sputum", "sleep",
                                        "confusion", "swelling", "mood_anxiety",
                                        "weight_change", "relatives_impression")}
    answers["medication"] = "as_prescribed"
    services.save_observation(actor, world.patient_a, grant, form_key="change_checklist",
                              answers=answers, final=True)
    task.refresh_from_db()
    assert task.status == "done" and task.completed_by == world.home_nurse_a
