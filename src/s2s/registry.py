"""Named registries: `@MODELS.register("gru_attn")` puts a builder in the zoo; `MODELS.build(name, ...)` calls it."""

from __future__ import annotations

import difflib
import importlib
from typing import Callable

from s2s.errors import S2SError


class Registry:
    """A name -> builder table with a one-line description and a task per entry."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, tuple[Callable, str]] = {}
        self._tasks: dict[str, str] = {}

    def register(self, name: str, description: str = "", task: str = "translation") -> Callable:
        """task: what the trainer does with the entry's models: "translation" (source -> target) or
        "language_model" (one language's text, the target side)."""
        def decorator(builder: Callable) -> Callable:
            if name in self._entries:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            doc = description or ((builder.__doc__ or "").strip().splitlines() or [""])[0]
            self._entries[name] = (builder, doc)
            self._tasks[name] = task
            return builder

        return decorator

    def get(self, name: str) -> Callable:
        if name not in self._entries:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise S2SError(
                f"unknown {self.kind} '{name}'.{hint} Registered: {', '.join(self.names())}. "
                f"To use your own, register it with @{self.kind.upper()}S.register(...) in a module listed under 'imports:' in the config."
            )
        return self._entries[name][0]

    def build(self, name: str, *args, **kwargs):
        return self.get(name)(*args, **kwargs)

    def describe(self, name: str) -> str:
        return self._entries[name][1]

    def task(self, name: str) -> str:
        self.get(name)  # an unknown name is an S2SError with a did-you-mean
        return self._tasks[name]

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: str) -> bool:
        return name in self._entries


MODELS = Registry("model")
TOKENIZERS = Registry("tokenizer")


def import_user_modules(modules: list[str]) -> None:
    """Import the config's `imports:` so that their @register decorators run."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise S2SError(
                f"config 'imports' names module '{module}', which cannot be imported ({error}). "
                "Make it importable: install it, or run s2s from the folder that holds it."
            ) from None
