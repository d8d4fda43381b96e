"""The package's layout: folders by pipeline stage, each importing only
from the stages above it; no module over 500 lines."""

import ast
import os
import re

from tests.conftest import ROOT

PACKAGE = os.path.join(ROOT, "topk_distill")
# Top to bottom; `cli` and `commands` sit on the last floor.
STAGES = ["utils", "inputs", "models", "teachers", "records",
          "preprocessing", "distillation", "serving", "commands"]


def _modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def _stage(path_inside):
    """The stage of `topk_distill/<stage>/...`; `None` at the top."""
    parts = path_inside.split(os.sep)
    if parts[0] in ("cli.py", "__main__.py"):
        return "commands"
    return parts[0] if len(parts) > 1 else None


def _imported_stages(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + (
                [f"{node.module}.{a.name}" for a in node.names]
                if node.module == "topk_distill" else [])
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "topk_distill" and len(parts) > 1:
                yield node.lineno, "commands" if parts[1] == "cli" else (
                    parts[1])


def test_no_stage_imports_a_later_one():
    wrong = []
    for path in _modules():
        inside = os.path.relpath(path, PACKAGE)
        own = _stage(inside)
        if own is None:
            continue
        tree = ast.parse(open(path).read())
        for line, stage in _imported_stages(tree):
            if STAGES.index(stage) > STAGES.index(own):
                wrong.append(f"{inside}:{line} ({own}) imports {stage}")
    assert not wrong


def test_every_stage_folder_says_what_it_holds():
    for stage in STAGES:
        init = os.path.join(PACKAGE, stage, "__init__.py")
        doc = ast.get_docstring(ast.parse(open(init).read()))
        assert doc, stage
    assert sorted(STAGES) == sorted(
        name for name in os.listdir(PACKAGE)
        if os.path.isfile(os.path.join(PACKAGE, name, "__init__.py")))


def test_no_module_over_500_lines():
    # A smell bound, not a place to split: a module holds one concept
    # (the label space holds every difference of its two kinds), and one
    # that outgrows this has taken a second.
    long = {os.path.relpath(p, PACKAGE): n for p in _modules()
            if (n := sum(1 for _ in open(p))) > 500}
    assert not long


def test_no_public_name_is_a_stage():
    # Importing `topk_distill.X` sets the package's attribute X to the
    # subpackage, which would hide a public name X (`topk_distill.preprocess`
    # is a function).
    import topk_distill

    assert not set(topk_distill.__all__) & set(STAGES)


def test_every_keras_class_a_saved_model_holds_is_registered_on_load():
    """A `.keras` file loads only once the module of each of its classes
    is imported: every module of `models` that registers a Keras class is
    one `models.register_keras_classes` imports (a sampled student's
    ClassVectors once failed to load in a fresh process)."""
    from topk_distill import models

    folder = os.path.join(PACKAGE, "models")
    registering = {name[:-3] for name in os.listdir(folder)
                   if name.endswith(".py") and "register_keras_serializable"
                   in open(os.path.join(folder, name)).read()}
    assert registering == set(models.KERAS_MODULES)


# What tells single- from multi-label: the label space's own words.
_LABEL_KIND = re.compile(r"multi_?label|max_labels|sigmoid|[\"']labels[\"'] "
                         r"in|ndim[\"', 1)]* == 2|threshold is not None")


def label_kind_branches():
    """`{file: [line, ...]}` of the `if`s (and conditional expressions)
    across the package whose test asks the label kind."""
    found = {}
    for path in _modules():
        source = open(path).read()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.If, ast.IfExp, ast.While)) and \
                    _LABEL_KIND.search(ast.get_source_segment(
                        source, node.test)):
                found.setdefault(os.path.relpath(path, PACKAGE), []).append(
                    node.lineno)
    return found


def test_the_label_kind_is_asked_in_few_places():
    # `LabelSpace` owns the decision: 63 such branches in 20 files at
    # 86e3a30, 68 in 22 before it landed, 18 in 14 when it did, 7 in 3
    # since: the label space, its record rules, the objectives' batch
    # check. The bounds only come down.
    found = label_kind_branches()
    assert sum(map(len, found.values())) <= BRANCH_BOUND, found
    assert set(found) <= {"distillation/objectives.py",
                          "inputs/label_space.py",
                          "records/label_rules.py"}, found


BRANCH_BOUND = 7


def test_tests_mirror_the_package():
    # tests/<stage>/test_<module>[_<aspect>].py tests topk_distill/<stage>/
    # <module>.py; what crosses stages sits at the top of tests/.
    tests = os.path.join(ROOT, "tests")
    strays = []
    for stage in STAGES:
        folder = os.path.join(tests, stage)
        modules = {name[:-3] for name in os.listdir(os.path.join(PACKAGE,
                                                                  stage))}
        for name in sorted(os.listdir(folder)):
            if name.startswith("test_") and not any(
                    name[5:-3] == module or name[5:].startswith(module + "_")
                    for module in modules):
                strays.append(f"tests/{stage}/{name}")
    assert not strays


def _imported_modules(tree, package_of):
    """The `topk_distill` modules a module imports, anywhere in it."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("topk_distill"):
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                yield name if name in package_of else node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names
                        if a.name.startswith("topk_distill"))


def test_no_import_cycle():
    # Imports inside functions count too: they hide a cycle, not end it.
    names = {}
    for path in _modules():
        name = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
        names[name.removesuffix(".__init__")] = path
    graph = {name: set(_imported_modules(ast.parse(open(path).read()),
                                         names)) - {name}
             for name, path in names.items() if not path.endswith(
                 "__init__.py")}
    cycles = []

    def visit(name, path):
        for imported in graph.get(name, ()):
            if imported in path:
                cycles.append(path[path.index(imported):] + [imported])
            elif imported not in done:
                done.add(imported)
                visit(imported, path + [imported])

    done = set()
    for name in graph:
        visit(name, [name])
    assert not cycles


def _functions():
    for path in _modules():
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield os.path.relpath(path, PACKAGE), node


def test_no_function_over_60_lines_of_code():
    # Code lines: the signature to the end, less the docstring's lines.
    long = {}
    for path, node in _functions():
        first = node.decorator_list[0] if node.decorator_list else node
        lines = node.end_lineno - first.lineno + 1
        if ast.get_docstring(node):
            doc = node.body[0]
            lines -= doc.end_lineno - doc.lineno + 1
        if lines > 60:
            long[f"{path}:{node.name}"] = lines
    assert not long


def test_public_functions_take_few_parameters():
    # At most 8 besides `self`: more settings travel as a config (whose
    # fields a function may also take as keywords).
    found = {}
    for path, node in _functions():
        args = node.args
        names = [a.arg for a in args.posonlyargs + args.args +
                 args.kwonlyargs if a.arg not in ("self", "cls")]
        if len(names) > 8 and not node.name.startswith("_"):
            found[f"{path}:{node.name}"] = len(names)
    assert not found
