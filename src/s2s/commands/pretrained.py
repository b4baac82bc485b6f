"""s2s pretrained: list the shipped pretrained models; it imports neither torch nor onnx (cold start:
docs/deploy.md)."""

from __future__ import annotations

from s2s.errors import S2SError


def add_parser(commands) -> None:
    commands.add_parser("pretrained", help="list the shipped pretrained models",
                        description="List the shipped pretrained models (folders in the repository's pretrained/, or "
                                    "in $S2S_PRETRAINED): name, direction, test BLEU, model.pt size, folder. Use a "
                                    "name wherever a checkpoint goes: s2s translate --checkpoint multi30k-de-en.")


def run(args) -> int:
    from s2s.pretrained import format_listing, list_pretrained, pretrained_root

    models = list_pretrained()
    print(format_listing(models, pretrained_root()))
    damaged = [model["name"] for model in models if model["problem"]]
    if damaged:
        raise S2SError(f"the card{'s' if len(damaged) > 1 else ''} of {', '.join(damaged)} cannot be read (the problem "
                       f"lines above say why); those models still load by name, but their listing is incomplete.")
    return 0
