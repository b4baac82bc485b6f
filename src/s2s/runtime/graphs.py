"""A zoo encoder-decoder's two ONNX graphs built from its weights as numpy arrays, serialized without the onnx package.

s2s export writes these graphs to files (from a torch model's weights); the onnx engine builds them in memory from a
pretrained model's model.pt (s2s.runtime.weights reads it without torch). The graphs are written node by node
rather than traced: tracing the encoder bakes the traced batch's lengths into the graph, and the recurrent state is
what breaks other toolkits' exports. ONNX's own GRU, LSTM and RNN operators take each sequence's length
(`sequence_lens`), run the backward direction over each sequence's own tokens and return the state at its last real
token, which is what the torch encoder computes.

    encoder   src (batch, src_len) int64, src_lengths (batch,) int64
              -> enc_states (batch, src_len, hidden), src_mask (batch, src_len) bool, h [, c] [, fed]
    decoder   prev_tokens (batch,) int64 [, enc_states, src_mask], h [, c] [, fed]
              -> log_probs (batch, tgt_vocab), new_h [, new_c] [, new_fed] [, attention (batch, src_len)]

States keep batch on axis 1: h and c (layers, batch, hidden); fed, the last attentional state of input feeding,
(1, batch, hidden). A float16 weight stays float16 in the graph, behind a Cast to float that onnxruntime folds
at load: the graphs of a float16 model.pt are its size, not twice it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from s2s.errors import S2SError
from s2s.specials import PAD
from s2s.version import __version__

OPSET, IR_VERSION = 17, 9  # IR 9: readable by onnxruntime releases from 1.16 on
ZOO = {"rnn": ("rnn", False), "rnn_attn": ("rnn", True), "lstm": ("lstm", False), "lstm_attn": ("lstm", True),
       "gru": ("gru", False), "gru_attn": ("gru", True)}  # the zoo's translation models: (cell, attention)
OP_TYPES = {"gru": "GRU", "lstm": "LSTM", "rnn": "RNN"}
GATES = {"gru": 3, "lstm": 4, "rnn": 1}
# torch stacks a cell's gate blocks as GRU (r, z, n), LSTM (i, f, g, o); ONNX wants GRU (z, r, h), LSTM (i, o, f, c)
GATE_ORDER = {"gru": (1, 0, 2), "lstm": (0, 3, 1, 2), "rnn": (0,)}
# onnx.TensorProto's data types
FLOAT, INT32, INT64, BOOL, FLOAT16 = 1, 6, 7, 9, 10
DATA_TYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.int32): INT32, np.dtype(np.int64): INT64,
              np.dtype(np.bool_): BOOL, np.dtype(np.float16): FLOAT16}


# ---- protobuf: the few ONNX messages the graphs need, in the wire format ------------------------------------------
# Each function returns a message's parts (bytes-like); model() joins them once, so a weight is copied once.

def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 fields: negative numbers as their 64-bit two's complement
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _int(field: int, value: int) -> list:
    return [_varint(field << 3), _varint(value)]


def _float(field: int, value: float) -> list:
    return [_varint(field << 3 | 5), struct.pack("<f", value)]


def _bytes(field: int, data) -> list:
    return [_varint(field << 3 | 2), _varint(len(data)), data]


def _text(field: int, text: str) -> list:
    return _bytes(field, text.encode())


def _message(field: int, parts: list) -> list:
    return [_varint(field << 3 | 2), _varint(sum(len(part) for part in parts)), *parts]


def tensor_message(name: str, array: np.ndarray) -> list:
    """TensorProto: dims 1, data_type 2, name 8, raw_data 9 (little-endian, as numpy stores it on x86 and ARM)."""
    array = np.ascontiguousarray(array)
    parts = [piece for dim in array.shape for piece in _int(1, dim)] + _int(2, DATA_TYPES[array.dtype])
    return parts + _text(8, name) + _bytes(9, memoryview(array).cast("B") if array.size else b"")


def _attribute(name: str, value) -> list:
    """AttributeProto: name 1, f 2, i 3, s 4, t 5, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, TENSOR 4, INTS 7)."""
    parts = _text(1, name)
    if isinstance(value, bool) or isinstance(value, int):
        return parts + _int(3, int(value)) + _int(20, 2)
    if isinstance(value, float):
        return parts + _float(2, value) + _int(20, 1)
    if isinstance(value, str):
        return parts + _text(4, value) + _int(20, 3)
    if isinstance(value, np.ndarray):
        return parts + _message(5, tensor_message("value", value)) + _int(20, 4)
    return parts + [piece for item in value for piece in _int(8, item)] + _int(20, 7)


def _value_info(name: str, data_type: int, shape: list) -> list:
    """ValueInfoProto name 1, type 2 -> TypeProto tensor_type 1 -> elem_type 1, shape 2 -> dim 1 -> value 1 | param 2."""
    dims = [piece for dim in shape for piece in
            _message(1, _text(2, dim) if isinstance(dim, str) else _int(1, dim))]
    return _text(1, name) + _message(2, _message(1, _int(1, data_type) + _message(2, dims)))


@dataclass(frozen=True)
class Spec:
    """What the graphs need to know of a zoo encoder-decoder beside its weights."""

    cell: str  # gru, lstm, rnn
    attention: bool
    bidirectional: bool
    layers: int
    hidden_size: int  # the decoder's, which is the width of the encoder's states
    input_feeding: bool
    tie_embeddings: bool


def state_names(spec: Spec) -> list[str]:
    """The decoder state's tensors, in graph order: h, c for LSTM, fed with input feeding."""
    return (["h", "c"] if spec.cell == "lstm" else ["h"]) + (["fed"] if spec.input_feeding else [])


def model_spec(model_config, weights: dict, where: str) -> Spec:
    """The Spec of the model a config's model: section (s2s.config.ModelConfig) and its weights describe; an S2SError
    naming `where` for a model that is not one of the zoo's translation models, or weights that do not fit it."""
    name = model_config.resolved_name
    if name not in ZOO:
        raise S2SError(f"{where} holds a {name} model; only the zoo's translation models ({', '.join(ZOO)}) have "
                       f"ONNX graphs (language models and custom models do not).")
    cell, attention = ZOO[name]
    try:
        hidden = weights["decoder.rnn.weight_hh_l0"].shape[1]
        layers = sum(1 for key in weights if key.startswith("decoder.rnn.weight_ih_l"))
        gates = weights["encoder.rnn.weight_ih_l0"].shape[0] // weights["encoder.rnn.weight_hh_l0"].shape[1]
    except (KeyError, IndexError) as error:
        raise S2SError(f"{where}: its weights lack {error} for a {name} model; use a checkpoint written by s2s.") from None
    if gates != GATES[cell] or attention != ("decoder.attention.combine.weight" in weights):
        raise S2SError(f"{where}: its weights are not those of the {name} model its config names; use a checkpoint "
                       f"written by s2s.")
    return Spec(cell, attention, "encoder.rnn.weight_ih_l0_reverse" in weights, layers, hidden,
                bool(model_config.input_feeding), bool(model_config.tie_embeddings))


class Graph:
    """The nodes and initializers of one graph as it is built; op() returns the names of a node's outputs."""

    def __init__(self):
        self.nodes, self.initializers, self.count = [], [], 0
        self.names: dict[str, str] = {}  # a weight's name -> the name of its float value (its Cast's output)

    def const(self, name: str, value: np.ndarray) -> str:
        """A weight or constant; a float16 one is stored as float16 and cast to float in the graph."""
        if name in self.names:
            return self.names[name]
        value = np.asarray(value)
        if value.dtype == np.float16:
            self.initializers.append(tensor_message(f"{name}_float16", value))
            self.names[name] = self.op("Cast", f"{name}_float16", outputs=[name], to=FLOAT)
        else:
            self.initializers.append(tensor_message(name, value))
            self.names[name] = name
        return name

    def ints(self, *values: int) -> str:
        self.count += 1
        return self.const(f"ints_{self.count}", np.array(values, dtype=np.int64))

    def op(self, op_type: str, *inputs: str, outputs: int | list[str] = 1, **attributes):
        """NodeProto: input 1, output 2, name 3, op_type 4, attribute 5."""
        self.count += 1
        names = outputs if isinstance(outputs, list) else [f"{op_type.lower()}_{self.count}_{i}" for i in range(outputs)]
        node = [piece for name in inputs for piece in _text(1, name)] + [piece for name in names for piece in _text(2, name)]
        node += _text(3, f"{op_type}_{self.count}") + _text(4, op_type)
        node += [piece for key, value in attributes.items() for piece in _message(5, _attribute(key, value))]
        self.nodes.append(node)
        return names[0] if len(names) == 1 else names

    def model(self, name: str, inputs: list, outputs: list) -> bytes:
        """The serialized ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8
        (GraphProto: node 1, name 2, initializer 5, input 11, output 12)."""
        graph = [piece for node in self.nodes for piece in _message(1, node)] + _text(2, name)
        graph += [piece for tensor in self.initializers for piece in _message(5, tensor)]
        graph += [piece for value in inputs for piece in _message(11, value)]
        graph += [piece for value in outputs for piece in _message(12, value)]
        parts = _int(1, IR_VERSION) + _text(2, "s2s") + _text(3, __version__) + _message(7, graph)
        parts += _message(8, _text(1, "") + _int(2, OPSET))
        return b"".join(parts)


def _rnn_weights(weights: dict, prefix: str, layer: int, directions: int, cell: str) -> tuple[np.ndarray, ...]:
    """ONNX W (dirs, gates*H, in), R (dirs, gates*H, H), B (dirs, 2*gates*H) of one layer, gates reordered."""
    order = GATE_ORDER[cell]

    def gates(array: np.ndarray) -> np.ndarray:
        chunks = np.split(np.asarray(array), len(order), axis=0)
        return np.concatenate([chunks[i] for i in order])

    w, r, b = [], [], []
    for suffix in ("", "_reverse")[:directions]:
        w.append(gates(weights[f"{prefix}.weight_ih_l{layer}{suffix}"]))
        r.append(gates(weights[f"{prefix}.weight_hh_l{layer}{suffix}"]))
        b.append(np.concatenate([gates(weights[f"{prefix}.bias_ih_l{layer}{suffix}"]),
                                 gates(weights[f"{prefix}.bias_hh_l{layer}{suffix}"])]))
    return np.stack(w), np.stack(r), np.stack(b)


def _rnn_layer(g: Graph, spec: Spec, weights: dict, side: str, layer: int, x: str, directions: int,
               seq_lens: str = "", h0: str = "", c0: str = ""):
    """One ONNX GRU/LSTM/RNN node over time-major x: returns Y (seq, dirs, batch, H), Y_h and Y_c (LSTM) or None."""
    w, r, b = _rnn_weights(weights, f"{side}.rnn", layer, directions, spec.cell)
    prefix = side[:3]
    names = [x, g.const(f"{prefix}_W{layer}", w), g.const(f"{prefix}_R{layer}", r), g.const(f"{prefix}_B{layer}", b),
             seq_lens, h0]
    attributes = {"hidden_size": r.shape[-1], "direction": "bidirectional" if directions == 2 else "forward"}
    if spec.cell == "gru":
        attributes["linear_before_reset"] = 1  # torch's GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    if spec.cell == "lstm":
        names.append(c0)
    while names[-1] == "":  # trailing optional inputs are left out
        names.pop()
    outputs = g.op(OP_TYPES[spec.cell], *names, outputs=3 if spec.cell == "lstm" else 2, **attributes)
    return outputs[0], outputs[1], outputs[2] if spec.cell == "lstm" else None


def encoder_graph(spec: Spec, weights: dict) -> bytes:
    g = Graph()
    directions, layers = 2 if spec.bidirectional else 1, spec.layers
    per_direction = weights["encoder.rnn.weight_hh_l0"].shape[1]
    emb = g.op("Gather", g.const("src_embed", weights["encoder.embed.weight"]), "src")  # (batch, src_len, emb)
    x = g.op("Transpose", emb, perm=[1, 0, 2])  # (src_len, batch, emb): ONNX's recurrent ops are time-major
    seq_lens = g.op("Cast", "src_lengths", to=INT32)
    finals, cells = [], []
    for layer in range(layers):
        y, y_h, y_c = _rnn_layer(g, spec, weights, "encoder", layer, x, directions, seq_lens=seq_lens)  # y: (src_len, dirs, batch, H/dirs)
        x = g.op("Reshape", g.op("Transpose", y, perm=[0, 2, 1, 3]), g.ints(0, 0, -1))  # (src_len, batch, hidden)
        finals.append(y_h)
        cells.append(y_c)
    src_mask = g.op("Not", g.op("Equal", "src", g.const("pad", np.array(PAD, dtype=np.int64))), outputs=["src_mask"])
    real = g.op("Unsqueeze", g.op("Cast", src_mask, to=FLOAT), g.ints(2))  # (batch, src_len, 1)
    g.op("Mul", g.op("Transpose", x, perm=[1, 0, 2]), real, outputs=["enc_states"])  # zero at pads, as torch
    names = state_names(spec)

    def merged(parts: list[str], name: str) -> str:
        state = g.op("Concat", *parts, axis=0, outputs=1 if directions == 2 else [name])  # (layers * dirs, batch, H/dirs)
        if directions == 2:  # layer l becomes [forward_l; backward_l], as merge_directions does
            split = g.op("Reshape", state, g.ints(layers, 2, -1, per_direction))
            g.op("Reshape", g.op("Transpose", split, perm=[0, 2, 1, 3]), g.ints(0, 0, -1), outputs=[name])
        return name

    outputs = [merged(finals, "h")] + ([merged(cells, "c")] if "c" in names else [])
    hidden = spec.hidden_size
    if "fed" in names:  # s̃_0 = 0, (1, batch, hidden)
        batch = g.op("Slice", g.op("Shape", "src"), g.ints(0), g.ints(1))
        shape = g.op("Concat", g.ints(1), batch, g.ints(hidden), axis=0)
        g.op("ConstantOfShape", shape, outputs=["fed"], value=np.zeros(1, np.float32))
        outputs.append("fed")
    state_shapes = {"h": [layers, "batch", hidden], "c": [layers, "batch", hidden], "fed": [1, "batch", hidden]}
    return g.model("s2s_encoder",
                   [_value_info("src", INT64, ["batch", "src_len"]), _value_info("src_lengths", INT64, ["batch"])],
                   [_value_info("enc_states", FLOAT, ["batch", "src_len", hidden]),
                    _value_info("src_mask", BOOL, ["batch", "src_len"])]
                   + [_value_info(name, FLOAT, state_shapes[name]) for name in outputs])


def decoder_graph(spec: Spec, weights: dict) -> bytes:
    g = Graph()
    layers, hidden, names = spec.layers, spec.hidden_size, state_names(spec)
    embedding = weights["decoder.embed.weight"]  # (tgt_vocab, emb): the real rows (s2s.models.decoder saves those)
    vocab_size = embedding.shape[0]
    embed = g.const("tgt_embed", embedding)
    x = g.op("Unsqueeze", g.op("Gather", embed, "prev_tokens"), g.ints(0))  # (1, batch, emb)
    if "fed" in names:
        x = g.op("Concat", x, "fed", axis=2)  # (1, batch, emb + hidden): input feeding
    new_h, new_c = [], []
    for layer in range(layers):
        h0 = g.op("Slice", "h", g.ints(layer), g.ints(layer + 1), g.ints(0))  # (1, batch, hidden)
        c0 = g.op("Slice", "c", g.ints(layer), g.ints(layer + 1), g.ints(0)) if "c" in names else ""
        y, y_h, y_c = _rnn_layer(g, spec, weights, "decoder", layer, x, 1, h0=h0, c0=c0)  # y: (1, 1, batch, hidden)
        x = g.op("Squeeze", y, g.ints(1))  # (1, batch, hidden)
        new_h.append(y_h)
        new_c.append(y_c)
    g.op("Concat", *new_h, axis=0, outputs=["new_h"])
    if "c" in names:
        g.op("Concat", *new_c, axis=0, outputs=["new_c"])
    out = g.op("Squeeze", x, g.ints(0))  # s_t, (batch, hidden)
    if spec.attention:
        # scores = s_tᵀ h_i; weights = softmax over the real tokens; c_t = Σ_i weights_i h_i
        scores = g.op("Squeeze", g.op("MatMul", "enc_states", g.op("Unsqueeze", out, g.ints(2))), g.ints(2))  # (batch, src_len)
        masked = g.op("Where", "src_mask", scores, g.const("minus_inf", np.array(-np.inf, dtype=np.float32)))
        attention = g.op("Softmax", masked, axis=-1, outputs=["attention"])
        context = g.op("Squeeze", g.op("MatMul", g.op("Unsqueeze", attention, g.ints(1)), "enc_states"), g.ints(1))
        out = g.op("Tanh", g.op("Gemm", g.op("Concat", context, out, axis=1),  # s̃_t = tanh(W_c [c_t; s_t] + b_c)
                                g.const("W_c", weights["decoder.attention.combine.weight"]),
                                g.const("b_c", weights["decoder.attention.combine.bias"]), transB=1))
        if "fed" in names:
            g.op("Unsqueeze", out, g.ints(0), outputs=["new_fed"])
    w_o = embed if spec.tie_embeddings else g.const("W_o", weights["decoder.out.weight"][:vocab_size])
    logits = g.op("Gemm", out, w_o, g.const("b_o", weights["decoder.out.bias"][:vocab_size]), transB=1)  # (batch, vocab)
    g.op("LogSoftmax", logits, axis=-1, outputs=["log_probs"])

    state_shapes = {"h": [layers, "batch", hidden], "c": [layers, "batch", hidden], "fed": [1, "batch", hidden]}
    inputs = [_value_info("prev_tokens", INT64, ["batch"])]
    if spec.attention:
        inputs += [_value_info("enc_states", FLOAT, ["batch", "src_len", hidden]),
                   _value_info("src_mask", BOOL, ["batch", "src_len"])]
    inputs += [_value_info(name, FLOAT, state_shapes[name]) for name in names]
    outputs = [_value_info("log_probs", FLOAT, ["batch", vocab_size])]
    outputs += [_value_info(f"new_{name}", FLOAT, state_shapes[name]) for name in names]
    if spec.attention:
        outputs.append(_value_info("attention", FLOAT, ["batch", "src_len"]))
    return g.model("s2s_decoder_step", inputs, outputs)
