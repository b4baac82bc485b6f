"""s2s zoo: the registered models with their parameter counts."""

from __future__ import annotations



def add_parser(commands) -> None:
    commands.add_parser("zoo", help="list the registered models with their parameter counts",
                        description="List every registered model: name, description, parameters at the default "
                                    "sizes (emb 256, hidden 512, 8000-token vocabularies).")


def run(args) -> int:
    from s2s.config import ModelConfig
    from s2s.models import count_parameters
    from s2s.registry import MODELS

    cfg = ModelConfig()
    print(f"{'name':<12} {'parameters':>12}  description")
    for name in MODELS.names():
        params = count_parameters(MODELS.build(name, cfg, 8000, 8000))
        print(f"{name:<12} {params:>12,}  {MODELS.describe(name)}")
    return 0
