"""s2s: recurrent sequence-to-sequence translation (RNN, LSTM, GRU; dot attention) from YAML config to BLEU report."""

__version__ = "0.1.0"

from s2s.config import Config, load_config  # noqa: E402
from s2s.registry import MODELS, TOKENIZERS  # noqa: E402


def __getattr__(name):
    if name == "Translator":  # imported lazily: it pulls in torch and the model zoo
        from s2s.decoding.translator import Translator

        return Translator
    raise AttributeError(name)


__all__ = ["Config", "load_config", "MODELS", "TOKENIZERS", "Translator", "__version__"]
