"""The demo plans: every plan, a signed meeting with tasks, binders with their code."""

from __future__ import annotations

import pytest

from samhand.demo.data import load_demo
from samhand.plans.models import (
    ActionPlanVersion,
    Document,
    IndividualPlan,
    Meeting,
    TreatmentPlanVersion,
)

pytestmark = pytest.mark.django_db


def test_the_demo_has_plans_a_signed_meeting_and_binders():
    summary = load_demo()
    assert IndividualPlan.objects.exists()
    assert any(v.valid_signature() for v in TreatmentPlanVersion.objects.all())
    assert any(v.valid_approval() for v in ActionPlanVersion.objects.all())
    assert Meeting.objects.filter(status="signed").exists()
    assert Document.objects.filter(kind="binder").exists()
    torbjorn = summary.patients["torbjorn.haugland"]
    assert IndividualPlan.objects.filter(patient=torbjorn).exists()
