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

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import get_language, gettext_lazy
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
#: Evaluates many pathways at once (for the worklists): {pathway.pk: result}.
ManyEvaluator = Callable[[Sequence["Pathway"]], dict[Any, CriterionResult]]
_REGISTRY: dict[str, Evaluator] = {}
_MANY: dict[str, ManyEvaluator] = {}


def register_criterion(name: str, evaluator: Evaluator, *,
                       many: ManyEvaluator | None = None) -> None:
    """Register (or replace, for tests) the data evaluator called `name`; `many`, when
    given, answers for a list of pathways in a fixed number of queries, so that a
    worklist's gate column costs the same for 3 rows as for 25. Without it the
    evaluator is called once per pathway."""
    _REGISTRY[name] = evaluator
    if many is None:
        _MANY.pop(name, None)
    else:
        _MANY[name] = many


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
    return evaluate_many([pathway], lambda _p: gate)[pathway.pk]


def evaluate_many(pathways: Sequence[Pathway],
                  gate_of: Callable[[Pathway], GateDef | None]) -> dict[Any, GateStatus]:
    """The gate `gate_of(pathway)` of each pathway (None: no gate), evaluated now in a
    number of queries that does not grow with the number of pathways: judgements and
    done tasks are read once for all, and data evaluators registered with `many` are
    called once (others once per pathway)."""
    from .models import GateJudgement, Task

    chosen = {p.pk: (p, g) for p in pathways if (g := gate_of(p)) is not None}
    if not chosen:
        return {}
    ids = list(chosen)
    judgements: dict[tuple[Any, str, str], GateJudgement] = {}
    for j in GateJudgement.objects.filter(pathway_id__in=ids).select_related(
            "judged_by").order_by("judged_at"):
        judgements[(j.pathway_id, j.gate_key, j.criterion_key)] = j
    done: dict[Any, set[str]] = defaultdict(set)
    for pathway_id, key in (Task.objects.filter(pathway_id__in=ids, status=Task.Status.DONE)
                            .order_by().values_list("pathway_id", "task_key").distinct()):
        done[pathway_id].add(key)
    wanted: dict[str, list[Pathway]] = defaultdict(list)
    for p, g in chosen.values():
        for c in g.criteria:
            if c.kind == "data" and c.evaluator in _MANY:
                wanted[c.evaluator].append(p)
    answers = {name: _MANY[name](found) for name, found in wanted.items()}
    return {pk: _status(p, g, judgements, done[pk], answers) for pk, (p, g) in chosen.items()}


def _status(pathway: Pathway, gate: GateDef,
            judgements: dict[tuple[Any, str, str], GateJudgement], done_keys: set[str],
            answers: dict[str, dict[Any, CriterionResult]]) -> GateStatus:
    template = pathway.template
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
            name = c.evaluator or ""
            if name in answers and pathway.pk in answers[name]:
                result: CriterionResult | None = answers[name][pathway.pk]
            else:
                evaluator = _REGISTRY.get(name)
                result = evaluator(pathway) if evaluator is not None else None
            if result is None:
                met, missing = False, _("Cannot be checked here yet (%(name)s).") % {
                    "name": c.evaluator}
            else:
                met, missing = result.met, result.missing
                owner = result.owner or owner
        else:
            judgement = judgements.get((pathway.pk, gate.key, c.key))
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

_NO_MEETING = gettext_lazy("No collaboration meeting held yet.")
_NO_CONSENT = gettext_lazy("No active consent to share health information.")


def _meeting_held(pathway: Pathway) -> CriterionResult:
    return _meetings_held([pathway])[pathway.pk]


def _meetings_held(pathways: Sequence[Pathway]) -> dict[Any, CriterionResult]:
    from .models import PathwayEvent

    held = set(PathwayEvent.objects.filter(pathway__in=[p.pk for p in pathways],
                                           kind="meeting_held")
               .values_list("pathway_id", flat=True))
    return {p.pk: CriterionResult(True) if p.pk in held else
            CriterionResult(False, str(_NO_MEETING), "hospital_coordinator") for p in pathways}


def _consent_share(pathway: Pathway) -> CriterionResult:
    return _consents_share([pathway])[pathway.pk]


def _consents_share(pathways: Sequence[Pathway]) -> dict[Any, CriterionResult]:
    from samhand.patients.models import Consent

    # The newest row per patient is in force; on a tie the withdrawal wins (as
    # Consent.objects.active_for).
    newest: dict[Any, str] = {}
    for patient_id, status in (Consent.objects.filter(
            patient_id__in={p.patient_id for p in pathways},
            scope=Consent.Scope.SHARE_HEALTH_INFO)
            .order_by("patient_id", "-recorded_at", "-status")
            .values_list("patient_id", "status")):
        newest.setdefault(patient_id, status)
    return {p.pk: CriterionResult(True) if newest.get(p.patient_id) == Consent.Status.GIVEN
            else CriterionResult(False, str(_NO_CONSENT), "municipal_coordinator")
            for p in pathways}


register_criterion("pathway.meeting_held", _meeting_held, many=_meetings_held)
register_criterion("consent.share_health_info", _consent_share, many=_consents_share)
