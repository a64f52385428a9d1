"""The layers of README's Architecture paragraph, checked on every import of the code:

    config, demo                     the top: settings, URLs, the API's plumbing, demo data
    gateway_events                   the gateway's webhooks, mapped onto payments and disputes
    subscriptions, chargebacks, bulk domain apps that use payments
    payments                         uses customers
    customers
    webhooks                         endpoints, the event outbox, signed delivery
    merchants
    audit                            the trail: records what services tell it
    core                             errors, ids, paging, money, actors, htmx, form tokens

A module may import its own app and the apps of the layers below it, never a layer above
or a neighbour in its own layer. An import inside a function may not reach another of
our apps (that would be a cycle kept alive by hiding the import)."""

import ast
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = [
    ["core"],
    ["audit"],
    ["merchants"],
    ["webhooks"],
    ["customers"],
    ["payments"],
    ["subscriptions", "chargebacks", "bulk"],
    ["gateway_events"],
    ["config", "demo"],
]
RANK = {app: rank for rank, apps in enumerate(LAYERS) for app in apps}


def modules():
    for app in RANK:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def imported_apps(node: ast.AST, app: str) -> list[str]:
    """Our apps an import statement names ('from . import x' is the module's own app)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            return [app]
        names = [node.module or ""]
    else:
        return []
    return [name.split(".")[0] for name in names if name.split(".")[0] in RANK]


def imports_in_functions(tree: ast.AST):
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    yield node


@pytest.mark.parametrize(("app", "path"), list(modules()), ids=lambda v: str(v))
def test_imports_follow_the_layers(app, path):
    tree = ast.parse(path.read_text(), filename=str(path))
    wrong = []
    for node in ast.walk(tree):
        for target in imported_apps(node, app):
            if target != app and RANK[target] >= RANK[app]:
                wrong.append(f"line {node.lineno}: {app} imports {target}")
    for node in imports_in_functions(tree):
        for target in imported_apps(node, app):
            if target != app:
                wrong.append(f"line {node.lineno}: an import of {target} hidden in a function")
    assert not wrong, f"{path.relative_to(ROOT)}: " + "; ".join(wrong)


def test_every_app_is_in_a_layer():
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")} | {"config"}
    assert apps == set(RANK)


def test_the_checker_sees_a_wrong_import():
    tree = ast.parse("from payments.models import Payment\n")
    node = tree.body[0]
    assert imported_apps(node, "customers") == ["payments"]
    assert RANK["payments"] > RANK["customers"]


def test_every_app_is_packaged():
    """An install that is not editable (`pip install .`, a wheel) takes only the packages
    pyproject.toml names: an app left out of it would fail at start-up."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    missing = [app for app in RANK if not any(fnmatch(app, pattern) for pattern in included)]
    assert not missing, f"pyproject.toml's packages leave out {missing}"
