"""Dependencies point one way: `billing` may use `storefront`, never the reverse (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_storefront_never_imports_billing():
    offenders = []
    for path in (ROOT / "storefront").rglob("*.py"):
        # The project's URLconf wires every app together; it is the one allowed meeting point.
        if path == ROOT / "storefront" / "urls.py":
            continue
        if any(m == "billing" or m.startswith("billing.") for m in imported_modules(path)):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_only_the_gateway_imports_stripe():
    gateway = ROOT / "billing" / "gateway.py"
    offenders = []
    for app in ("storefront", "billing"):
        for path in (ROOT / app).rglob("*.py"):
            if path == gateway:
                continue
            if any(m == "stripe" or m.startswith("stripe.") for m in imported_modules(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# No import cycles between the apps' modules.

APPS = ("billing", "storefront")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import that can run, at module level or inside a function: only the imports under
    `if TYPE_CHECKING:` are left out (they never run)."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if _is_type_checking_block(child):
                stack.extend(child.orelse)  # type: ignore[attr-defined]
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.append(child)
            stack.append(child)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the app modules it imports (migrations left out: nothing imports them)."""
    paths = {
        _module_name(path): path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                # `from billing import gateway` imports the module billing.gateway.
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in paths else base)
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, …, a], or [] when there is none (depth-first search)."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if cycle := visit(target):
                return cycle
        path.pop()
        done.add(module)
        return []

    for module in sorted(graph):
        if cycle := visit(module):
            return cycle
    return []


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import():
    tree = ast.parse(
        "from billing.models import X\n"
        "def later():\n"
        "    from billing import tasks\n"
        "if TYPE_CHECKING:\n"
        "    from billing import views\n"
    )
    imported = {(node.module, tuple(a.name for a in node.names)) for node in _runtime_imports(tree)}
    assert imported == {("billing.models", ("X",)), ("billing", ("tasks",))}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles_between_the_apps_modules():
    graph = import_graph()
    assert (
        "billing.tasks" in graph["billing.webhooks"] or "billing.webhooks" in graph["billing.tasks"]
    ), "the graph must see imports between modules"
    assert find_cycle(graph) == []
