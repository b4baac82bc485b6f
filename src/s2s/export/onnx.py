"""A zoo checkpoint as two ONNX graphs: the encoder, and one decoder step (s2s.runtime runs them without torch).

s2s.runtime.graphs builds the graphs from the weights (its docstring describes their inputs and outputs); this module
checks the model, writes them with the vocabularies, tokenizers and a manifest.json to a folder, and runs them
beside the torch model. manifest.json names the model, its sizes, states, special ids, tokenizers and the
checkpoint's decode: defaults; the vocabularies and SentencePiece models sit beside it as files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from s2s.version import __version__
from s2s.decoding.translator import load_model
from s2s.errors import S2SError
from s2s.models.decoder import Decoder
from s2s.models.encoder import Encoder
from s2s.models.lm import LanguageModel
from s2s.models.seq2seq import Seq2Seq
from s2s.runtime import graphs
from s2s.runtime.graphs import GATE_ORDER, OPSET  # noqa: F401  (the gate order tests/export changes to see a check fail)
from s2s.runtime.manifest import sha256
from s2s.specials import BOS, EOS, PAD, UNK

FORMAT, FORMAT_VERSION = "s2s-onnx", 1
EXPORT_FILES = ("manifest.json", "encoder.onnx", "decoder.onnx", "src_vocab.json", "tgt_vocab.json", "src.spm.model",
                "tgt.spm.model")  # every file an export may write; nothing else in its folder is its own
CELL_OPS = {"GRU": ("gru", "GRU"), "LSTM": ("lstm", "LSTM"), "RNN_TANH": ("rnn", "RNN")}


def _onnx():
    try:
        import onnx
    except ModuleNotFoundError:
        raise S2SError("ONNX export needs the onnx package: pip install -e '.[onnx]' (onnx and onnxruntime).") from None
    return onnx


def spec_of(model: Seq2Seq) -> graphs.Spec:
    """What the graphs need to know of a zoo model beside its weights."""
    encoder, decoder = model.encoder, model.decoder
    return graphs.Spec(cell=CELL_OPS[decoder.rnn.mode][0], attention=decoder.attention is not None,
                       bidirectional=encoder.bidirectional, layers=decoder.rnn.num_layers,
                       hidden_size=decoder.out.in_features, input_feeding=decoder.input_feeding,
                       tie_embeddings=decoder.out.weight is decoder.embed.weight)


def weights_of(model: Seq2Seq) -> dict[str, np.ndarray]:
    """The model's weights as float32 numpy arrays, by state_dict name (the decoder's real rows only)."""
    return {name: tensor.detach().float().numpy() for name, tensor in model.state_dict().items()}


def state_names(model: Seq2Seq) -> list[str]:
    """The decoder state's tensors, in graph order: h, c for LSTM, fed with input feeding."""
    return graphs.state_names(spec_of(model))


def graph_bytes(model: Seq2Seq) -> tuple[bytes, bytes]:
    """The serialized encoder and decoder-step graphs of a zoo model."""
    spec, weights = spec_of(model), weights_of(model)
    return graphs.encoder_graph(spec, weights), graphs.decoder_graph(spec, weights)


def encoder_graph(model: Seq2Seq):
    """The encoder graph as an onnx ModelProto."""
    return _onnx().load_from_string(graph_bytes(model)[0])


def decoder_graph(model: Seq2Seq):
    """The decoder-step graph as an onnx ModelProto."""
    return _onnx().load_from_string(graph_bytes(model)[1])


def check_exportable(model, path) -> Seq2Seq:
    """The model, if it is a zoo encoder-decoder the graphs above describe; else an S2SError saying why not."""
    if isinstance(model, LanguageModel):
        raise S2SError(f"checkpoint '{path}' holds a language model, and language models cannot be exported to ONNX: "
                       f"only translation models can (rnn, lstm, gru, with or without attention). Sample from it with "
                       f"s2s generate.")
    if not isinstance(model, Seq2Seq):
        raise S2SError(f"checkpoint '{path}' holds a custom model (class {type(model).__name__}), not a translation "
                       f"model of the s2s zoo (rnn, lstm, gru, with or without attention); only those export to ONNX.")
    if type(model.encoder) is not Encoder or type(model.decoder) is not Decoder:
        raise S2SError(f"checkpoint '{path}' uses a custom encoder or decoder ({type(model.encoder).__name__}, "
                       f"{type(model.decoder).__name__}); only the zoo's export to ONNX.")
    for rnn in (model.encoder.rnn, model.decoder.rnn):
        if rnn.mode not in CELL_OPS or not rnn.bias or getattr(rnn, "proj_size", 0):
            raise S2SError(f"checkpoint '{path}': a {rnn.mode} layer without biases or with projections has no ONNX "
                           f"export here.")
    return model


def _tokenizer_files(state: dict, side: str, folder: Path) -> dict:
    """The tokenizer's state for the manifest: SentencePiece's model bytes go to SIDE.spm.model beside it."""
    state = dict(state)
    proto = state.pop("model_proto", None)
    if proto is not None:
        (folder / f"{side}.spm.model").write_bytes(proto)
        state["model_file"] = f"{side}.spm.model"
    return state


def export_onnx(checkpoint, output, verify: bool = True) -> Path:
    """Write the checkpoint's encoder and decoder-step graphs, vocabularies, tokenizers and manifest.json to
    `output`: a new folder (made with its parents), an empty one, or an earlier export, whose files (those its
    manifest lists) are replaced once everything is written; nothing else in the folder is touched."""
    onnx = _onnx()
    output = Path(output)
    _check_output(output)
    model, payload, config = load_model(checkpoint)
    model = check_exportable(model, checkpoint)
    try:  # the folders above --output are made, as s2s report does
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise S2SError(f"cannot create the folder of --output '{output}': {error.strerror or error}; choose another "
                       f"--output.") from None
    folder = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}."))
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)  # mkdtemp's folder is private; the export is an ordinary folder
    try:
        for name, graph in zip(("encoder.onnx", "decoder.onnx"), graph_bytes(model)):
            onnx.checker.check_model(onnx.load_from_string(graph), full_check=True)
            (folder / name).write_bytes(graph)
        for side in ("src", "tgt"):
            (folder / f"{side}_vocab.json").write_text(json.dumps(payload[f"{side}_vocab"], ensure_ascii=False), encoding="utf-8")
        cfg = config.model
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "s2s_version": __version__, "opset": OPSET,
            "model": {"name": cfg.resolved_name, "cell": CELL_OPS[model.decoder.rnn.mode][0],
                      "attention": model.decoder.attention is not None, "bidirectional": model.encoder.bidirectional,
                      "layers": model.encoder.layers, "emb_size": cfg.emb_size, "hidden_size": cfg.hidden_size,
                      "input_feeding": model.decoder.input_feeding,
                      "tie_embeddings": model.decoder.out.weight is model.decoder.embed.weight,
                      "src_vocab_size": len(payload["src_vocab"]), "tgt_vocab_size": len(payload["tgt_vocab"])},
            "specials": {"pad": PAD, "unk": UNK, "bos": BOS, "eos": EOS},
            "states": state_names(model),
            "src_tokenizer": _tokenizer_files(payload["src_tokenizer"], "src", folder),
            "tgt_tokenizer": _tokenizer_files(payload["tgt_tokenizer"], "tgt", folder),
            "files": {"encoder": "encoder.onnx", "decoder": "decoder.onnx", "src_vocab": "src_vocab.json",
                      "tgt_vocab": "tgt_vocab.json"},
            "decode": {key: getattr(config.decode, key) for key in
                       ("beam", "nbest", "length_penalty", "max_len_ratio", "batch_size", "no_repeat_ngram")},
            "source": {"checkpoint": str(checkpoint), "step": payload.get("step"), "epoch": payload.get("epoch"),
                       "run": config.name},
            "data": {"dataset": config.data.dataset, "src": config.data.src, "tgt": config.data.tgt},
            "precision": "fp32",
        }
        written = ["encoder.onnx", "decoder.onnx", "src_vocab.json", "tgt_vocab.json"]
        written += [manifest[side]["model_file"] for side in ("src_tokenizer", "tgt_tokenizer") if "model_file" in manifest[side]]
        manifest["sha256"] = {name: sha256(folder / name) for name in written}  # the runtime checks them at load
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if verify:
            verify_export(model, folder)
        _move_into(folder, output)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the temporary folder made above, when anything failed
    return output


def earlier_export(output: Path) -> list[str]:
    """The files of an earlier export in `output` that a new export replaces or removes: manifest.json and the files
    its manifest lists, of the names an export writes; [] where no manifest of an export is there."""
    try:
        manifest = json.loads((Path(output) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return []
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return []
    listed = ["manifest.json"]
    if isinstance(manifest.get("files"), dict):
        listed += list(manifest["files"].values())
    listed += [manifest[side].get("model_file") for side in ("src_tokenizer", "tgt_tokenizer")
               if isinstance(manifest.get(side), dict)]
    return sorted(name for name in set(listed) if name in EXPORT_FILES and (Path(output) / name).is_file())


def _move_into(folder: Path, output: Path) -> None:
    """Put the export written in `folder` at `output`: a new name is the folder renamed; into an existing folder (empty,
    or an earlier export) the files are moved one by one, after the earlier export's files are deleted, manifest
    first (so that no reader takes a half-replaced folder for an export) and the new manifest last."""
    if not output.exists():
        folder.rename(output)
        return
    earlier = earlier_export(output)
    for name in sorted(earlier, key=lambda name: name != "manifest.json"):
        (output / name).unlink(missing_ok=True)
    for path in sorted(folder.iterdir(), key=lambda path: path.name == "manifest.json"):
        os.replace(path, output / path.name)


def _check_output(output: Path) -> None:
    """Refuse a folder that holds anything but an earlier export (and files beside it), or that holds something
    other than a file under a name the export writes: the export never writes over other files."""
    if output.exists():
        if not output.is_dir():
            raise S2SError(f"--output '{output}' is a file; give a folder to write the export into.")
        if any(output.iterdir()) and not earlier_export(output):
            raise S2SError(f"--output '{output}' is a folder that holds other files; give a new or empty folder (an "
                           f"earlier s2s export there is replaced, nothing else is).")
        for name in EXPORT_FILES:
            if (output / name).exists() and not (output / name).is_file():
                raise S2SError(f"--output '{output}' holds '{name}', which is not a file, under a name the export "
                               f"writes; move it, or give another --output.")


def verify_export(model: Seq2Seq, folder: Path, tolerance: float = 1e-3) -> float:
    """Run the graphs with onnxruntime beside the torch model on a batch of mixed lengths (three decoder steps);
    return the largest difference of log-probabilities, raising RuntimeError past `tolerance`."""
    try:
        import onnxruntime
    except ModuleNotFoundError:
        raise S2SError("checking the export needs onnxruntime: pip install -e '.[onnx]' (or export with --no-verify).") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    encoder = onnxruntime.InferenceSession(str(folder / "encoder.onnx"), options, providers=["CPUExecutionProvider"])
    decoder = onnxruntime.InferenceSession(str(folder / "decoder.onnx"), options, providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(0)
    lengths = torch.tensor([7, 3, 1, 5])
    src = torch.randint(4, model.encoder.embed.num_embeddings, (4, 7), generator=generator)
    src = src.masked_fill(torch.arange(7)[None] >= lengths[:, None], PAD)
    names = state_names(model)
    with torch.no_grad():
        enc_states, state, src_mask = model.encode(src, lengths)
        got = dict(zip([o.name for o in encoder.get_outputs()], encoder.run(None, {"src": src.numpy(), "src_lengths": lengths.numpy()})))
        worst = float((torch.from_numpy(got["enc_states"]) - enc_states).abs().max())
        for name, tensor in zip(names, _flat(state)):
            worst = max(worst, float((torch.from_numpy(got[name]) - tensor).abs().max()))
        prev = torch.full((4,), BOS)
        feeds = {name: got[name] for name in names}
        for _ in range(3):
            log_probs, state, _ = model.decode_step(prev, state, enc_states, src_mask)
            inputs = {"prev_tokens": prev.numpy(), "enc_states": got["enc_states"], "src_mask": got["src_mask"], **feeds}
            wanted = {i.name for i in decoder.get_inputs()}
            outputs = dict(zip([o.name for o in decoder.get_outputs()],
                               decoder.run(None, {k: v for k, v in inputs.items() if k in wanted})))
            worst = max(worst, float((torch.from_numpy(outputs["log_probs"]) - log_probs).abs().max()))
            for name, tensor in zip(names, _flat(state)):
                worst = max(worst, float((torch.from_numpy(outputs[f"new_{name}"]) - tensor).abs().max()))
            feeds = {name: outputs[f"new_{name}"] for name in names}
            prev = log_probs.argmax(-1)
    if not worst <= tolerance:
        raise RuntimeError(f"the exported graphs disagree with the torch model by {worst:.3g} (> {tolerance}); "
                           f"this is a bug in s2s's ONNX export, please report it.")
    return worst


def _flat(state) -> list[torch.Tensor]:
    """A torch decoder state as the graphs' list: h, c (LSTM), fed (input feeding)."""
    return [t for part in state for t in _flat(part)] if isinstance(state, tuple) else [state]
