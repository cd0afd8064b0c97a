"""security.md #21 (no injection-prone code) and #23 (no identifiers in URLs), as
static checks over the application code; bandit over the same files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import UUIDConverter
from django.urls.resolvers import RegexPattern, RoutePattern

from samhand.lib.testing.static_checks import (
    check_python_source,
    check_template_source,
    check_tree,
    source_files,
)

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parent

BAD_PYTHON = '''
import pickle
from django.utils.safestring import mark_safe
import os, subprocess
from django.db.models.expressions import RawSQL

QUERY = "SELECT 1"

def view(request, cursor, Patient, name):
    eval(request.GET["x"])
    exec("print(1)")
    mark_safe(name)
    subprocess.run("ls " + name, shell=True)
    os.system("ls")
    cursor.execute(f"SELECT * FROM t WHERE name = '{name}'")
    cursor.execute("SELECT * FROM t WHERE name = '%s'" % name)
    cursor.execute("SELECT {}".format(name))
    Patient.objects.raw("SELECT * FROM p WHERE x = " + name)
    Patient.objects.extra(where=["x = 1"])
    RawSQL(name, [])
    cursor.execute(QUERY)
    cursor.execute("SELECT * FROM t WHERE name = %s", [name])
    cursor.execute(f"SELECT {name}")  # samhand: reviewed-sql
    subprocess.run(["ls"], shell=False)
    cursor.execute(f"ALTER TABLE {connection.ops.quote_name(name)} DISABLE TRIGGER USER")
'''


def test_checker_finds_each_injection_prone_pattern() -> None:
    findings = check_python_source(BAD_PYTHON, "bad.py")

    by_line = {(f.line, f.rule) for f in findings}
    assert by_line == {
        (2, "pickle"), (10, "eval"), (11, "eval"), (12, "html"), (13, "shell"),
        (14, "shell"), (15, "sql"), (16, "sql"), (17, "sql"), (18, "sql"), (19, "sql"),
        (20, "sql"),
    }


def test_checker_finds_unescaped_template_output() -> None:
    template = (
        "<p>{{ note }}</p>\n<p>{{ note|safe }}</p>\n{% autoescape off %}{{ x }}\n"
        "{% endautoescape %}\n<p>{{ html | safe }}{# samhand: reviewed-html #}</p>\n"
    )

    findings = check_template_source(template, "t.html")

    assert [(f.line, f.rule) for f in findings] == [(2, "html"), (3, "html")]


def test_no_injection_prone_code_in_the_application() -> None:
    files = list(source_files(PACKAGE))
    assert any(path.name == "policy.py" for path in files)
    assert not any(part == "tests" or part.startswith("tests_") or part == "migrations"
                   for path in files for part in path.relative_to(PACKAGE).parts)

    findings = check_tree(PACKAGE, files)

    assert not findings, "injection-prone code (security.md #21):\n" + "\n".join(
        str(f) for f in findings)


def test_bandit_finds_no_medium_or_high_severity_issue() -> None:
    excluded = "*/tests/*,*/tests_*/*,*/conftest.py,*/migrations/*"
    result = subprocess.run(  # noqa: S603  (fixed argv, no shell)
        [sys.executable, "-m", "bandit", "--recursive", "samhand", "--severity-level", "medium",
         "--exclude", excluded, "--format", "json", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads(result.stdout)
    scanned = report["metrics"]["_totals"]["loc"]
    issues = [
        f"{item['filename']}:{item['line_number']}: {item['test_id']} "
        f"[{item['issue_severity']}/{item['issue_confidence']}] {item['issue_text']}"
        for item in report["results"]
    ]

    assert scanned > 500
    assert not report["errors"], report["errors"]
    assert not issues, "bandit (medium/high severity):\n" + "\n".join(issues)
    assert result.returncode == 0, result.stderr


IDENTIFIER_WORDS = frozenset({
    "fnr", "dnr", "hnr", "ssn", "cpr", "pid", "nin", "personnummer", "fodselsnummer",
    "fødselsnummer", "national", "nationalid", "birth", "birthdate", "identifier",
})


def walk_patterns(
    patterns: list[Any], prefix: str = ""
) -> Iterator[tuple[str, str, type | None]]:
    """(route, parameter name, converter class or None for regex groups) for every route."""
    for entry in patterns:
        pattern = entry.pattern
        route = prefix + str(pattern)
        if isinstance(pattern, RoutePattern):
            for name, converter in pattern.converters.items():
                yield route, name, type(converter)
        elif isinstance(pattern, RegexPattern):
            for name in pattern.regex.groupindex:
                yield route, name, None
        if isinstance(entry, URLResolver):
            yield from walk_patterns(entry.url_patterns, route)
        else:
            assert isinstance(entry, URLPattern)


def test_no_route_takes_a_national_identifier_and_patients_are_addressed_by_uuid() -> None:
    problems = []
    parameters = list(walk_patterns(get_resolver().url_patterns))
    for route, name, converter in parameters:
        words = set(re.split(r"[_\W]+", name.lower()))
        if words & IDENTIFIER_WORDS:
            problems.append(f"{route}: parameter <{name}> names an identifier; use a UUID")
        if "patient" in words and not (converter and issubclass(converter, UUIDConverter)):
            problems.append(f"{route}: <{name}> must use the uuid converter")

    assert parameters, "the URL walk found no parameters at all (admin has some)"
    assert not problems, "security.md #23:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", ["patient_fnr", "national_id", "cpr"])
def test_identifier_words_catch_typical_parameter_names(name: str) -> None:
    assert set(re.split(r"[_\W]+", name.lower())) & IDENTIFIER_WORDS
