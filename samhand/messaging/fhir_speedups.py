"""Faster, equivalent versions of three checks fhir_core runs on every FHIR element.

Validating a received message with fhir.resources (`bundle._check_fhir`) is the largest
part of receiving it. fhir_core 1.1 runs three Python checks on each of the ~40 elements
a message holds, and each works out again, from the class's field declarations, what it
needs — the same answer for every element of a class:

- `reject_null_complex_elements` (before validation): which fields are lists of complex
  types, by inspecting all of the class's fields (through an `lru_cache` of 1,024 entries
  that the few thousand fields of FHIR R4 keep evicting) — a third of validating;
- `_validate_required_primitive_elements` and `_validate_one_of_many` (after): the
  class's required primitive fields and choice (`value[x]`) groups.

Here each class's answer is worked out once, the first time the class is validated,
and kept; the checks then run as before on that plan, with the same errors, messages
and element paths. `tests/test_fhir_speedups.py` compares them with fhir_core's own on
every R4B class and on generated input.

The replacements are installed only on the fhir_core version they were written against
(`FHIR_CORE_VERSION`, the one uv.lock holds): on another version nothing is changed and
validation stays correct, only slower (a test fails then, so that an upgrade looks here).
"""

from __future__ import annotations

import functools
import types
import typing
from importlib import metadata
from typing import Any

from fhir_core.utils import is_list_type, is_primitive_type
from pydantic_core import PydanticCustomError, ValidationError

FHIR_CORE_VERSION = "1.1.12"

_installed: set[str] = set()

# The original functions, kept for the comparison tests (and to undo, in tests).
ORIGINALS: dict[str, Any] = {}


def installed() -> frozenset[str]:
    return frozenset(_installed)


def install() -> frozenset[str]:
    """Install the faster checks (once); returns the names installed."""
    if _installed:
        return installed()
    import fhir_core.types
    from fhir_core import fhirabstractmodel as fam

    # fhir_core imports a resource's class by its dotted name for every entry of every
    # Bundle; the import is the same every time, so its answer is kept (any version).
    found = getattr(fhir_core.types, "import_string", None)
    if callable(found) and not hasattr(found, "cache_info"):
        ORIGINALS["import_string"] = found
        fhir_core.types.import_string = functools.cache(found)
        _installed.add("import_string")
    try:
        version = metadata.version("fhir-core")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed with samhand
        return installed()
    if version != FHIR_CORE_VERSION:
        return installed()
    model = fam.FHIRAbstractModel
    function = getattr(getattr(model, "reject_null_complex_elements", None), "__func__", None)
    if isinstance(function, types.FunctionType) and not function.__code__.co_freevars:
        # pydantic compiled the validator into every model's schema with this function
        # object: its code is what can be swapped. The new code calls ours by a name
        # put in fhir_core's module (a function's globals are its module's).
        ORIGINALS["reject_null_complex_elements"] = types.FunctionType(
            function.__code__, function.__globals__, function.__name__,
            function.__defaults__)
        fam.__dict__["_samhand_reject_null_complex_elements"] = reject_null_complex_elements
        function.__code__ = _calls_ours.__code__
        _installed.add("reject_null_complex_elements")
    for name, ours in (("_validate_required_primitive_elements", validate_required_primitives),
                       ("_validate_one_of_many", validate_one_of_many)):
        if callable(model.__dict__.get(name)):
            ORIGINALS[name] = model.__dict__[name]
            setattr(model, name, ours)
            _installed.add(name)
    return installed()


def uninstall() -> None:
    """Put fhir_core's own checks back (the comparison tests validate with both)."""
    import fhir_core.types
    from fhir_core import fhirabstractmodel as fam

    model = fam.FHIRAbstractModel
    if "import_string" in _installed:
        fhir_core.types.import_string = ORIGINALS["import_string"]
    if "reject_null_complex_elements" in _installed:
        model.reject_null_complex_elements.__func__.__code__ = (
            ORIGINALS["reject_null_complex_elements"].__code__)
    for name in ("_validate_required_primitive_elements", "_validate_one_of_many"):
        if name in _installed:
            setattr(model, name, ORIGINALS[name])
    _installed.clear()


def _calls_ours(cls, data):  # type: ignore[no-untyped-def]
    # Runs with fhir_core.fhirabstractmodel's globals (see install()).
    return _samhand_reject_null_complex_elements(cls, data)


# --------------------------------------------------------------------------- before

_COMPLEX_LISTS: dict[type, tuple[tuple[str, str | None], ...]] = {}


def _complex_lists(cls: type) -> tuple[tuple[str, str | None], ...]:
    """(field name, alias) of the class's fields that are lists of complex types, except
    the `__ext` siblings of primitive arrays — what fhir_core's check selects."""
    plan = _COMPLEX_LISTS.get(cls)
    if plan is None:
        plan = tuple((name, field.alias) for name, field in cls.model_fields.items()  # type: ignore[attr-defined]
                     if is_list_type(field) and not is_primitive_type(field)
                     and not name.endswith("__ext"))
        _COMPLEX_LISTS[cls] = plan
    return plan


def reject_null_complex_elements(cls: type, data: Any) -> Any:
    """As fhir_core's: a null inside a list of complex types is an error (primitive
    lists keep their nulls: placeholders lining values up with `_field` extensions)."""
    if not isinstance(data, dict):
        return data
    errors: list[Any] = []
    plan = _COMPLEX_LISTS.get(cls)
    if plan is None:
        plan = _complex_lists(cls)
    for name, alias in plan:
        key = alias if alias and alias in data else name
        value = data.get(key)
        if isinstance(value, list) and any(item is None for item in value):
            errors.append({
                "type": PydanticCustomError("list_type",
                                            "None is not allowed as an element of {field}",
                                            {"field": key}),
                "loc": (key,),
                "input": value,
            })
    if errors:
        raise ValidationError.from_exception_data(cls.__name__, errors)
    return data


# --------------------------------------------------------------------------- after

_MISSING: Any = object()
_REQUIRED: dict[type, tuple[tuple[str, str | None, Any], ...]] = {}
_CHOICES: dict[type, Any] = {}


def _required(model: Any) -> tuple[tuple[str, str | None, Any], ...]:
    cls = type(model)
    plan = _REQUIRED.get(cls)
    if plan is None:
        aliases = model.get_alias_mapping()
        fields = cls.model_fields
        plan = tuple((aliases[name], ext, fields[aliases[name]].alias)
                     for name, ext in model.get_required_fields())
        _REQUIRED[cls] = plan
    return plan


def validate_required_primitives(self: Any) -> None:
    """As fhir_core's `_validate_required_primitive_elements`: a required primitive
    element needs a value or an extension saying why it has none."""
    plan = _REQUIRED.get(type(self))
    if plan is None:
        plan = _required(self)
    if not plan:
        return
    errors: list[Any] = []
    for field_key, ext, alias in plan:
        value = getattr(self, field_key, _MISSING)
        if value not in (_MISSING, None):
            continue
        ext_value: Any = getattr(self, ext, _MISSING) if ext is not None else None
        missing_ext = True
        if ext_value not in (_MISSING, None):
            if isinstance(ext_value, dict):
                missing_ext = len(ext_value.get("extension", [])) == 0
            elif ext_value.extension and len(ext_value.extension) > 0:
                missing_ext = False
        if missing_ext:
            errors.append({
                "type": PydanticCustomError("model_field_validation.missing",
                                            "Value for the field '{field_name}' is required.",
                                            {"field_name": alias}),
                "loc": (alias,),
                "input": value,
            })
    if errors:
        raise ValidationError.from_exception_data(type(self).__name__, errors)


_Choices = tuple[tuple[tuple[tuple[str, ...], bool], ...], dict[str, int] | None]


def _choices(model: Any) -> _Choices:
    """The class's choice groups (fields, required), and which group each field is in —
    None where a field of a group has a default other than None (then every field of
    the group is looked at, as fhir_core does; in R4B none has)."""
    cls = type(model)
    plan = _CHOICES.get(cls)
    if plan is None:
        groups = []
        group_of: dict[str, int] | None = {}
        for index, (prefix, fields) in enumerate(model.get_one_of_many_fields().items()):
            extra = cls.model_fields[fields[0]].json_schema_extra
            assert extra["one_of_many"] == prefix
            groups.append((tuple(fields), extra["one_of_many_required"] is True))
            for name in fields:
                if group_of is not None and cls.model_fields[name].default is None:
                    group_of[name] = index
                else:
                    group_of = None
        plan = (tuple(groups), group_of)
        _CHOICES[cls] = plan
    return plan


def validate_one_of_many(self: Any) -> None:
    """As fhir_core's `_validate_one_of_many`: a choice element (`value[x]`) has at most
    one of its types, and one when it is required. Only the fields the element was given
    are looked at (the others hold their default, None), not each of the ~50 types an
    extension's value may have."""
    plan = _CHOICES.get(type(self))
    if plan is None:
        plan = _choices(self)
    groups, group_of = plan
    if not groups:
        return
    counts = [0] * len(groups)
    if group_of is not None:
        for name in self.__pydantic_fields_set__:
            index = group_of.get(name)
            if index is not None and getattr(self, name, None) is not None:
                counts[index] += 1
    else:
        for index, (fields, _required) in enumerate(groups):
            counts[index] = sum(getattr(self, name, None) is not None for name in fields)
    for (fields, required), found in zip(groups, counts, strict=True):
        if found > 1:
            raise ValueError("Any of one field value is expected from "
                             f"this list {list(fields)}, but got multiple!")
        if required and not found:
            raise ValueError(f"Expect any of field value from this list {list(fields)}.")


if typing.TYPE_CHECKING:  # pragma: no cover
    _samhand_reject_null_complex_elements = reject_null_complex_elements
