"""The package's folders are its layers: every import, at module level or inside a function, goes to the
module's own layer or one below it, and no modules import each other in a circle.

The imports are read from the source (``ast``), so an import that runs only when a function is called counts
as much as one at the top of a file.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import reservoir_motor

PACKAGE = Path(reservoir_motor.__file__).resolve().parent

#: Bottom to top. A module's layer is that of its subpackage, or its own name at the top level.
LAYERS = [
    {"errors", "tomlio", "progress", "elementary"},     # what every layer uses
    {"plants"},                                         # the plants' physics
    {"kernel"},                                         # the compiled loop and its codes
    {"kinds", "config", "experiments", "configref"},    # the configuration and its registries
    {"storage"},
    {"simulation"},
    {"studies"},
    {"plots"},
    {"paper"},
    {"envs", "cli", "__init__"},                        # the interfaces
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> int:
    parts = module.split(".")
    return RANK["__init__" if len(parts) == 1 else parts[1]]


def imports_of(module: str) -> set[str]:
    """The package's modules that ``module`` imports (a package's ``__init__`` for ``from package import name``
    where name is not a module)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("reservoir_motor")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("reservoir_motor"):
                source = node.module
            else:
                continue
            for alias in node.names:
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source)
    return {m for m in found if m != module}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_layers_every_module_has_a_layer_and_every_import_names_a_module():
    assert all(layer(m) >= 0 for m in MODULES)
    unknown = {(m, i) for m, targets in GRAPH.items() for i in targets if i not in MODULES}
    assert not unknown


def upward(module: str, graph: dict) -> list[str]:
    return sorted(i for i in graph[module] if layer(i) > layer(module))


def circles(graph: dict) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): each is an import circle."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers_no_import_goes_up(module):
    assert not upward(module, GRAPH), f"{module} (layer {layer(module)}) imports from higher layers"


def test_layers_no_import_circle():
    assert not circles(GRAPH), "import circles"


def test_layers_the_checks_catch_an_upward_import_and_a_circle():
    """The graph of the circle this layout removed (config -> kinds -> envs -> plants -> config), and kinds
    importing the Gymnasium adapters: both are found."""
    old = {"reservoir_motor.config": {"reservoir_motor.kinds"}, "reservoir_motor.kinds": {"reservoir_motor.envs"},
           "reservoir_motor.envs": {"reservoir_motor.plants"}, "reservoir_motor.plants": {"reservoir_motor.config"}}
    assert circles(old) == [sorted(old)]
    assert upward("reservoir_motor.kinds", old) == ["reservoir_motor.envs"]
    assert upward("reservoir_motor.plants", old) == ["reservoir_motor.config"]
    assert not circles({k: set() for k in old})


def test_layers_the_configuration_imports_neither_numba_nor_gymnasium():
    """The registries and the config are read by the docs and the CLI without compiling or registering anything."""
    for module in ("reservoir_motor.kinds", "reservoir_motor.config", "reservoir_motor.kernel.codes",
                   "reservoir_motor.kernel"):
        nodes = list(ast.walk(ast.parse(MODULES[module].read_text())))
        names = {a.name.split(".")[0] for n in nodes if isinstance(n, ast.Import) for a in n.names}
        names |= {(n.module or "").split(".")[0] for n in nodes if isinstance(n, ast.ImportFrom) and not n.level}
        assert not names & {"numba", "gymnasium"}, module


def test_layers_only_the_gpu_modules_import_numba_cuda():
    """numba-cuda is an extra: the GPU's loop and its host side import it (the latter inside its functions), and
    importing the package does not."""
    users = set()
    for module, path in MODULES.items():
        for n in ast.walk(ast.parse(path.read_text())):
            if isinstance(n, ast.ImportFrom) and n.module == "numba" and any(a.name == "cuda" for a in n.names):
                users.add(module)
            if isinstance(n, (ast.Import, ast.ImportFrom)) and "numba.cuda" in (
                    [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]):
                users.add(module)
    assert users == {"reservoir_motor.kernel.device", "reservoir_motor.simulation.on_device"}
    code = "import sys, reservoir_motor; print('numba.cuda' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
