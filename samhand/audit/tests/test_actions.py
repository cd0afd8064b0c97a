"""Every audit code samhand writes has one translated sentence (style.md §8)."""

import ast
import importlib
import importlib.util
from pathlib import Path

import samhand
from samhand.audit.actions import ACTION_SENTENCES, sentence_for
from samhand.audit.services import CODE_PATTERN

# Dotted strings that are not audit codes: module paths and host names.
HOST_SUFFIXES = ("org", "no", "dk", "com", "net", "local", "test")


def _is_python_path(dotted):
    try:
        if importlib.util.find_spec(dotted) is not None:
            return True
    except (ImportError, ValueError):
        pass
    parent, _, attr = dotted.rpartition(".")
    try:
        return hasattr(importlib.import_module(parent), attr)
    except ImportError:
        return False


def codes_in_source():
    """Every string in samhand's code (not tests) that looks like an audit code."""
    root = Path(samhand.__file__).parent
    found = {}
    for path in root.rglob("*.py"):
        if path.name.startswith("test_") or "migrations" in path.parts \
                or any(part.startswith("tests") for part in path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            value = node.value
            if not CODE_PATTERN.match(value) or value.rsplit(".", 1)[-1] in HOST_SUFFIXES:
                continue
            if value not in found and not _is_python_path(value):
                found[value] = str(path.relative_to(root.parent))
    return found


def test_the_source_is_found():
    codes = codes_in_source()
    assert "samhand.emergency.started" in codes
    assert "samhand.audit.exported" in codes


def test_every_code_written_has_a_sentence():
    missing = {code: where for code, where in codes_in_source().items()
               if code not in ACTION_SENTENCES}
    assert not missing, f"add these to samhand/audit/actions.py: {missing}"


def test_every_code_is_namespaced():
    for code in set(codes_in_source()) | set(ACTION_SENTENCES):
        assert CODE_PATTERN.match(code), code


def test_unknown_code_falls_back_to_the_action():
    assert sentence_for("samhand.thing.happened", "D")
    assert sentence_for("samhand.thing.happened", "?")
