"""Layering: ``storage/`` is the ground floor and imports nothing of the app above it;
the open-data API does not lean on the public site's pages.

``storage/`` handles files only (object store, scanner, spool, sniffing, names, the file
side of uploads and downloads); whatever knows attachment rows, the database, mail or
audit is in ``portal/`` (``portal/attachments.py``). Domain logic the CLI calls lives in
``portal/``, not in the staff blueprint.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
STORAGE = ROOT / "storage"
ABOVE = ("portal", "admin")  # the layers storage/ must not reach


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, top level or inside a function."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _storage_modules() -> list[Path]:
    modules = sorted(STORAGE.rglob("*.py"))
    assert STORAGE / "__init__.py" in modules and len(modules) > 5, modules
    return modules


def _reaches_above(module: str) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in ABOVE)


@pytest.mark.parametrize("path", _storage_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_storage_imports_nothing_from_portal_or_admin(path):
    wrong = [f"line {line}: {module}" for line, module in _imports(path) if _reaches_above(module)]
    assert not wrong, f"{path.relative_to(ROOT)} imports from a layer above storage/: {wrong}"


def test_importing_storage_loads_no_portal_module():
    """At run time too: importing every storage module pulls in nothing of portal/admin."""
    names = [
        "storage" if p.name == "__init__.py" else "storage." + p.stem for p in _storage_modules()
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {ABOVE!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_one_clamd_client():
    """storage/scan.py is the project's own INSTREAM client: the ``clamd`` package is gone."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [
        r for extra in project.get("optional-dependencies", {}).values() for r in extra
    ]
    assert "clamd" not in {canonicalize_name(Requirement(r).name) for r in requirements}
    for folder in ("storage", "portal", "admin", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            modules = [module for _line, module in _imports(path)]
            assert "clamd" not in modules and not any(m.startswith("clamd.") for m in modules), path


def test_schedule_lives_in_portal():
    assert not (ROOT / "admin" / "schedule.py").exists()
    assert (ROOT / "portal" / "schedule.py").exists()


def test_requests_schedule_cli_still_works(app):
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["requests", "schedule", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "0 would issue, 0 not yet due" in dry.output
    run = runner.invoke(args=["requests", "schedule", "--today", "2030-01-15"])
    assert run.exit_code == 0, run.output
    assert "0 issued, 0 not yet due" in run.output


def test_the_api_takes_nothing_from_the_public_site():
    """portal/api/ imports nothing of portal/public/: what both show of a publication is in
    portal/published/, and the rule of what the public may see is portal.policy's."""
    found = set()
    for path in sorted((ROOT / "portal" / "api").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {(node.module, alias.name) for alias in node.names}
            elif isinstance(node, ast.Import):
                found |= {(alias.name, "") for alias in node.names}
    assert not {(m, n) for m, n in found if (m + ".").startswith("portal.public.")}
    assert ("portal", "policy") in found or any(m == "portal.policy" for m, _ in found)


# The staff pages have the provider pages' shape: one package per area under admin/, whose
# views parse, check and call one operation; operations write and never commit; the view's
# one transaction is portal.transactions.committed().
VIEW_LINES = 30


def _admin_views() -> list[Path]:
    views = sorted((ROOT / "admin").glob("*/views.py"))
    assert len(views) >= 8, views
    return views


def _routes(tree: ast.Module) -> list[ast.FunctionDef]:
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(
            "route" in ast.unparse(d) or ".get(" in ast.unparse(d) or ".post(" in ast.unparse(d)
            for d in node.decorator_list
        )
    ]


def test_admin_is_one_package_per_area():
    loose = sorted(
        p.name
        for p in (ROOT / "admin").glob("*.py")
        if p.name
        not in {"__init__.py", "blueprint.py", "views.py", "fields.py", "lists.py", "scoping.py"}
    )
    assert not loose, f"modules of an area belong in its package: {loose}"


@pytest.mark.parametrize("path", _admin_views(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_admin_views_are_thin_and_never_commit(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    commits = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in {"commit", "rollback"}
    ]
    assert not commits, f"commit/rollback in a view module (lines {commits}): use committed()"
    routes = _routes(tree)
    assert routes, "no views found"
    body_lines = {f.name: f.end_lineno - f.body[0].lineno + 1 for f in routes}
    long = {name: n for name, n in body_lines.items() if n > VIEW_LINES}
    assert not long, f"views over {VIEW_LINES} lines: {long}"


def test_only_portal_jobs_talks_to_the_job_engine():
    """Huey is imported in portal/jobs/ only: the rest enqueues through its functions, so
    another engine would change one package."""
    outside = [
        f"{path.relative_to(ROOT)}:{line}"
        for top in ("portal", "admin", "storage")
        for path in sorted((ROOT / top).rglob("*.py"))
        if "jobs" not in path.relative_to(ROOT).parts
        for line, module in _imports(path)
        if module == "huey" or module.startswith("huey.")
    ]
    assert not outside
