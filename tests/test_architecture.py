"""Architecture guardrails the import contracts (pyproject.toml, `lint-imports`) cannot state.

- No import cycle between any two modules of the apps, counting imports inside functions
  (import-linter's ``acyclic_siblings`` compares siblings; a package and one of its own
  modules, or modules of two apps, are never siblings).
- No code outside the admin uses a private attribute of Django's admin: worker code and
  services ask ``admin.site.get_model_admin(model)`` and the public hooks.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Generic

import grimp
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

ROOT = Path(settings.BASE_DIR)
APPS = ("backoffice", "store", "tags", "store_custom")


# --- Import cycles ----------------------------------------------------------------------------
def strongly_connected_groups(graph: grimp.ImportGraph) -> list[set[str]]:
    """Groups of two or more modules that reach each other through imports (Tarjan, iterative)."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[set[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        index[start] = lowlink[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        while work:
            module, imported = work[-1]
            following = next(imported, None)
            if following is not None:
                if following not in index:
                    index[following] = lowlink[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(sorted(graph.find_modules_directly_imported_by(following)))))
                elif following in on_stack:
                    lowlink[module] = min(lowlink[module], index[following])
                continue
            work.pop()
            if work:
                lowlink[work[-1][0]] = min(lowlink[work[-1][0]], lowlink[module])
            if lowlink[module] == index[module]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == module:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def one_cycle(graph: grimp.ImportGraph, group: set[str]) -> list[str]:
    """The shortest cycle through the group's first module (breadth-first, inside the group)."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following_frontier = []
        for module in frontier:
            for imported in sorted(graph.find_modules_directly_imported_by(module) & group):
                if imported == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if imported not in came_from:
                    came_from[imported] = module
                    following_frontier.append(imported)
        frontier = following_frontier
    raise AssertionError(f"no cycle through {start}")  # a strongly connected group always has one


def describe_cycle(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    lines = []
    for importer, imported in zip(cycle, cycle[1:], strict=False):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"line {d['line_number']}: {d['line_contents']}" for d in details)
        lines.append(f"  {importer} -> {imported}  ({where})")
    return "\n".join(lines)


def test_no_import_cycle_between_any_two_modules():
    graph = grimp.build_graph(*APPS, exclude_type_checking_imports=True, cache_dir=None)
    cycles = [one_cycle(graph, group) for group in strongly_connected_groups(graph)]
    assert not cycles, "Import cycles (imports inside functions count):\n" + "\n\n".join(
        describe_cycle(graph, cycle) for cycle in cycles
    )


# --- Private attributes of Django's admin ----------------------------------------------------
def admin_private_names() -> set[str]:
    """``_x`` names of the admin site, every registered ModelAdmin and its inlines, and the
    changelist: Django's private attributes and the admin classes' own."""
    objects: list[object] = [admin.site, ChangeList]
    for model_admin in admin.site._registry.values():  # no public API lists every registration
        objects += [model_admin, *model_admin.inlines]
    private = {name for obj in objects for name in dir(obj) if name.startswith("_") and not name.startswith("__")}
    return private - set(dir(Generic))  # typing's own (_is_protocol), not the admin's


def outside_the_admin() -> Iterator[Path]:
    """The apps' modules, less the admin itself (store/admin/, each app's admin.py), tests and
    migrations."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if path.name == "admin.py" or parts[:2] == ("store", "admin") or {"tests", "migrations"} & set(parts):
                continue
            yield path


def private_admin_uses(path: Path, names: set[str]) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and node.attr in names:
            yield f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}"


def test_the_private_names_include_the_registry_and_the_admin_hooks():
    names = admin_private_names()
    assert {"_registry", "_changeform_view", "_get_form_for_get_fields"} <= names


def test_no_private_admin_attribute_outside_the_admin():
    names = admin_private_names()
    found = [use for path in outside_the_admin() for use in private_admin_uses(path, names)]
    assert not found, (
        "Private admin attributes used outside the admin (use admin.site.get_model_admin(model) and the "
        "public has_..._permission hooks):\n" + "\n".join(found)
    )
