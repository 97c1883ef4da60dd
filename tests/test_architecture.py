"""The package's layout: sub-packages in layers, imports only downward, no private reach-ins, README in step.

The import graph is read from the source with ``ast`` (every import, also those inside functions), so
a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import windowner

PACKAGE = Path(windowner.__file__).parent
README = PACKAGE.parent / "README.md"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported windowner module, imported name or None, line) for every import in ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "windowner"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "windowner":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, None, node.lineno) if sub in MODULES else (target, a.name, node.lineno))
    return out


GRAPH = {m: sorted({t for t, _, _ in imports(m) if t != m}) for m in MODULES}


def unit(module: str) -> str:
    """The unit a module belongs to: its sub-package (``windowner.text``), or itself at the top level."""
    parts = module.split(".")
    return (
        ".".join(parts[:2]) if len(parts) > 2 or (len(parts) == 2 and MODULES[module].name == "__init__.py") else module
    )


UNITS = {m: unit(m) for m in MODULES}


def readme_layers() -> list[list[str]]:
    """The layer table of the README's Architecture section: one row per layer, lowest first."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- architecture -->(.*?)<!-- /architecture -->", text, re.S)
    assert block, "README.md has no <!-- architecture --> section"
    rows = re.findall(r"^\s*(\d+)\s{2,}(\S.*?)\s{2,}", block.group(1), re.M)
    assert [int(n) for n, _ in rows] == list(range(len(rows))), "layers are numbered 0, 1, 2, ... in order"
    return [
        [f"windowner.{m.strip().rstrip('/')}" if m.strip() != "windowner" else "windowner" for m in mods.split(",")]
        for _, mods in rows
    ]


LAYERS = readme_layers()
LAYER_OF = {u: i for i, units in enumerate(LAYERS) for u in units}


def test_every_package_and_top_level_module_is_in_exactly_one_readme_layer():
    listed = [u for units in LAYERS for u in units]
    assert len(listed) == len(set(listed)), "a package or module is listed twice"
    assert sorted(listed) == sorted(set(UNITS.values())), "README layers and windowner/'s packages and modules differ"


def test_imports_only_go_down_the_layers():
    """A module imports from its own package or from a package (or top-level module) on a lower layer."""
    upward = [
        f"{m} ({UNITS[m]}, layer {LAYER_OF[UNITS[m]]}) imports {t} ({UNITS[t]}, layer {LAYER_OF[UNITS[t]]})"
        for m, deps in GRAPH.items()
        for t in deps
        if UNITS[t] != UNITS[m] and LAYER_OF[UNITS[t]] >= LAYER_OF[UNITS[m]]
    ]
    assert upward == []


def test_the_top_level_stays_small():
    """At most 8 modules beside the sub-packages; no module over 500 lines."""
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}


def test_old_module_paths_still_import():
    """Modules of the flat layout import under their old names, as the same module object."""
    import importlib

    from windowner.integrations.sklearn import WindowNERClassifier
    from windowner.text.conll import read_conll

    assert importlib.import_module("windowner.conll").read_conll is read_conll
    from windowner.sklearn import WindowNERClassifier as Old

    assert Old is WindowNERClassifier
    for old, new in windowner.MOVED.items():
        assert importlib.import_module(f"windowner.{old}") is importlib.import_module(f"windowner.{new}")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_imports_a_private_name_of_another():
    private = [
        f"{m}:{line} imports {name or t} from {t}"
        for m in MODULES
        for t, name, line in imports(m)
        if t != m and (any(_private(p) for p in t.split(".")) or _private(name or ""))
    ]
    assert private == []


def test_the_checks_can_fail(tmp_path, monkeypatch):
    """The graph reader sees relative, absolute and function-level imports (so the checks above can fail)."""
    src = tmp_path / "m.py"
    src.write_text("from .text.tags import _x\ndef f():\n    import windowner.cli\n")
    monkeypatch.setitem(MODULES, "windowner.fake", src)
    found = {(t, name) for t, name, _ in imports("windowner.fake")}
    assert found == {("windowner.text.tags", "_x"), ("windowner.cli", None)}


def test_import_and_help_stay_light():
    """``import windowner`` and ``windowner --help`` import none of spaCy, Dask, matplotlib, scikit-learn."""
    heavy = ("spacy", "dask", "distributed", "matplotlib", "sklearn", "gensim", "pandas")
    code = (
        "import sys, windowner, windowner.cli\n"
        "try:\n    windowner.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_hyper_parameters_are_written_once():
    """The CLI flags and the estimator's parameters come from TrainConfig: nothing to keep in step by hand."""
    from dataclasses import fields

    from windowner.cli import build_parser
    from windowner.integrations.sklearn import WindowNERClassifier
    from windowner.model.config import TrainConfig

    train = next(a for a in build_parser()._subparsers._group_actions[0].choices.values() if a.prog.endswith("train"))
    dests = {a.dest for a in train._actions}
    names = {f.name for f in fields(TrainConfig)}
    assert names <= dests
    assert set(WindowNERClassifier().get_params()) == (names - {"seed"}) | {"random_state"}
    for name, kind in (("activation", "relu"), ("head", "softmax"), ("transitions", "learned")):
        action = next(a for a in train._actions if a.dest == name)
        assert kind in action.choices
