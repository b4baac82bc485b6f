"""Translation with onnxruntime, numpy and sentencepiece alone (no torch), over a folder written by s2s.export."""
