"""Repository-local static checks for injection-prone code (security.md #21).

Python files are read as syntax trees, templates as text. A finding can be accepted
only by a comment naming its rule on the flagged lines (or the line above), e.g.
`# samhand: reviewed-sql` after a review; ruff's `noqa` does not count here.

Rules:
- html:   mark_safe(), SafeString(); `|safe`, `|safeseq`, `{% autoescape off %}` in templates
- eval:   eval(), exec()
- pickle: importing pickle, cPickle, dill, shelve or marshal
- shell:  shell=True in any call; os.system(), os.popen()
- sql:    QuerySet.extra(); .raw(), RawSQL(), .execute()/.executemany() whose SQL is not a
          string literal (f-string, %, +, .format(), or a variable that is not a literal);
          an f-string whose only placeholders are `...quote_name(x)` counts as literal
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"samhand:\s*reviewed-(?P<rule>[a-z]+)")
PICKLE_MODULES = frozenset({"pickle", "cPickle", "_pickle", "dill", "shelve", "marshal"})
SQL_CALLS = frozenset({"raw", "execute", "executemany"})
TEMPLATE_PATTERNS = (
    (re.compile(r"\|\s*safe(seq)?\b"), "the |safe filter turns escaping off"),
    (re.compile(r"{%\s*autoescape\s+off\s*%}"), "{% autoescape off %} turns escaping off"),
)
TEMPLATE_SUFFIXES = frozenset({".html", ".txt", ".xml", ".svg"})


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


def _call_name(node: ast.Call) -> tuple[str | None, str | None]:
    """(object name, attribute) for `obj.attr(...)`, (None, name) for `name(...)`."""
    func = node.func
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        base = func.value
        owner = base.id if isinstance(base, ast.Name) else None
        return owner, func.attr
    return None, None


def _literal_names(tree: ast.AST) -> set[str]:
    """Names that are only ever assigned a plain string literal in this file."""
    literal: set[str] = set()
    other: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            for target in targets:
                if isinstance(target, ast.Name):
                    is_literal = isinstance(value, ast.Constant) and isinstance(value.value, str)
                    (literal if is_literal else other).add(target.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            other.add(node.target.id)
    return literal - other


def _is_quoted_identifier(node: ast.expr) -> bool:
    """`connection.ops.quote_name(...)`: an identifier quoted by the database backend."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "quote_name")


def _is_static_sql(node: ast.expr, literal_names: set[str]) -> bool:
    """A literal, a name bound only to literals, or literals joined with quoted identifiers."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(
            isinstance(part, ast.Constant)
            or (isinstance(part, ast.FormattedValue) and _is_quoted_identifier(part.value))
            for part in node.values
        )
    return isinstance(node, ast.Name) and node.id in literal_names


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, tree: ast.AST) -> None:
        self.path = path
        self.literal_names = _literal_names(tree)
        self.found: list[tuple[ast.AST, str, str]] = []

    def flag(self, node: ast.AST, rule: str, message: str) -> None:
        self.found.append((node, rule, message))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in PICKLE_MODULES:
                self.flag(node, "pickle", f"import {alias.name}: never unpickle input")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.module.split(".")[0] in PICKLE_MODULES:
            self.flag(node, "pickle", f"from {node.module} import ...: never unpickle input")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        owner, name = _call_name(node)
        if name in {"mark_safe", "SafeString"}:
            self.flag(node, "html", f"{name}() bypasses escaping; use format_html()")
        elif name in {"eval", "exec"} and owner is None:
            self.flag(node, "eval", f"{name}() runs code from a string")
        elif owner == "os" and name in {"system", "popen"}:
            self.flag(node, "shell", f"os.{name}() runs a shell")
        elif name == "extra" and isinstance(node.func, ast.Attribute):
            self.flag(node, "sql", ".extra() takes raw SQL; use expressions")
        elif name == "RawSQL" or (name in SQL_CALLS and isinstance(node.func, ast.Attribute)):
            sql = node.args[0] if node.args else next(
                (kw.value for kw in node.keywords if kw.arg in {"sql", "raw_query", "query"}),
                None)
            if sql is not None and not _is_static_sql(sql, self.literal_names):
                self.flag(node, "sql", f"{name}() with SQL built at run time; pass parameters")
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                self.flag(node, "shell", "shell=True lets input reach a shell")
        self.generic_visit(node)


def _accepted(lines: list[str], first: int, last: int, rule: str) -> bool:
    for number in range(max(first - 1, 1), last + 1):
        for match in MARKER.finditer(lines[number - 1] if number <= len(lines) else ""):
            if match.group("rule") == rule:
                return True
    return False


def check_python_source(source: str, path: str = "<string>") -> list[Finding]:
    tree = ast.parse(source, filename=path)
    visitor = _Visitor(path, tree)
    visitor.visit(tree)
    lines = source.splitlines()
    findings = []
    for node, rule, message in visitor.found:
        first = getattr(node, "lineno", 1)
        last = getattr(node, "end_lineno", None) or first
        if not _accepted(lines, first, last, rule):
            findings.append(Finding(path, first, rule, message))
    return findings


def check_template_source(source: str, path: str = "<string>") -> list[Finding]:
    findings = []
    lines = source.splitlines()
    for number, line in enumerate(lines, start=1):
        for pattern, message in TEMPLATE_PATTERNS:
            if pattern.search(line) and not _accepted(lines, number, number, "html"):
                findings.append(Finding(path, number, "html", message))
    return findings


def is_test_path(path: Path) -> bool:
    """Test code: `tests/` and `tests_*/` packages (tests_infra, tests_security, ...)."""
    return (any(part == "tests" or part.startswith("tests_") for part in path.parts)
            or path.name == "conftest.py")


def is_migration_path(path: Path) -> bool:
    """Migrations run fixed DDL at deploy time and never see input; ruff skips them too."""
    return "migrations" in path.parts


def source_files(root: Path) -> Iterator[Path]:
    """Application files under `root`: Python and templates, without tests or migrations."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or is_test_path(relative) or is_migration_path(relative):
            continue
        if "__pycache__" in path.parts:
            continue
        if path.suffix == ".py" or (path.suffix in TEMPLATE_SUFFIXES and "templates" in path.parts):
            yield path


def check_tree(root: Path, files: Iterable[Path] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for path in files if files is not None else source_files(root):
        shown = str(path.relative_to(root.parent))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            findings.extend(check_python_source(text, shown))
        else:
            findings.extend(check_template_source(text, shown))
    return sorted(findings)
