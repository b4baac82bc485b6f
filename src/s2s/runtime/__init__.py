"""Translation with onnxruntime, numpy and sentencepiece alone (no torch), over a folder written by s2s.export:

    from s2s.runtime import OnnxTranslator
    translator = OnnxTranslator.from_export("exports/de-en", precision="int8")
    translator.translate(["ein Mann fährt Fahrrad ."], beam=5)
"""

from s2s.runtime.translator import OnnxTranslator

__all__ = ["OnnxTranslator"]
