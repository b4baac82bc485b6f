"""The import order of src/s2s: a module imports only from its own layer or the layers below it.

Layers, lowest first (a module's layer is its package, or its own name for a top-level module):

    0  version, errors, specials, registry, config, pretrained, checkpoint, device, progress, plotting, outputs:
       shared by all
    1  data        read, tokenize, batch
    2  models      nn.Modules: ids and lengths in, losses and log-probabilities out
    3  decoding    greedy and beam search over a trained model
    4  evaluation  sacreBLEU / chrF, reports
       export      a checkpoint as ONNX graphs (the encoder and one decoder step)
       runtime     translation with onnxruntime and numpy over an export, without torch
    5  training    the trainer; it validates by decoding and scoring (3, 4), so it sits above them
    6  analysis    gradient studies built from models and the training loss
       serving     s2s serve: the HTTP service and web page over the decoder (3)
    7  cli, commands (one module per subcommand), __main__, and the package root (its public API)

Data flows config -> data -> models -> training -> decoding -> evaluation (docs/development.md); imports run
the same way except that the trainer calls the decoder and the metrics for its validation BLEU, as Joey NMT's
training calls its prediction module. Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "s2s"
LAYERS = {
    "errors": 0, "specials": 0, "registry": 0, "config": 0, "checkpoint": 0, "device": 0, "progress": 0,
    "plotting": 0, "pretrained": 0, "version": 0, "outputs": 0,
    "data": 1, "models": 2, "decoding": 3, "evaluation": 4, "export": 4, "runtime": 4, "training": 5, "analysis": 6, "serving": 6,
    "cli": 7, "commands": 7, "__main__": 7, "__init__": 7,
}


def layer_of(dotted: str) -> str:
    """'s2s.data.vocab' -> 'data'; 's2s' (the package root) -> '__init__'."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def s2s_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported s2s module) for every import in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "s2s"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "s2s" and not node.level:
            if node.module == "s2s":  # from s2s import X: X is a submodule, or a name of the root
                found += [(node.lineno, f"s2s.{alias.name}" if (SRC / alias.name).exists()
                           or (SRC / f"{alias.name}.py").exists() else "s2s") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def module_layer(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_every_module_has_a_layer():
    unplaced = sorted({module_layer(p) for p in SRC.rglob("*.py")} - set(LAYERS))
    assert not unplaced, f"put these in LAYERS (and the docstring): {unplaced}"


def test_no_module_imports_a_higher_layer():
    violations = []
    for path in sorted(SRC.rglob("*.py")):
        own = module_layer(path)
        for line, module in s2s_imports(path):
            target = layer_of(module)
            if target == "__init__" and own != "__init__":
                continue  # `from s2s import __version__`: the root's own names, no layer above is loaded
            if LAYERS[target] > LAYERS[own]:
                violations.append(f"{path.relative_to(SRC.parent)}:{line} ({own}, layer {LAYERS[own]}) imports "
                                  f"{module} ({target}, layer {LAYERS[target]})")
    assert not violations, "lower layers import higher ones:\n" + "\n".join(violations)


@pytest.mark.parametrize("source, expected", [
    ("from s2s.training.loss import model_loss\n", ["s2s.training.loss"]),
    ("def f():\n    import s2s.decoding.beam\n", ["s2s.decoding.beam"]),
    ("from s2s import plotting, __version__\n", ["s2s.plotting", "s2s"]),
    ("from . import sibling\nimport torch\n", []),
])
def test_the_import_parser_sees_top_level_lazy_and_root_imports(tmp_path, source, expected):
    path = tmp_path / "module.py"
    path.write_text(source)
    assert [module for _, module in s2s_imports(path)] == expected
