"""The package's layout: folders by pipeline stage, each importing only
from the stages above it; no module over 400 lines."""

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


def test_no_module_over_400_lines():
    long = {os.path.relpath(p, PACKAGE): n for p in _modules()
            if (n := sum(1 for _ in open(p))) > 400}
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
    # 86e3a30, 68 in 22 before it landed, 18 in 14 since.
    # The bound only comes down as branches move to it (the goal: 10 in 3).
    found = label_kind_branches()
    assert sum(map(len, found.values())) <= BRANCH_BOUND, found


BRANCH_BOUND = 18


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
