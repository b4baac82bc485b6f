"""s2s: recurrent sequence-to-sequence translation (RNN, LSTM, GRU; dot attention) from YAML config to BLEU report."""

from s2s.config import Config, load_config
from s2s.registry import MODELS, TOKENIZERS
from s2s.version import __version__


def __getattr__(name):
    if name == "Translator":  # imported lazily: it pulls in torch and the model zoo
        from s2s.decoding.translator import Translator

        return Translator
    raise AttributeError(name)


__all__ = ["Config", "load_config", "MODELS", "TOKENIZERS", "Translator", "__version__"]
