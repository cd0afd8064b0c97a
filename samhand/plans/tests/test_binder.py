"""The patient binder PDF: contacts first, every scenario, the version code on every
page; a changed phone number gives a new binder version."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from samhand.audit.services import Actor
from samhand.plans import binder
from samhand.plans.models import Document

from .helpers import actor_and_grant, full_ltmv_patient


def pdf_pages(document: Document) -> list[str]:
    reader = PdfReader(io.BytesIO(bytes(document.pdf)))
    return [page.extract_text() for page in reader.pages]


def test_the_binder_holds_contacts_every_scenario_and_the_code_on_every_page(world, audit):
    patient = full_ltmv_patient(world)
    actor, grant = actor_and_grant(world.ltmv_nurse, patient)
    watch = audit()
    document, created = binder.generate_binder(actor, patient, grant=grant)
    assert created and document.number == 1 and document.kind == "binder"
    pages = pdf_pages(document)
    assert document.pages == len(pages) >= 5
    for number, text in enumerate(pages, start=1):
        assert document.code in text, f"version code missing on page {number}"
    text = "\n".join(pages)
    assert "Astrid Aasen" in pages[0]
    # Contacts and 24-hour numbers come first (page 2), with 113.
    for number in ("113", "400 00 001", "77 00 10 00", "400 00 003", "900 00 000",
                   "22 00 00 99"):
        assert number in pages[1], number
    version = patient.action_plan.latest()
    for scenario in version.content["scenarios"]:
        assert scenario["title"] in " ".join(text.split()), scenario["title"]
    for expected in ("IPAP", "Astral 150", "Jeg vil bo hjemme", "Kari Krogh",
                     "Flytt slangen fra nesebrillen"):
        assert expected in text, expected
    [row] = watch.rows(code="samhand.binder.generated")
    assert str(document.pk) in row.object_ids


def test_generating_again_without_a_change_keeps_the_version(world):
    patient = full_ltmv_patient(world)
    actor, _grant = actor_and_grant(world.ltmv_nurse, patient)
    first, _ = binder.generate_binder(actor, patient)
    again, created = binder.generate_binder(actor, patient)
    assert not created and again.pk == first.pk
    assert binder.binder_status(patient).is_current


def test_a_changed_phone_number_gives_a_new_binder_version(
        world, django_capture_on_commit_callbacks):
    patient = full_ltmv_patient(world)
    actor, _grant = actor_and_grant(world.ltmv_nurse, patient)
    first, _ = binder.generate_binder(actor, patient)
    with django_capture_on_commit_callbacks(execute=True):
        world.hn_a.phone_24h = "400 99 999"
        world.hn_a.save()
    latest = Document.objects.filter(patient=patient, kind="binder").order_by("-number").first()
    assert latest.number == 2 and latest.code != first.code
    text = "\n".join(pdf_pages(latest))
    assert "400 99 999" in text and "400 00 001" not in text
    assert binder.binder_status(patient).is_current


def test_a_plan_change_refreshes_the_binder_after_commit(world, django_capture_on_commit_callbacks):
    from samhand.plans import services

    with django_capture_on_commit_callbacks(execute=True):
        patient = full_ltmv_patient(world)
    assert Document.objects.filter(patient=patient, kind="binder").count() == 1
    actor, grant = actor_and_grant(world.coordinator_a, patient)
    version = patient.individual_plans.get().latest()
    with django_capture_on_commit_callbacks(execute=True):
        services.revise_individual_plan(actor, patient, grant,
                                        content=dict(version.content, summary="Oppdatert."))
    assert Document.objects.filter(patient=patient, kind="binder").count() == 2


def test_a_change_that_rolls_back_makes_no_binder(world, django_capture_on_commit_callbacks):
    patient = full_ltmv_patient(world)
    binder.generate_binder(Actor(client="system"), patient)
    from django.db import transaction

    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        world.hn_a.phone_24h = "400 77 777"
        world.hn_a.save()
        raise RuntimeError
    assert Document.objects.filter(patient=patient, kind="binder").count() == 1


def test_a_patient_without_plans_gets_no_binder_by_itself(world,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        world.hn_b.phone_24h = "400 55 555"
        world.hn_b.save()
    assert not Document.objects.exists()
    assert binder.refresh_binder(world.patient_b.pk) is None


def test_the_discharge_summary_states_gp_and_specialist_responsibility(world):
    patient = full_ltmv_patient(world)
    actor, grant = actor_and_grant(world.consultant, patient)
    document = binder.generate_discharge_summary(actor, patient, grant)
    text = " ".join("\n".join(pdf_pages(document)).split())
    assert "fastlege" in text.lower() and "spesialist" in text.lower()
    assert "Ansvar i akutte situasjoner" in text
    assert "har ansvaret for kanyle og" in text
    assert document.code in text


def test_the_binder_is_in_english_for_an_english_speaking_patient(world):
    world.patient_a.language = "en"
    world.patient_a.save()
    patient = full_ltmv_patient(world)
    actor, _grant = actor_and_grant(world.ltmv_nurse, patient)
    document, _ = binder.generate_binder(actor, patient)
    text = " ".join("\n".join(pdf_pages(document)).split())
    assert document.language == "en"
    assert "Contacts and 24-hour numbers" in text
    assert "Blocked or dislodged tracheostomy tube" in text
