"""fhir_speedups: the faster checks judge every FHIR class and every input exactly as
fhir_core's own do (the same errors, messages and element paths)."""

from __future__ import annotations

import copy
import importlib
import json
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle as FhirBundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from samhand.messaging import bundle as fhirmsg
from samhand.messaging import fhir_speedups
from samhand.messaging.tests.helpers import all_fixtures, load

ALL = frozenset({"import_string", "reject_null_complex_elements",
                 "_validate_required_primitive_elements", "_validate_one_of_many"})


def _r4b_classes() -> list[type]:
    import fhir.resources.R4B as r4b
    from fhir_core.fhirabstractmodel import FHIRAbstractModel

    for module in pkgutil.iter_modules(r4b.__path__):
        if not module.name.startswith(("tests", "fhirtypes")):
            importlib.import_module(f"fhir.resources.R4B.{module.name}")
    found: set[type] = set()

    def walk(cls: type) -> None:
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                walk(sub)

    walk(FHIRAbstractModel)
    return sorted((c for c in found if c.__module__.startswith("fhir.resources.R4B.")),
                  key=lambda c: f"{c.__module__}.{c.__qualname__}")


@pytest.fixture(scope="module")
def classes() -> list[type]:
    fhirmsg._fhir_bundle_model()
    found = _r4b_classes()
    assert len(found) > 600  # every element and resource class of R4B
    return found


@contextmanager
def fhir_cores_own_checks() -> Iterator[None]:
    fhir_speedups.uninstall()
    try:
        yield
    finally:
        fhir_speedups.install()


def _raised(call: Any, *args: Any) -> Any:
    try:
        call(*args)
    except ValidationError as exc:
        return ("ValidationError", exc.title,
                [(e["type"], e["loc"], e["msg"], repr(e["input"]))
                 for e in exc.errors(include_url=False)])
    except Exception as exc:
        return (type(exc).__name__, str(exc))
    return None


def test_installed_on_the_locked_fhir_core():
    """On another fhir_core version nothing is installed (validation stays correct, only
    slower); this fails then, so that an upgrade comes by here."""
    fhirmsg._fhir_bundle_model()
    assert metadata.version("fhir-core") == fhir_speedups.FHIR_CORE_VERSION
    assert fhir_speedups.installed() == ALL


def test_every_class_rejects_nulls_in_the_same_lists(classes):
    original = fhir_speedups.ORIGINALS["reject_null_complex_elements"]
    rejected = 0
    for cls in classes:
        by_alias = {field.alias or name: [None] for name, field in cls.model_fields.items()}
        by_name = {name: [{}, None] for name in cls.model_fields}
        for data in (by_alias, by_name, {}, "not a dict"):
            theirs = _raised(original, cls, data)
            assert _raised(fhir_speedups.reject_null_complex_elements, cls, data) == theirs, cls
            rejected += theirs is not None
    assert rejected > 500


def test_every_class_requires_the_same_primitives(classes):
    from fhir.resources.R4B.fhirprimitiveextension import FHIRPrimitiveExtension

    original = fhir_speedups.ORIGINALS["_validate_required_primitive_elements"]
    required = 0
    for cls in classes:
        empty = cls.model_construct()
        theirs = _raised(original, empty)
        assert _raised(fhir_speedups.validate_required_primitives, empty) == theirs, cls
        required += theirs is not None
        for _name, ext in empty.get_required_fields():
            if ext is None:  # no extension can explain it: the empty model covers it
                continue
            for explained in ({"extension": [{"url": "x"}]}, {"extension": []},
                              FHIRPrimitiveExtension.model_construct(extension=[{"url": "x"}]),
                              FHIRPrimitiveExtension.model_construct(extension=[])):
                model = cls.model_construct(**{ext: explained})
                assert (_raised(fhir_speedups.validate_required_primitives, model)
                        == _raised(original, model)), (cls, ext, explained)
    assert required > 100


def test_every_class_judges_choices_the_same(classes):
    original = fhir_speedups.ORIGINALS["_validate_one_of_many"]
    judged = 0
    for cls in classes:
        groups = cls.model_construct().get_one_of_many_fields()
        models = [cls.model_construct()]
        for fields in groups.values():
            models.append(cls.model_construct(**{fields[0]: "x"}))
            models.append(cls.model_construct(**{f: "x" for f in fields[:2]}))
        for model in models:
            theirs = _raised(original, model)
            assert _raised(fhir_speedups.validate_one_of_many, model) == theirs, cls
            judged += theirs is not None
    assert judged > 100


# --------------------------------------------------------------------------- whole messages

MESSAGES = {name: load(name) for name in all_fixtures()}
KEYS = ["valueBoolean", "valueString", "deceasedBoolean", "deceasedDateTime", "onsetString",
        "effectiveDateTime", "extension", "id", "status", "_status", "resourceType",
        "reference", "coding", "system", "multipleBirthInteger", "unknownElement"]
CHOICES = ("value", "deceased", "effective", "onset", "multipleBirth", "occurrence",
           "timing", "content")
# Made new for every draw (a drawn list is changed by later steps).
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=3),
                   st.builds(lambda: [None]), st.builds(lambda: [{}]), st.builds(dict),
                   st.builds(lambda: {"extension": [{"url": "http://x", "valueString": "y"}]}))


def _nodes(value: Any, out: list[Any]) -> list[Any]:
    if isinstance(value, dict | list):
        out.append(value)
        for child in (value.values() if isinstance(value, dict) else value):
            _nodes(child, out)
    return out


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A real MedCom message with a few changes at random places: nulls in lists, keys
    removed or emptied, second choice types, wrong types, extensions instead of values."""
    bundle = copy.deepcopy(MESSAGES[draw(st.sampled_from(sorted(MESSAGES)))])
    for _ in range(draw(st.integers(1, 3))):
        node = draw(st.sampled_from(_nodes(bundle, [])))
        if isinstance(node, list):
            node.insert(draw(st.integers(0, len(node))), draw(VALUES))
        elif choices := [k for k in node if k.startswith(CHOICES)]:
            # a second type for a choice element (value[x] and the like)
            prefix = next(p for p in CHOICES if draw(st.sampled_from(choices)).startswith(p))
            node[prefix + draw(st.sampled_from(["String", "Boolean", "DateTime"]))] = \
                draw(st.sampled_from(["x", True, "2026-11-25T10:00:00+01:00"]))
        elif node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            if draw(st.booleans()):
                del node[key]
            else:
                node[key] = draw(VALUES)
        else:
            node[draw(st.sampled_from(KEYS))] = draw(VALUES)
    return bundle


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundle=mutated())
def test_a_changed_message_gets_the_same_errors_as_with_fhir_cores_checks(bundle):
    data = json.loads(json.dumps(bundle))
    ours = _raised(FhirBundle.model_validate, data)
    with fhir_cores_own_checks():
        theirs = _raised(FhirBundle.model_validate, copy.deepcopy(data))
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_fixture_gets_the_same_answer_as_with_fhir_cores_checks(name):
    fhirmsg._fhir_bundle_model()
    ours = _raised(FhirBundle.model_validate, MESSAGES[name])
    with fhir_cores_own_checks():
        assert _raised(FhirBundle.model_validate, MESSAGES[name]) == ours
