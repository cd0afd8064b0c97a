"""Gates (e.g. the discharge gate, PW-5): each criterion met or not, what is missing,
who owns it.

Criteria come from the template (definitions.CriterionDef) in three kinds:
- "task": met when an occurrence of the named task is done;
- "data": met when a registered evaluator says so. Other apps plug their criteria in
  with `register_criterion("plans.binder_current", evaluator)` in AppConfig.ready(),
  without changing the gate;
- "judgement": met when the newest GateJudgement for it says met (who, when, note).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .definitions import CriterionDef, GateDef

if TYPE_CHECKING:
    from .models import GateJudgement, Pathway


@dataclass
class CriterionResult:
    """What an evaluator answers: met, and if not, what is missing (translated) and
    who owns it (a care-team role; empty: the criterion's owner_role)."""

    met: bool
    missing: str = ""
    owner: str = ""


Evaluator = Callable[["Pathway"], CriterionResult]
_REGISTRY: dict[str, Evaluator] = {}


def register_criterion(name: str, evaluator: Evaluator) -> None:
    """Register (or replace, for tests) the data evaluator called `name`."""
    _REGISTRY[name] = evaluator


def registered() -> frozenset[str]:
    return frozenset(_REGISTRY)


@dataclass
class CriterionStatus:
    definition: CriterionDef
    met: bool
    missing: str
    owner_role: str
    judgement: GateJudgement | None = None

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def title(self) -> str:
        return self.definition.title.get(get_language())

    @property
    def kind(self) -> str:
        return self.definition.kind


@dataclass
class GateStatus:
    definition: GateDef
    criteria: list[CriterionStatus] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def title(self) -> str:
        return self.definition.title.get(get_language())

    @property
    def met(self) -> bool:
        return all(c.met for c in self.criteria)

    @property
    def unmet(self) -> list[CriterionStatus]:
        return [c for c in self.criteria if not c.met]


def evaluate(pathway: Pathway, gate: GateDef) -> GateStatus:
    """Every criterion of `gate` for `pathway`, evaluated now."""
    from .models import GateJudgement, Task

    template = pathway.template
    judgements: dict[str, GateJudgement] = {}
    for j in GateJudgement.objects.filter(pathway=pathway, gate_key=gate.key).select_related(
            "judged_by").order_by("judged_at"):
        judgements[j.criterion_key] = j
    done_keys = set(Task.objects.filter(pathway=pathway, status=Task.Status.DONE)
                    .values_list("task_key", flat=True))
    status = GateStatus(gate)
    for c in gate.criteria:
        owner = c.owner_role
        judgement = None
        if c.kind == "task":
            met = c.task in done_keys
            missing = "" if met else _("Task not done: %(task)s") % {
                "task": template.task(c.task).title.get(get_language())
                if c.task and template.has_task(c.task) else c.task}
            if not owner and c.task and template.has_task(c.task):
                owner = template.task(c.task).role
        elif c.kind == "data":
            evaluator = _REGISTRY.get(c.evaluator or "")
            if evaluator is None:
                met, missing = False, _("Cannot be checked here yet (%(name)s).") % {
                    "name": c.evaluator}
            else:
                result = evaluator(pathway)
                met, missing = result.met, result.missing
                owner = result.owner or owner
        else:
            judgement = judgements.get(c.key)
            met = bool(judgement and judgement.met)
            if judgement is None:
                missing = _("No clinical judgement recorded.")
            elif not judgement.met:
                missing = _("Judged not met: %(note)s") % {"note": judgement.note}
            else:
                missing = ""
        status.criteria.append(CriterionStatus(c, met, "" if met else missing, owner,
                                               judgement))
    return status


def gates(pathway: Pathway) -> list[GateStatus]:
    return [evaluate(pathway, g) for g in pathway.template.gates]


# --------------------------------------------------------------------------- built-ins

def _meeting_held(pathway: Pathway) -> CriterionResult:
    if pathway.events.filter(kind="meeting_held").exists():
        return CriterionResult(True)
    return CriterionResult(False, _("No collaboration meeting held yet."),
                           "hospital_coordinator")


def _consent_share(pathway: Pathway) -> CriterionResult:
    from samhand.patients.models import Consent

    if Consent.objects.active_for(pathway.patient, Consent.Scope.SHARE_HEALTH_INFO):
        return CriterionResult(True)
    return CriterionResult(False, _("No active consent to share health information."),
                           "municipal_coordinator")


register_criterion("pathway.meeting_held", _meeting_held)
register_criterion("consent.share_health_info", _consent_share)
