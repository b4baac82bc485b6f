"""A zoo checkpoint as two ONNX graphs: the encoder, and one decoder step (s2s.runtime runs them without torch).

The graphs are written node by node with onnx.helper rather than traced: tracing the encoder bakes the traced
batch's lengths into the graph, and the recurrent state is what breaks other toolkits' exports. ONNX's own GRU,
LSTM and RNN operators take each sequence's length (`sequence_lens`), run the backward direction over each
sequence's own tokens and return the state at its last real token, which is what the torch encoder computes.

    encoder.onnx  src (batch, src_len) int64, src_lengths (batch,) int64
                  -> enc_states (batch, src_len, hidden), src_mask (batch, src_len) bool, h [, c] [, fed]
    decoder.onnx  prev_tokens (batch,) int64 [, enc_states, src_mask], h [, c] [, fed]
                  -> log_probs (batch, tgt_vocab), new_h [, new_c] [, new_fed] [, attention (batch, src_len)]

States keep batch on axis 1: h and c (layers, batch, hidden); fed, the last attentional state of input
feeding, (1, batch, hidden). manifest.json names the model, its sizes, states, special ids, tokenizers and the
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
from s2s.runtime.manifest import sha256
from s2s.specials import BOS, EOS, PAD, UNK

FORMAT, FORMAT_VERSION, OPSET = "s2s-onnx", 1, 17
EXPORT_FILES = ("manifest.json", "encoder.onnx", "decoder.onnx", "src_vocab.json", "tgt_vocab.json", "src.spm.model",
                "tgt.spm.model")  # every file an export may write; nothing else in its folder is its own
CELL_OPS = {"GRU": ("gru", "GRU"), "LSTM": ("lstm", "LSTM"), "RNN_TANH": ("rnn", "RNN")}
# torch stacks a cell's gate blocks as GRU (r, z, n), LSTM (i, f, g, o); ONNX wants GRU (z, r, h), LSTM (i, o, f, c)
GATE_ORDER = {"gru": (1, 0, 2), "lstm": (0, 3, 1, 2), "rnn": (0,)}


def _onnx():
    try:
        import onnx
    except ModuleNotFoundError:
        raise S2SError("ONNX export needs the onnx package: pip install -e '.[onnx]' (onnx and onnxruntime).") from None
    return onnx


class Graph:
    """The nodes and initializers of one graph as it is built; op() returns the names of a node's outputs."""

    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0

    def const(self, name: str, value) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def ints(self, *values: int) -> str:
        self.count += 1
        return self.const(f"ints_{self.count}", np.array(values, dtype=np.int64))

    def op(self, op_type: str, *inputs: str, outputs: int | list[str] = 1, **attributes):
        from onnx import helper

        self.count += 1
        names = outputs if isinstance(outputs, list) else [f"{op_type.lower()}_{self.count}_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=f"{op_type}_{self.count}", **attributes))
        return names[0] if len(names) == 1 else names

    def model(self, name: str, inputs: list, outputs: list):
        from onnx import helper

        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="s2s",
                                  producer_version=__version__)
        model.ir_version = min(model.ir_version, 9)  # readable by onnxruntime releases from 1.16 on
        return model


def _value(name: str, dtype, shape: list):
    from onnx import helper

    return helper.make_tensor_value_info(name, dtype, shape)


def _weights(rnn: torch.nn.RNNBase, layer: int, directions: int, cell: str) -> tuple[np.ndarray, ...]:
    """ONNX W (dirs, gates*H, in), R (dirs, gates*H, H), B (dirs, 2*gates*H) of one layer, gates reordered."""
    order = GATE_ORDER[cell]

    def gates(tensor: torch.Tensor) -> np.ndarray:
        chunks = tensor.detach().float().chunk(len(order), dim=0)
        return torch.cat([chunks[i] for i in order]).numpy()

    w, r, b = [], [], []
    for suffix in ("", "_reverse")[:directions]:
        w.append(gates(getattr(rnn, f"weight_ih_l{layer}{suffix}")))
        r.append(gates(getattr(rnn, f"weight_hh_l{layer}{suffix}")))
        b.append(np.concatenate([gates(getattr(rnn, f"bias_ih_l{layer}{suffix}")),
                                 gates(getattr(rnn, f"bias_hh_l{layer}{suffix}"))]))
    return np.stack(w), np.stack(r), np.stack(b)


def _rnn_layer(g: Graph, rnn: torch.nn.RNNBase, layer: int, x: str, directions: int, prefix: str,
               seq_lens: str = "", h0: str = "", c0: str = ""):
    """One ONNX GRU/LSTM/RNN node over time-major x: returns Y (seq, dirs, batch, H), Y_h and Y_c (LSTM) or None."""
    cell, op_type = CELL_OPS[rnn.mode]
    w, r, b = _weights(rnn, layer, directions, cell)
    names = [x, g.const(f"{prefix}_W{layer}", w), g.const(f"{prefix}_R{layer}", r), g.const(f"{prefix}_B{layer}", b),
             seq_lens, h0]
    attributes = {"hidden_size": rnn.hidden_size, "direction": "bidirectional" if directions == 2 else "forward"}
    if cell == "gru":
        attributes["linear_before_reset"] = 1  # torch's GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    if cell == "lstm":
        names.append(c0)
    while names[-1] == "":  # trailing optional inputs are left out
        names.pop()
    outputs = g.op(op_type, *names, outputs=3 if cell == "lstm" else 2, **attributes)
    return outputs[0], outputs[1], outputs[2] if cell == "lstm" else None


def state_names(model: Seq2Seq) -> list[str]:
    """The decoder state's tensors, in graph order: h, c for LSTM, fed with input feeding."""
    names = ["h", "c"] if model.decoder.rnn.mode == "LSTM" else ["h"]
    return names + (["fed"] if model.decoder.input_feeding else [])


def encoder_graph(model: Seq2Seq):
    from onnx import TensorProto

    encoder, g = model.encoder, Graph()
    rnn, directions, layers = encoder.rnn, 2 if encoder.bidirectional else 1, encoder.layers
    emb = g.op("Gather", g.const("src_embed", encoder.embed.weight.detach().float().numpy()), "src")  # (batch, src_len, emb)
    x = g.op("Transpose", emb, perm=[1, 0, 2])  # (src_len, batch, emb): ONNX's recurrent ops are time-major
    seq_lens = g.op("Cast", "src_lengths", to=TensorProto.INT32)
    finals, cells = [], []
    for layer in range(layers):
        y, y_h, y_c = _rnn_layer(g, rnn, layer, x, directions, "enc", seq_lens=seq_lens)  # y: (src_len, dirs, batch, H/dirs)
        x = g.op("Reshape", g.op("Transpose", y, perm=[0, 2, 1, 3]), g.ints(0, 0, -1))  # (src_len, batch, hidden)
        finals.append(y_h)
        cells.append(y_c)
    src_mask = g.op("Not", g.op("Equal", "src", g.const("pad", np.array(PAD, dtype=np.int64))), outputs=["src_mask"])
    real = g.op("Unsqueeze", g.op("Cast", src_mask, to=TensorProto.FLOAT), g.ints(2))  # (batch, src_len, 1)
    g.op("Mul", g.op("Transpose", x, perm=[1, 0, 2]), real, outputs=["enc_states"])  # zero at pads, as torch
    names = state_names(model)

    def merged(parts: list[str], name: str) -> str:
        state = g.op("Concat", *parts, axis=0, outputs=1 if directions == 2 else [name])  # (layers * dirs, batch, H/dirs)
        if directions == 2:  # layer l becomes [forward_l; backward_l], as merge_directions does
            split = g.op("Reshape", state, g.ints(layers, 2, -1, rnn.hidden_size))
            g.op("Reshape", g.op("Transpose", split, perm=[0, 2, 1, 3]), g.ints(0, 0, -1), outputs=[name])
        return name

    outputs = [merged(finals, "h")] + ([merged(cells, "c")] if "c" in names else [])
    if "fed" in names:  # s̃_0 = 0, (1, batch, hidden)
        batch = g.op("Slice", g.op("Shape", "src"), g.ints(0), g.ints(1))
        shape = g.op("Concat", g.ints(1), batch, g.ints(model.decoder.out.in_features), axis=0)
        g.op("ConstantOfShape", shape, outputs=["fed"], value=_float_tensor(0.0))
        outputs.append("fed")
    hidden = model.decoder.out.in_features
    state_shapes = {"h": [layers, "batch", hidden], "c": [layers, "batch", hidden], "fed": [1, "batch", hidden]}
    return g.model("s2s_encoder",
                   [_value("src", TensorProto.INT64, ["batch", "src_len"]), _value("src_lengths", TensorProto.INT64, ["batch"])],
                   [_value("enc_states", TensorProto.FLOAT, ["batch", "src_len", hidden]),
                    _value("src_mask", TensorProto.BOOL, ["batch", "src_len"])]
                   + [_value(name, TensorProto.FLOAT, state_shapes[name]) for name in outputs])


def _float_tensor(value: float):
    from onnx import TensorProto, helper

    return helper.make_tensor("value", TensorProto.FLOAT, [1], [value])


def decoder_graph(model: Seq2Seq):
    from onnx import TensorProto

    decoder, g = model.decoder, Graph()
    rnn, layers, hidden = decoder.rnn, decoder.rnn.num_layers, decoder.out.in_features
    names, attention = state_names(model), decoder.attention is not None
    tied = decoder.out.weight is decoder.embed.weight
    w_o, b_o = (tensor.detach().float().numpy() for tensor in decoder.output_weights())  # without the padding rows
    embed = g.const("tgt_embed", decoder.embed.weight[: decoder.vocab_size].detach().float().numpy())
    x = g.op("Unsqueeze", g.op("Gather", embed, "prev_tokens"), g.ints(0))  # (1, batch, emb)
    if "fed" in names:
        x = g.op("Concat", x, "fed", axis=2)  # (1, batch, emb + hidden): input feeding
    new_h, new_c = [], []
    for layer in range(layers):
        h0 = g.op("Slice", "h", g.ints(layer), g.ints(layer + 1), g.ints(0))  # (1, batch, hidden)
        c0 = g.op("Slice", "c", g.ints(layer), g.ints(layer + 1), g.ints(0)) if "c" in names else ""
        y, y_h, y_c = _rnn_layer(g, rnn, layer, x, 1, "dec", h0=h0, c0=c0)  # y: (1, 1, batch, hidden)
        x = g.op("Squeeze", y, g.ints(1))  # (1, batch, hidden)
        new_h.append(y_h)
        new_c.append(y_c)
    g.op("Concat", *new_h, axis=0, outputs=["new_h"])
    if "c" in names:
        g.op("Concat", *new_c, axis=0, outputs=["new_c"])
    out = g.op("Squeeze", x, g.ints(0))  # s_t, (batch, hidden)
    if attention:
        # scores = s_tᵀ h_i; weights = softmax over the real tokens; c_t = Σ_i weights_i h_i
        scores = g.op("Squeeze", g.op("MatMul", "enc_states", g.op("Unsqueeze", out, g.ints(2))), g.ints(2))  # (batch, src_len)
        masked = g.op("Where", "src_mask", scores, g.const("minus_inf", np.array(-np.inf, dtype=np.float32)))
        weights = g.op("Softmax", masked, axis=-1, outputs=["attention"])
        context = g.op("Squeeze", g.op("MatMul", g.op("Unsqueeze", weights, g.ints(1)), "enc_states"), g.ints(1))
        combine = decoder.attention.combine
        out = g.op("Tanh", g.op("Gemm", g.op("Concat", context, out, axis=1),  # s̃_t = tanh(W_c [c_t; s_t] + b_c)
                                g.const("W_c", combine.weight.detach().float().numpy()),
                                g.const("b_c", combine.bias.detach().float().numpy()), transB=1))
        if "fed" in names:
            g.op("Unsqueeze", out, g.ints(0), outputs=["new_fed"])
    logits = g.op("Gemm", out, embed if tied else g.const("W_o", w_o), g.const("b_o", b_o), transB=1)  # (batch, vocab)
    g.op("LogSoftmax", logits, axis=-1, outputs=["log_probs"])

    state_shapes = {"h": [layers, "batch", hidden], "c": [layers, "batch", hidden], "fed": [1, "batch", hidden]}
    inputs = [_value("prev_tokens", TensorProto.INT64, ["batch"])]
    if attention:
        inputs += [_value("enc_states", TensorProto.FLOAT, ["batch", "src_len", hidden]),
                   _value("src_mask", TensorProto.BOOL, ["batch", "src_len"])]
    inputs += [_value(name, TensorProto.FLOAT, state_shapes[name]) for name in names]
    outputs = [_value("log_probs", TensorProto.FLOAT, ["batch", decoder.vocab_size])]
    outputs += [_value(f"new_{name}", TensorProto.FLOAT, state_shapes[name]) for name in names]
    if attention:
        outputs.append(_value("attention", TensorProto.FLOAT, ["batch", "src_len"]))
    return g.model("s2s_decoder_step", inputs, outputs)


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
        encoder, decoder = encoder_graph(model), decoder_graph(model)
        for graph in (encoder, decoder):
            onnx.checker.check_model(graph, full_check=True)
        onnx.save(encoder, folder / "encoder.onnx")
        onnx.save(decoder, folder / "decoder.onnx")
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
