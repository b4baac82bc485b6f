"""The exported encoder and decoder-step graphs as onnxruntime sessions behind the step-model interface of
s2s.runtime.search (encode, decode_step), one export or an ensemble of several; int8 by dynamic quantization."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from s2s.errors import S2SError

PRECISIONS = ("fp32", "int8")
INSTALL = "pip install -e '.[onnx]' (onnx and onnxruntime)"


def import_onnxruntime():
    try:
        import onnxruntime
    except ModuleNotFoundError:
        raise S2SError("the onnx engine needs onnxruntime: pip install -e '.[runtime]' (onnxruntime without torch), "
                       f"or {INSTALL}.") from None
    return onnxruntime


def usable_cpus() -> int:
    """The CPU cores this process may run on (its affinity mask, where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_threads() -> int:
    """OMP_NUM_THREADS when it is set to a positive integer (as torch reads it), else every usable core. On the
    2-core EPYC one thread beat two for greedy decoding and at batch 1, two won for beam 5 at batch 64
    (docs/benchmarks/decoding.md); OMP_NUM_THREADS=1 s2s translate --engine onnx ... chooses."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else usable_cpus()


def session_options(threads: int | None):
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


class OnnxModel:
    """One export's sessions: encode(src, src_lengths) and decode_step(prev_tokens, states, enc_states, src_mask)."""

    def __init__(self, encoder_path: Path, decoder_path: Path, state_names: list[str], threads: int | None = None,
                 precision: str = "fp32", graphs: Iterable[bytes] | None = None):
        """The graphs are the files at encoder_path and decoder_path, or `graphs` (the encoder's and the decoder's,
        serialized, built in memory by s2s.runtime.graphs; a generator may build each when its session loads), which
        the paths then only name in errors."""
        ort = import_onnxruntime()
        if precision not in PRECISIONS:
            raise S2SError(f"the onnx engine runs precision fp32 or int8, not {precision!r}.")
        options = session_options(threads)
        self.encoder_path, self.decoder_path = Path(encoder_path), Path(decoder_path)
        sources = graphs or (self.encoder_path, self.decoder_path)
        with tempfile.TemporaryDirectory(prefix="s2s-int8-") as scratch:  # the sessions hold the graphs once built
            self.encoder, self.decoder = (session(ort, source, path, options, precision, Path(scratch))
                                          for source, path in zip(sources, (self.encoder_path, self.decoder_path)))
        self.state_names = list(state_names)
        self.encoder_outputs = [output.name for output in self.encoder.get_outputs()]
        self.decoder_inputs = {arg.name for arg in self.decoder.get_inputs()}
        self.decoder_outputs = [output.name for output in self.decoder.get_outputs()]
        lacking = [f"{encoder_path.name} output {name}" for name in ["enc_states", "src_mask", *self.state_names]
                   if name not in self.encoder_outputs]
        lacking += [f"{decoder_path.name} input {name}" for name in ["prev_tokens", *self.state_names]
                    if name not in self.decoder_inputs]
        lacking += [f"{decoder_path.name} output {name}" for name in ["log_probs", *(f"new_{s}" for s in self.state_names)]
                    if name not in self.decoder_outputs]
        if lacking:
            raise S2SError(f"the graphs do not match manifest.json's states {self.state_names}: no {', '.join(lacking)}; "
                           f"export the checkpoint again.")
        unnamed = sorted(self.decoder_inputs - {"prev_tokens", "enc_states", "src_mask", *self.state_names})
        if unnamed:
            raise S2SError(f"{decoder_path} takes {', '.join(unnamed)}, which manifest.json's states "
                           f"{self.state_names} do not name; the manifest or the graph is from another export: export "
                           f"the checkpoint again.")
        self.takes_encoding = "enc_states" in self.decoder_inputs  # attention models
        width = next((output.shape[-1] for output in self.encoder.get_outputs() if output.name == "enc_states"), None)
        self.hidden_size = width if isinstance(width, int) else None  # for the memory estimate (s2s.decoding.limits)

    def check(self, src_vocab_size: int, tgt_vocab_size: int) -> None:
        """S2SError unless the graphs run on the vocabularies beside them: the encoder takes the largest source id, the
        decoder the largest target id, the states fit from one graph into the other, and the decoder gives one
        log-prob per target token. Run once, on one two-token sentence, before the first line is decoded."""
        src = np.array([[src_vocab_size - 1, 3]], np.int64)
        try:
            enc_states, states, src_mask = self.encode(src, np.array([2], np.int64))
        except Exception as error:  # onnxruntime's own exception types, or a missing output
            raise S2SError(f"{self.encoder_path} does not run on the export's source vocabulary ({first_line(error)}); "
                           f"it is damaged or from another export: copy the whole export folder again, or export "
                           f"the checkpoint again.") from None
        try:
            log_probs, _, _ = self.decode_step(np.array([tgt_vocab_size - 1], np.int64), states, enc_states, src_mask)
        except Exception as error:
            raise S2SError(f"{self.decoder_path} does not take {self.encoder_path.name}'s encoding or the export's "
                           f"target vocabulary ({first_line(error)}); it is from another export: copy the whole "
                           f"export folder again, or export the checkpoint again.") from None
        if log_probs.shape != (1, tgt_vocab_size):
            raise S2SError(f"{self.decoder_path} gives {log_probs.shape[-1]} log-probs a step, but the target vocabulary "
                           f"beside it holds {tgt_vocab_size} tokens; the graph or the vocabulary is from another "
                           f"export: copy the whole export folder again, or export the checkpoint again.")

    def encode(self, src: np.ndarray, src_lengths: np.ndarray):
        """(enc_states (batch, src_len, hidden) or None when the decoder takes none, states, src_mask)."""
        named = dict(zip(self.encoder_outputs, self.encoder.run(None, {"src": src, "src_lengths": src_lengths})))
        enc_states = named["enc_states"] if self.takes_encoding else None
        return enc_states, {name: named[name] for name in self.state_names}, named["src_mask"]

    def decode_step(self, prev_tokens: np.ndarray, states: dict, enc_states, src_mask: np.ndarray):
        """log_probs (batch, tgt_vocab), the new states, attention weights (batch, src_len) or None."""
        feeds = {"prev_tokens": prev_tokens, "enc_states": enc_states, "src_mask": src_mask, **states}
        named = dict(zip(self.decoder_outputs,
                         self.decoder.run(None, {name: value for name, value in feeds.items() if name in self.decoder_inputs})))
        return named["log_probs"], {name: named[f"new_{name}"] for name in self.state_names}, named.get("attention")


def session(ort, graph: Path | bytes, path: Path, options, precision: str, scratch: Path):
    """An onnxruntime session of `graph`, a file or a serialized graph (its int8 copy in `scratch` for precision
    int8); S2SError naming `path` when it is no graph onnxruntime reads."""
    try:
        if precision == "int8":
            graph = quantize(graph, scratch / path.name)
        return ort.InferenceSession(graph if isinstance(graph, bytes) else str(graph), options,
                                    providers=["CPUExecutionProvider"])
    except S2SError:
        raise
    except Exception as error:  # InvalidProtobuf, Fail, DecodeError, ...: onnxruntime's and onnx's own types
        raise S2SError(f"{path} is not an ONNX graph onnxruntime can load ({first_line(error)}); the file is damaged "
                       f"or truncated: copy the whole export folder again, or export the checkpoint again.") from None


def first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


class OnnxEnsemble:
    """Several exports decoded as one, as s2s.decoding.ensemble does: the mean of the members' log-probs each step."""

    def __init__(self, members: list[OnnxModel]):
        self.members = members

    def encode(self, src: np.ndarray, src_lengths: np.ndarray):
        encodings = [member.encode(src, src_lengths) for member in self.members]
        return tuple(e[0] for e in encodings), tuple(e[1] for e in encodings), encodings[0][2]

    def decode_step(self, prev_tokens: np.ndarray, states: tuple, enc_states: tuple, src_mask: np.ndarray):
        """The members' mean log-probs, their new states, the mean attention of the members that have it (or None)."""
        steps = [member.decode_step(prev_tokens, state, encoded, src_mask)
                 for member, state, encoded in zip(self.members, states, enc_states)]
        weights = [w for _, _, w in steps if w is not None]
        mean_weights = np.stack(weights).mean(0) if weights else None
        return np.stack([log_probs for log_probs, _, _ in steps]).mean(0), tuple(s for _, s, _ in steps), mean_weights


def quantize(source: Path | bytes, target: Path) -> Path:
    """An int8 copy of a graph: weights of its matrix products as int8 with one scale per tensor, activations
    quantized on the fly (onnxruntime's dynamic quantization). Gemm nodes become MatMul + Add first, since dynamic
    quantization leaves Gemm (the output layer, attention's W_c) in fp32.

    On x86 CPUs without VNNI, onnxruntime's int8 kernels multiply u8 by s8 with an instruction (VPMADDUBSW) whose 16-bit
    sums can saturate; 7-bit weights (reduce_range) avoid that, as onnxruntime advises. On a 2-core AVX2 EPYC the
    8-bit weights moved a next-word probability by 0.052, the 7-bit ones by less than 0.05 (tests/runtime)."""
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ModuleNotFoundError:
        raise S2SError(f"--precision int8 quantizes the graphs with onnx and onnxruntime.quantization: {INSTALL}.") from None
    model = onnx.load_from_string(source) if isinstance(source, bytes) else onnx.load(str(source))
    gemms_as_matmuls(model)
    root = logging.getLogger()
    advice = NoPreprocessingAdvice()  # quantize_dynamic advises pre-processing, meant for static quantization
    root.addFilter(advice)
    try:
        quantize_dynamic(model, target, weight_type=QuantType.QInt8, per_channel=False, reduce_range=not has_vnni())
    finally:
        root.removeFilter(advice)
    return target


def has_vnni() -> bool:
    """Whether this CPU has VNNI (AVX512-VNNI or AVX-VNNI) by /proc/cpuinfo's flags; True where it cannot tell (no such
    file, not x86), so that quantization keeps its full 8 bits there."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True
    if " avx2" not in flags:  # not an x86 CPU onnxruntime's u8s8 kernels apply to
        return True
    return "avx512_vnni" in flags or "avx_vnni" in flags


class NoPreprocessingAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def count_weights(path: Path) -> int | None:
    """The number of float weights in a graph file (its initializers, leaving out one-element constants such as
    attention's -inf), or None without the onnx package."""
    try:
        import onnx
    except ModuleNotFoundError:
        return None
    graph = onnx.load(str(path), load_external_data=False).graph
    sizes = [int(np.prod(tensor.dims)) for tensor in graph.initializer if tensor.data_type == onnx.TensorProto.FLOAT]
    return sum(size for size in sizes if size > 1)


def gemms_as_matmuls(model) -> None:
    """Rewrite, in place, each Gemm y = A Bᵀ + C (transB=1, alpha = beta = 1, B a constant) as MatMul(A, Bᵀ) + C."""
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = {tensor.name: tensor for tensor in graph.initializer}
    nodes = []
    for node in graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type != "Gemm" or node.input[1] not in constants or attributes.get("transA", 0) \
                or attributes.get("alpha", 1.0) != 1.0 or attributes.get("beta", 1.0) != 1.0:
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(constants[node.input[1]])
        if attributes.get("transB", 0):
            weight = weight.T
        output = node.output[0]
        weight_name = f"{node.input[1]}_for_{output}"
        graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight), weight_name))
        product = f"{output}_product" if len(node.input) > 2 else output
        nodes.append(helper.make_node("MatMul", [node.input[0], weight_name], [product], name=f"{output}_matmul"))
        if len(node.input) > 2:
            nodes.append(helper.make_node("Add", [product, node.input[2]], [output], name=f"{output}_add"))
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    unused = [tensor for tensor in graph.initializer if tensor.name not in used]  # the transposed-away Bs
    for tensor in unused:
        graph.initializer.remove(tensor)
