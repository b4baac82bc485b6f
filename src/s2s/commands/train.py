"""s2s train: train a model from a YAML config, continue a run (--resume) or fine-tune a checkpoint (--init-from)."""

from __future__ import annotations

from pathlib import Path

from s2s.commands.paths import check_paths, checkpoint_inputs, config_inputs, folder_owns
from s2s.errors import S2SError


def add_parser(commands) -> None:
    train = commands.add_parser("train", help="train a model from a YAML config",
                                description="Train a model; writes config.yaml, vocabularies, best.pt, last.pt and "
                                            "metrics.jsonl to the run folder (train.run_dir).")
    train.add_argument("--config", help="YAML config (see configs/); without it the defaults are used")
    train.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                       help="override config fields, e.g. --set train.epochs=3 model.cell=gru")
    train.add_argument("--run-dir", help="run folder (default: train.run_dir from the config)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last.pt, exactly where it "
                       "stopped; its config is used (change fields with --set, e.g. train.epochs=30)")
    train.add_argument("--init-from", metavar="CKPT", help="fine-tune: start a new run from this checkpoint's weights, "
                       "tokenizers and vocabularies (a .pt file, a run folder or a pretrained model's folder or name) on "
                       "the --config's data, with a fresh optimizer and schedule; the config's model and vocabulary "
                       "settings must be the checkpoint's")


def run(args) -> int:
    from s2s.config import load_config
    from s2s.training.distributed import process_group
    from s2s.training.lm_trainer import make_trainer
    from s2s.training.trainer import resume_config, run_dir_for

    if args.resume and args.init_from:
        raise S2SError("--init-from starts a new run from a checkpoint's weights and --resume continues a run; give "
                       "one of them.")
    if args.resume:
        if not (Path(args.resume) / "last.pt").is_file():
            state = "is a file" if Path(args.resume).is_file() else "does not exist" if not Path(args.resume).exists() \
                else "has no last.pt"
            raise S2SError(f"--resume '{args.resume}' {state}; give the run folder of an s2s train run (it holds "
                           f"last.pt), e.g. --resume runs/quickstart.")
        config, payload = resume_config(Path(args.resume), args.set, args.config)
        run_dir = Path(args.resume)
    else:
        config, payload = load_config(args.config, args.set), None
        run_dir = Path(args.run_dir) if args.run_dir else run_dir_for(config)
        init_from = checkpoint_inputs("--init-from", args.init_from) if args.init_from else []
        check_paths(config_inputs(config, "--config", args.config) + init_from,
                    folders=[("--run-dir" if args.run_dir else "train.run_dir", run_dir, folder_owns)])
    with process_group(config.train.device):  # under torchrun: one rank of a data-parallel job; else nothing
        summary = make_trainer(config, run_dir, resume=payload, init_from=args.init_from).train()
    return 128 + summary["interrupted"] if summary["interrupted"] else 0
