"""A template change never moves a running pathway until someone migrates it."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from samhand.pathways import loader
from samhand.pathways import services as svc
from samhand.pathways.models import Task

from .conftest import actor_of, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for f in loader.LIBRARY.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.setattr(loader, "LIBRARY", tmp_path)
    loader.clear_cache()
    yield tmp_path
    loader.clear_cache()


SHIPPED = loader.get_template("palliative_home").version
NEXT = SHIPPED + 1


def _add_next(library: Path) -> None:
    """A new version of palliative_home: the newest shipped one under the next number."""
    text = (library / f"palliative_home.v{SHIPPED}.yaml").read_text(encoding="utf-8")
    text = text.replace(f"\nversion: {SHIPPED}\n", f"\nversion: {NEXT}\n", 1)
    assert f"\nversion: {NEXT}\n" in text
    (library / f"palliative_home.v{NEXT}.yaml").write_text(text, encoding="utf-8")
    loader.clear_cache()


def test_a_running_pathway_keeps_its_version_until_migrated(world, library):
    nurse = world.ltmv_nurse
    running = svc.start_pathway(actor_of(nurse), grant(nurse, world.patient_a), world.patient_a,
                                template_key="palliative_home", entry="at_home")
    assert running.template_version == SHIPPED
    _add_next(library)
    running.refresh_from_db()
    assert running.template_version == SHIPPED
    assert running.template.version == SHIPPED  # the pinned version is still served
    newer = svc.start_pathway(actor_of(nurse), grant(nurse, world.patient_b), world.patient_b,
                              template_key="palliative_home", entry="at_home")
    assert newer.template_version == NEXT

    out = StringIO()
    call_command("pathways-migrate", "palliative_home", stdout=out)
    assert "would move" in out.getvalue()
    running.refresh_from_db()
    assert running.template_version == SHIPPED  # a dry run moves nothing

    call_command("pathways-migrate", "palliative_home", "--apply", stdout=StringIO())
    running.refresh_from_db()
    assert running.template_version == NEXT
    assert running.template_hash == newer.template_hash
    keys = set(Task.objects.filter(pathway=running).values_list("task_key", flat=True))
    assert keys  # planned again under the new version
