"""Export: a trained checkpoint out of the toolkit (ONNX graphs that s2s.runtime runs without torch)."""
