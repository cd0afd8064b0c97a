"""Read and validate pathway templates (``library/<key>.v<version>.yaml``).

Every mistake raises :class:`TemplateError` naming the file, the line and the field path,
e.g. ``ltmv_invasive.v1.yaml:42: tasks[3].due.anchor: unknown task 'trening'``. Line
numbers come from PyYAML's node marks (``yaml.compose``), so the file is validated on
the node tree, not on the constructed Python objects.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .definitions import (
    ANCHOR_INSTANCES,
    CRITERION_KINDS,
    EVENT_KINDS,
    EVENT_NEEDS,
    FLAGS,
    LANGUAGES,
    ROLES,
    SIDES,
    CriterionDef,
    DueRule,
    GateDef,
    MeasureDef,
    Offset,
    PhaseDef,
    TaskDef,
    Template,
    Text,
)
from .schedule import apply_offset, reference_dates

LIBRARY = Path(__file__).resolve().parent / "library"
FILE_NAME = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)\.ya?ml$")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
EVALUATOR = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

T = TypeVar("T")


class TemplateError(ValueError):
    """A template file that cannot be used; ``str()`` is ``file:line: field: message``."""

    def __init__(self, file: str, line: int, field: str, message: str):
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        where = f"{file}:{line}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


@dataclass
class _Ctx:
    file: str

    def fail(self, node: yaml.Node | None, path: str, message: str) -> TemplateError:
        line = node.start_mark.line + 1 if node is not None else 1
        return TemplateError(self.file, line, path, message)


# --- node helpers ----------------------------------------------------------------------


def _type_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    tag = node.tag.rsplit(":", 1)[-1]
    return {"str": "text", "int": "a whole number", "bool": "true/false", "null": "empty",
            "float": "a decimal number"}.get(tag, tag)


def _mapping(ctx: _Ctx, node: yaml.Node, path: str, *, required: set[str],
             optional: set[str]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """The mapping's entries by key (key node, value node); rejects duplicates, unknown
    and missing keys."""
    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(node, path or "(top)", f"expected a mapping, got {_type_name(node)}")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or not key_node.tag.endswith(":str"):
            raise ctx.fail(key_node, path or "(top)", "keys must be text")
        key = str(key_node.value)
        sub = f"{path}.{key}" if path else key
        if key in out:
            raise ctx.fail(key_node, sub, f"duplicate key '{key}'")
        if key not in required and key not in optional:
            allowed = ", ".join(sorted(required | optional))
            raise ctx.fail(key_node, sub, f"unknown field '{key}' (allowed: {allowed})")
        out[key] = (key_node, value_node)
    for key in sorted(required):
        if key not in out:
            raise ctx.fail(node, f"{path}.{key}" if path else key, "missing required field")
    return out


def _seq(ctx: _Ctx, node: yaml.Node, path: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.SequenceNode):
        raise ctx.fail(node, path, f"expected a list, got {_type_name(node)}")
    return list(node.value)


def _str(ctx: _Ctx, node: yaml.Node, path: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":str"):
        raise ctx.fail(node, path, f"expected text, got {_type_name(node)}")
    value = str(node.value).strip()
    if not value:
        raise ctx.fail(node, path, "must not be empty")
    return value


def _key(ctx: _Ctx, node: yaml.Node, path: str) -> str:
    value = _str(ctx, node, path)
    if not KEY.match(value):
        raise ctx.fail(node, path, f"'{value}' is not a key (lower case letters, digits, _)")
    return value


def _int(ctx: _Ctx, node: yaml.Node, path: str, *, minimum: int | None = None) -> int:
    if not isinstance(node, yaml.ScalarNode) or not node.tag.endswith(":int"):
        raise ctx.fail(node, path, f"expected a whole number, got {_type_name(node)}")
    try:
        value = int(str(node.value).replace("_", ""), 0)
    except ValueError:
        raise ctx.fail(node, path, f"'{node.value}' is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ctx.fail(node, path, f"must be at least {minimum}")
    return value


def _choice(ctx: _Ctx, node: yaml.Node, path: str, choices: tuple[str, ...] | set[str],
            what: str) -> str:
    value = _str(ctx, node, path)
    if value not in choices:
        raise ctx.fail(node, path, f"unknown {what} '{value}' (known: "
                                   f"{', '.join(sorted(choices))})")
    return value


def _text(ctx: _Ctx, node: yaml.Node, path: str) -> Text:
    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(node, path, "expected a text in nb, en and da "
                                   f"({{nb: ..., en: ..., da: ...}}), got {_type_name(node)}")
    seen = {str(k.value) for k, _v in node.value if isinstance(k, yaml.ScalarNode)}
    for lang in LANGUAGES:
        if lang not in seen:
            raise ctx.fail(node, f"{path}.{lang}", f"missing translation '{lang}'")
    m = _mapping(ctx, node, path, required=set(LANGUAGES), optional=set())
    values = {lang: _str(ctx, m[lang][1], f"{path}.{lang}") for lang in LANGUAGES}
    return Text(nb=values["nb"], en=values["en"], da=values["da"])


def _offset(ctx: _Ctx, node: yaml.Node, path: str, *, units: tuple[str, ...] = (
        "months", "days", "hours")) -> Offset:
    m = _mapping(ctx, node, path, required=set(), optional=set(units))
    values = {u: _int(ctx, m[u][1], f"{path}.{u}") for u in m}
    return Offset(**values)


def _unique(ctx: _Ctx, items: list[tuple[yaml.Node, str]], path: str,
            what: str) -> None:
    seen: set[str] = set()
    for i, (node, key) in enumerate(items):
        if key in seen:
            raise ctx.fail(node, f"{path}[{i}].key", f"duplicate {what} key '{key}'")
        seen.add(key)


def _list_of(ctx: _Ctx, node: yaml.Node, path: str,
             parse: Callable[[yaml.Node, str], T]) -> list[T]:
    return [parse(item, f"{path}[{i}]") for i, item in enumerate(_seq(ctx, node, path))]


# --- the template ---------------------------------------------------------------------


_TOP_REQUIRED = {"key", "version", "title", "entries", "phases", "measures", "tasks",
                 "events"}
_TOP_OPTIONAL = {"gates", "flags", "description"}
_TASK_REQUIRED = {"key", "title", "side", "role", "phase"}
_TASK_OPTIONAL = {"measure", "entries", "due", "description"}
_DUE_REQUIRED = {"anchor"}
_DUE_OPTIONAL = {"after", "every", "count", "supervised_first", "while_flag", "warn",
                 "max_per_year", "at_latest", "until", "anchor_instance"}
_CRITERION_REQUIRED = {"key", "title", "kind"}
_CRITERION_OPTIONAL = {"task", "evaluator", "owner_role", "description"}


def _parse(ctx: _Ctx, root: yaml.Node, raw: bytes, source: str) -> Template:
    top = _mapping(ctx, root, "", required=_TOP_REQUIRED, optional=_TOP_OPTIONAL)

    def val(name: str) -> yaml.Node:
        return top[name][1]

    key = _key(ctx, val("key"), "key")
    version = _int(ctx, val("version"), "version", minimum=1)
    title = _text(ctx, val("title"), "title")
    description = _text(ctx, val("description"), "description") if "description" in top \
        else None

    entries_map = _mapping(ctx, val("entries"), "entries", required=set(),
                           optional={k for k, _v in _raw_keys(val("entries"))})
    if not entries_map:
        raise ctx.fail(val("entries"), "entries", "a template needs at least one entry")
    entries: dict[str, Text] = {}
    for name, (knode, vnode) in entries_map.items():
        if not KEY.match(name):
            raise ctx.fail(knode, f"entries.{name}", f"'{name}' is not a key")
        entries[name] = _text(ctx, vnode, f"entries.{name}")

    events_nodes = _seq(ctx, val("events"), "events")
    events: list[str] = []
    for i, n in enumerate(events_nodes):
        kind = _choice(ctx, n, f"events[{i}]", EVENT_KINDS, "event")
        if kind in events:
            raise ctx.fail(n, f"events[{i}]", f"duplicate event '{kind}'")
        events.append(kind)
    for i, n in enumerate(events_nodes):
        for needed in EVENT_NEEDS.get(str(n.value), ()):
            if needed not in events:
                raise ctx.fail(n, f"events[{i}]", f"event '{n.value}' needs the event "
                                                  f"'{needed}' in events")

    flags: list[str] = []
    if "flags" in top:
        for i, n in enumerate(_seq(ctx, val("flags"), "flags")):
            flag = _choice(ctx, n, f"flags[{i}]", tuple(FLAGS), "flag")
            if flag in flags:
                raise ctx.fail(n, f"flags[{i}]", f"duplicate flag '{flag}'")
            for ev in FLAGS[flag]:
                if ev not in events:
                    raise ctx.fail(n, f"flags[{i}]", f"flag '{flag}' needs the event "
                                                     f"'{ev}' in events")
            flags.append(flag)

    def parse_named(node: yaml.Node, path: str) -> tuple[yaml.Node, str, Text]:
        m = _mapping(ctx, node, path, required={"key", "title"}, optional=set())
        return m["key"][1], _key(ctx, m["key"][1], f"{path}.key"), \
            _text(ctx, m["title"][1], f"{path}.title")

    phases_raw = _list_of(ctx, val("phases"), "phases", parse_named)
    _unique(ctx, [(n, k) for n, k, _t in phases_raw], "phases", "phase")
    if not phases_raw:
        raise ctx.fail(val("phases"), "phases", "a template needs at least one phase")
    phases = tuple(PhaseDef(k, t) for _n, k, t in phases_raw)
    measures_raw = _list_of(ctx, val("measures"), "measures", parse_named)
    _unique(ctx, [(n, k) for n, k, _t in measures_raw], "measures", "measure")
    measures = tuple(MeasureDef(k, t) for _n, k, t in measures_raw)
    phase_keys = {p.key for p in phases}
    measure_keys = {m.key for m in measures}

    # Tasks: first pass for keys (anchors may point forward), second for the rest.
    task_nodes = _seq(ctx, val("tasks"), "tasks")
    task_maps = [_mapping(ctx, n, f"tasks[{i}]", required=_TASK_REQUIRED,
                          optional=_TASK_OPTIONAL) for i, n in enumerate(task_nodes)]
    task_keys_raw = [(m["key"][1], _key(ctx, m["key"][1], f"tasks[{i}].key"))
                     for i, m in enumerate(task_maps)]
    _unique(ctx, task_keys_raw, "tasks", "task")
    task_keys = [k for _n, k in task_keys_raw]

    tasks: list[TaskDef] = []
    anchor_nodes: dict[str, tuple[yaml.Node, str]] = {}
    for i, m in enumerate(task_maps):
        p = f"tasks[{i}]"
        tkey = task_keys[i]
        phase = _choice(ctx, m["phase"][1], f"{p}.phase", phase_keys, "phase")
        measure = _choice(ctx, m["measure"][1], f"{p}.measure", measure_keys, "measure") \
            if "measure" in m else None
        task_entries: frozenset[str] = frozenset()
        if "entries" in m:
            names = [_choice(ctx, n, f"{p}.entries[{j}]", set(entries), "entry")
                     for j, n in enumerate(_seq(ctx, m["entries"][1], f"{p}.entries"))]
            if not names:
                raise ctx.fail(m["entries"][1], f"{p}.entries",
                               "leave out 'entries' to include the task in every entry")
            task_entries = frozenset(names)
        due = None
        if "due" in m:
            due = _due(ctx, m["due"][1], f"{p}.due", tkey, set(task_keys), events, flags)
            anchor_node = next(v for k, v in m["due"][1].value if k.value == "anchor")
            anchor_nodes[tkey] = (anchor_node, f"{p}.due.anchor")
        tasks.append(TaskDef(
            key=tkey,
            title=_text(ctx, m["title"][1], f"{p}.title"),
            side=_choice(ctx, m["side"][1], f"{p}.side", SIDES, "side"),
            role=_choice(ctx, m["role"][1], f"{p}.role", ROLES, "role"),
            phase=phase,
            measure=measure,
            entries=task_entries,
            due=due,
            description=_text(ctx, m["description"][1], f"{p}.description")
            if "description" in m else None,
        ))
    by_key = {t.key: t for t in tasks}
    _check_task_anchors(ctx, tasks, by_key, anchor_nodes, set(entries))

    gates: list[GateDef] = []
    if "gates" in top:
        gate_nodes = _seq(ctx, val("gates"), "gates")
        gate_keys: list[tuple[yaml.Node, str]] = []
        for i, gnode in enumerate(gate_nodes):
            p = f"gates[{i}]"
            g = _mapping(ctx, gnode, p, required={"key", "title", "before_event",
                                                  "criteria"}, optional=set())
            gkey = _key(ctx, g["key"][1], f"{p}.key")
            gate_keys.append((g["key"][1], gkey))
            before = _choice(ctx, g["before_event"][1], f"{p}.before_event", EVENT_KINDS,
                             "event")
            if before not in events:
                raise ctx.fail(g["before_event"][1], f"{p}.before_event",
                               f"event '{before}' is not among the template's events")
            crit_nodes = _seq(ctx, g["criteria"][1], f"{p}.criteria")
            if not crit_nodes:
                raise ctx.fail(g["criteria"][1], f"{p}.criteria", "a gate needs criteria")
            criteria = [_criterion(ctx, n, f"{p}.criteria[{j}]", by_key)
                        for j, n in enumerate(crit_nodes)]
            for j, c in enumerate(criteria):
                if c.task is not None and by_key[c.task].entries:
                    missing = sorted(set(entries) - by_key[c.task].entries)
                    if missing:
                        task_node = next(v for k, v in crit_nodes[j].value
                                         if k.value == "task")
                        raise ctx.fail(task_node, f"{p}.criteria[{j}].task",
                                       f"task '{c.task}' is not in the entry '{missing[0]}', "
                                       "so the gate could never be passed there")
            _unique(ctx, [(crit_nodes[j], c.key) for j, c in enumerate(criteria)],
                    f"{p}.criteria", "criterion")
            gates.append(GateDef(gkey, _text(ctx, g["title"][1], f"{p}.title"), before,
                                 tuple(criteria)))
        _unique(ctx, gate_keys, "gates", "gate")
        befores = [(gate_nodes[i], g.before_event) for i, g in enumerate(gates)]
        seen: set[str] = set()
        for i, (n, b) in enumerate(befores):
            if b in seen:
                raise ctx.fail(n, f"gates[{i}].before_event",
                               f"two gates before the event '{b}'")
            seen.add(b)

    return Template(
        key=key, version=version, title=title, entries=entries, phases=phases,
        measures=measures, tasks=tuple(tasks), gates=tuple(gates), events=tuple(events),
        flags=tuple(flags), source_file=source,
        content_hash=hashlib.sha256(raw).hexdigest(), description=description,
    )


def _raw_keys(node: yaml.Node) -> list[tuple[str, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(str(k.value), k) for k, _v in node.value if isinstance(k, yaml.ScalarNode)]


def _due(ctx: _Ctx, node: yaml.Node, path: str, task_key: str, task_keys: set[str],
         events: list[str], flags: list[str]) -> DueRule:
    m = _mapping(ctx, node, path, required=_DUE_REQUIRED, optional=_DUE_OPTIONAL)
    anode = m["anchor"][1]
    anchor = _str(ctx, anode, f"{path}.anchor")
    kind, _sep, target = anchor.partition(":")
    if anchor == "start":
        pass
    elif kind == "event":
        if target not in EVENT_KINDS:
            raise ctx.fail(anode, f"{path}.anchor", f"unknown event '{target}' (known: "
                                                   f"{', '.join(EVENT_KINDS)})")
        if target not in events:
            raise ctx.fail(anode, f"{path}.anchor",
                           f"event '{target}' is not among the template's events")
    elif kind == "task":
        if target not in task_keys:
            raise ctx.fail(anode, f"{path}.anchor", f"unknown task '{target}'")
        if target == task_key:
            raise ctx.fail(anode, f"{path}.anchor", f"task '{task_key}' is anchored to "
                                                    "itself")
    else:
        raise ctx.fail(anode, f"{path}.anchor", f"'{anchor}' is not an anchor (use "
                                                "'event:<kind>', 'task:<key>' or 'start')")

    def off(name: str, **kw: Any) -> Offset | None:
        return _offset(ctx, m[name][1], f"{path}.{name}", **kw) if name in m else None

    every = off("every", units=("months", "days"))
    offset = off("after")
    if offset is None and every is not None:
        offset = Offset()
    if every is not None and (every.months < 0 or every.days < 0 or every.is_zero()):
        raise ctx.fail(m["every"][1], f"{path}.every", "must be a positive number of "
                                                      "months or days")
    if every is not None and every.months and every.days:
        raise ctx.fail(m["every"][1], f"{path}.every", "give months or days, not both")
    count = _int(ctx, m["count"][1], f"{path}.count", minimum=1) if "count" in m else None
    supervised = _int(ctx, m["supervised_first"][1], f"{path}.supervised_first",
                      minimum=0) if "supervised_first" in m else 0
    per_year = _int(ctx, m["max_per_year"][1], f"{path}.max_per_year", minimum=1) \
        if "max_per_year" in m else None
    for name in ("count", "supervised_first", "max_per_year", "while_flag"):
        if name in m and every is None:
            raise ctx.fail(m[name][0], f"{path}.{name}", "only for a recurring task "
                                                         "(give 'every')")
    if count is not None and supervised > count:
        raise ctx.fail(m["supervised_first"][1], f"{path}.supervised_first",
                       f"more supervised occurrences ({supervised}) than the count ({count})")
    while_flag = None
    if "while_flag" in m:
        while_flag = _choice(ctx, m["while_flag"][1], f"{path}.while_flag", tuple(FLAGS),
                             "flag")
        if while_flag not in flags:
            raise ctx.fail(m["while_flag"][1], f"{path}.while_flag",
                           f"flag '{while_flag}' is not among the template's flags")
    until: list[str] = []
    if "until" in m:
        for j, n in enumerate(_seq(ctx, m["until"][1], f"{path}.until")):
            ev = _choice(ctx, n, f"{path}.until[{j}]", EVENT_KINDS, "event")
            if ev not in events:
                raise ctx.fail(n, f"{path}.until[{j}]",
                               f"event '{ev}' is not among the template's events")
            until.append(ev)
    instance = _choice(ctx, m["anchor_instance"][1], f"{path}.anchor_instance",
                       ANCHOR_INSTANCES, "anchor instance") if "anchor_instance" in m \
        else "each"
    warn = off("warn")
    at_latest = off("at_latest")
    if offset is None and (warn is not None or at_latest is not None):
        name = "warn" if warn is not None else "at_latest"
        raise ctx.fail(m[name][0], f"{path}.{name}", "needs a due time ('after')")
    if warn is not None and offset is not None and _later(warn, offset):
        raise ctx.fail(m["warn"][1], f"{path}.warn", "the warning comes after the due time")
    if at_latest is not None and offset is not None and _later(offset, at_latest):
        raise ctx.fail(m["at_latest"][1], f"{path}.at_latest",
                       "'at the latest' comes before the due time")
    return DueRule(anchor=anchor, offset=offset, every=every, count=count,
                   supervised_first=supervised, while_flag=while_flag, warn=warn,
                   max_per_year=per_year, at_latest=at_latest, until=tuple(until),
                   anchor_instance=instance)  # type: ignore[arg-type]


def _later(a: Offset, b: Offset) -> bool:
    """Whether offset a ends after offset b, judged from a few reference dates."""
    return any(apply_offset(d, a) > apply_offset(d, b) for d in reference_dates())


def _check_task_anchors(ctx: _Ctx, tasks: list[TaskDef], by_key: dict[str, TaskDef],
                        anchor_nodes: dict[str, tuple[yaml.Node, str]],
                        entries: set[str]) -> None:
    # An anchor task must exist in every entry the dependent task is in.
    for t in tasks:
        if t.due is None or t.due.anchor_kind != "task":
            continue
        target = by_key[t.due.anchor_target]
        mine = t.entries or frozenset(entries)
        theirs = target.entries or frozenset(entries)
        missing = sorted(mine - theirs)
        if missing:
            node, path = anchor_nodes[t.key]
            raise ctx.fail(node, path, f"task '{target.key}' is not in the entry "
                                       f"'{missing[0]}' that '{t.key}' is in")
    # No cycles in task → task anchors.
    state: dict[str, int] = {}

    def visit(key: str, trail: list[str]) -> None:
        state[key] = 1
        task = by_key[key]
        if task.due is not None and task.due.anchor_kind == "task":
            nxt = task.due.anchor_target
            if state.get(nxt) == 1:
                cycle = [*trail[trail.index(nxt):], nxt] if nxt in trail else [key, nxt]
                node, path = anchor_nodes[key]
                raise ctx.fail(node, path, "cycle in due anchors: " + " → ".join(cycle))
            if state.get(nxt) is None:
                visit(nxt, [*trail, nxt])
        state[key] = 2

    for t in tasks:
        if state.get(t.key) is None:
            visit(t.key, [t.key])


def _criterion(ctx: _Ctx, node: yaml.Node, path: str,
               tasks: dict[str, TaskDef]) -> CriterionDef:
    m = _mapping(ctx, node, path, required=_CRITERION_REQUIRED, optional=_CRITERION_OPTIONAL)
    key = _key(ctx, m["key"][1], f"{path}.key")
    kind = _choice(ctx, m["kind"][1], f"{path}.kind", CRITERION_KINDS, "criterion kind")
    task = evaluator = None
    if kind == "task":
        if "task" not in m:
            raise ctx.fail(node, f"{path}.task", "a 'task' criterion names the task")
        task = _str(ctx, m["task"][1], f"{path}.task")
        if task not in tasks:
            raise ctx.fail(m["task"][1], f"{path}.task", f"unknown task '{task}'")
    elif "task" in m:
        raise ctx.fail(m["task"][0], f"{path}.task", "only for kind 'task'")
    if kind == "data":
        if "evaluator" not in m:
            raise ctx.fail(node, f"{path}.evaluator", "a 'data' criterion names its "
                                                      "evaluator")
        evaluator = _str(ctx, m["evaluator"][1], f"{path}.evaluator")
        if not EVALUATOR.match(evaluator):
            raise ctx.fail(m["evaluator"][1], f"{path}.evaluator",
                           f"'{evaluator}' is not an evaluator name like "
                           "'plans.individual_plan_started'")
    elif "evaluator" in m:
        raise ctx.fail(m["evaluator"][0], f"{path}.evaluator", "only for kind 'data'")
    if "owner_role" in m:
        owner = _choice(ctx, m["owner_role"][1], f"{path}.owner_role", ROLES, "role")
    elif task is not None:
        owner = tasks[task].role
    else:
        raise ctx.fail(node, f"{path}.owner_role", "missing required field (who owns the "
                                                   "criterion)")
    return CriterionDef(
        key=key, title=_text(ctx, m["title"][1], f"{path}.title"), kind=kind, task=task,
        evaluator=evaluator, owner_role=owner,
        description=_text(ctx, m["description"][1], f"{path}.description")
        if "description" in m else None,
    )


# --- public ----------------------------------------------------------------------------


def load_template(path: str | Path) -> Template:
    """Read and validate one template file."""
    path = Path(path)
    name = path.name
    raw = path.read_bytes()
    ctx = _Ctx(name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateError(name, 1, "", f"not UTF-8 ({exc.reason})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise TemplateError(name, line, "", f"not valid YAML: {exc.problem or exc}") from None
    if root is None:
        raise TemplateError(name, 1, "", "the file is empty")
    template = _parse(ctx, root, raw, name)
    match = FILE_NAME.match(name)
    if match is None:
        raise TemplateError(name, 1, "", "file name must be <key>.v<version>.yaml")
    top = {str(k.value): (k, v) for k, v in root.value}
    if match["key"] != template.key:
        raise ctx.fail(top["key"][1], "key", f"'{template.key}' does not match the file "
                                             f"name '{match['key']}'")
    if int(match["version"]) != template.version:
        raise ctx.fail(top["version"][1], "version", f"{template.version} does not match "
                                                     f"the file name (v{match['version']})")
    return template


_cache: dict[Path, dict[tuple[str, int], Template]] = {}


def load_versions(folder: str | Path | None = None) -> dict[tuple[str, int], Template]:
    """Every template in ``folder`` (default: the shipped library) by (key, version)."""
    where = Path(folder).resolve() if folder is not None else LIBRARY
    if where not in _cache:
        found: dict[tuple[str, int], Template] = {}
        for path in sorted(where.glob("*.y*ml")):
            template = load_template(path)
            found[(template.key, template.version)] = template
        _cache[where] = found
    return dict(_cache[where])


def load_library(folder: str | Path | None = None) -> dict[str, Template]:
    """The latest version of every template in ``folder``, by key."""
    latest: dict[str, Template] = {}
    for (key, version), template in sorted(load_versions(folder).items()):
        if key not in latest or latest[key].version < version:
            latest[key] = template
    return latest


def get_template(key: str, version: int | None = None) -> Template:
    """One shipped template; the latest version unless ``version`` is given.
    KeyError when there is none."""
    if version is None:
        return load_library()[key]
    return load_versions()[(key, version)]


def clear_cache() -> None:
    _cache.clear()
