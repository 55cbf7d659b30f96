"""The house as it is meant to stand: layers that import only downwards, no circles, small rooms.

Read from the source (every import, at module level or inside a function, ``TYPE_CHECKING`` ones
too: a lazy import that climbs is still a climb), so a move that breaks the layering fails here
rather than in a newcomer's head. See docs/architecture.md for the picture in words.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = PACKAGE_ROOT / "joytag_desktop"
RESOURCES = PACKAGE_ROOT / "resources"
MAX_LINES = 700

# Layers, lowest first. A module may import its own layer and the layers below it, never above.
# Several layers may share a rank when they must not know each other (their rank alone does not
# allow an import between them: ``MAY_IMPORT`` spells out which lower layers each one uses).
LAYERS: dict[str, tuple[str, ...]] = {
    # Foundations: errors, paths, files, logging of failures, bundled resources.
    "foundation": (
        "joytag_desktop",  # the package's own __init__
        "joytag_desktop.errors",
        "joytag_desktop.paths",
        "joytag_desktop.lazy",
        "joytag_desktop.native",
        "joytag_desktop.files",
        "joytag_desktop.failures",
        "joytag_desktop.resources",
        "joytag_desktop.categories",
    ),
    # Reading image files: pixels, RAW, hashes, thumbnails, EXIF, the exiftool process.
    "media": ("joytag_desktop.media",),
    # Keywords in files: XMP sidecars, embedded XMP/IPTC/Windows/ACDSee fields (uses media/).
    "metadata": ("joytag_desktop.metadata",),
    "taggers": ("joytag_desktop.taggers",),
    "inference": ("joytag_desktop.inference",),
    "library": ("joytag_desktop.library",),
    "interchange": ("joytag_desktop.interchange",),
    "worker": ("joytag_desktop.worker",),
    "cli": ("joytag_desktop.cli",),
    "gui": ("joytag_desktop.gui",),
    # The entry point: picks the window or a command.
    "entry": ("joytag_desktop.__main__", "joytag_desktop.launch"),
}

MAY_IMPORT: dict[str, set[str]] = {
    "foundation": set(),
    "media": {"foundation"},
    "metadata": {"foundation", "media"},
    "taggers": {"foundation", "media"},
    "inference": {"foundation", "media", "taggers"},
    "library": {"foundation", "media", "metadata", "taggers"},
    "interchange": {"foundation", "media", "metadata", "library"},
    "worker": {"foundation", "media", "metadata", "taggers", "inference", "library", "interchange"},
    "cli": {"foundation", "media", "metadata", "taggers", "inference", "library", "interchange", "worker"},
    "gui": {"foundation", "media", "metadata", "taggers", "inference", "library", "interchange", "worker"},
    "entry": {"foundation", "cli", "gui"},
}

# Inside the library, the facade wires the rooms: no room reaches back up to it.
FACADE = "joytag_desktop.library.library"
FACADE_USERS_INSIDE_LIBRARY = {"joytag_desktop.library"}


def _module_name(path: Path) -> str:
    if path.is_relative_to(RESOURCES):
        parts = ["joytag_desktop", "resources", *path.relative_to(RESOURCES).with_suffix("").parts]
    else:
        parts = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = [*PACKAGE.rglob("*.py"), *RESOURCES.rglob("*.py")]
    return {_module_name(path): path for path in files if "migrations" not in path.parts}


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``module`` imports (``from a import b`` counts as ``a.b`` when that is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            if not name.startswith("joytag_desktop"):
                continue
            # The longest known module the name points into.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    return {module: _imports(module, path, known) for module, path in sources.items()}


def _layer(module: str) -> str:
    best, best_length = "", -1
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            matches = module == prefix or (module.startswith(prefix + ".") and prefix != "joytag_desktop")
            if matches and len(prefix) > best_length:
                best, best_length = layer, len(prefix)
    if not best:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {Path(__file__).name}")
    return best


def _package_face(module: str) -> bool:
    """An ``__init__`` that only hands names on imports its own modules; that is no climb."""
    return (_sources()[module]).name == "__init__.py"


def test_every_module_has_a_layer() -> None:
    for module in _sources():
        _layer(module)


def test_no_import_runs_back_up() -> None:
    climbs = []
    for module, imported in _graph().items():
        layer = _layer(module)
        for target in imported:
            target_layer = _layer(target)
            if target_layer != layer and target_layer not in MAY_IMPORT[layer]:
                climbs.append(f"{module} ({layer}) -> {target} ({target_layer})")
    assert not climbs, "imports that run back up or sideways:\n" + "\n".join(sorted(climbs))


def test_no_room_of_the_library_imports_its_facade() -> None:
    offenders = sorted(
        module
        for module, imported in _graph().items()
        if FACADE in imported
        and module.startswith("joytag_desktop.library")
        and module not in FACADE_USERS_INSIDE_LIBRARY
    )
    assert not offenders, f"rooms that climb back to the Library facade: {offenders}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_circles() -> None:
    graph = _graph()
    # A package face importing its own modules is how Python packages hand names on; the cycle
    # that matters is between modules, so faces are left out of the graph.
    modules = {module: {t for t in targets if not _package_face(t)} for module, targets in graph.items()}
    modules = {module: targets for module, targets in modules.items() if not _package_face(module)}
    cycles = _cycles(modules)
    assert not cycles, "modules that import each other in a loop:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("limit", [MAX_LINES])
def test_no_module_is_too_big(limit: int) -> None:
    sizes = defaultdict(int)
    for module, path in _sources().items():
        sizes[module] = len(path.read_text(encoding="utf-8").splitlines())
    too_big = {module: lines for module, lines in sizes.items() if lines > limit}
    assert not too_big, f"modules over {limit} lines (split them by responsibility): {too_big}"
