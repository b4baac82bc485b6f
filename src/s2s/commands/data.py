"""s2s data: download a dataset (download), list or clear the encoded-data cache (cache)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from s2s.commands.paths import same_file
from s2s.errors import S2SError
from s2s.outputs import STDOUT, check_output_folder, what_is


def add_parser(commands) -> None:
    data = commands.add_parser("data", help="dataset tools", description="Dataset tools.")
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION")
    download = data_commands.add_parser("download", help="download a dataset (verified by SHA-256)",
                                        description="Download Multi30k task 1 (train, val, test_2016_flickr; "
                                                    "en, de, fr, cs), verifying every file's SHA-256, or the Tatoeba "
                                                    "German-English pairs (checksum-verified, then split by sentence "
                                                    "into train, dev and test: docs/datasets.md).")
    download.add_argument("dataset", choices=["multi30k", "tatoeba"], help="the dataset")
    download.add_argument("--dest", help="folder for the files (default: data/DATASET)")
    download.add_argument("--mirror", help="copy from this local folder instead of the internet "
                                           "(or set S2S_MULTI30K_MIRROR / S2S_TATOEBA_MIRROR)")
    cache = data_commands.add_parser("cache", help="list or clear the encoded-data cache",
                                     description="The encoded-data cache holds the training pairs' ids (memory-mapped "
                                                 "by later runs) and the learned tokenizers and vocabularies. Lists "
                                                 "where it is, its entries and their sizes; --clear deletes them.")
    action = cache.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the entries (the default)")
    action.add_argument("--clear", action="store_true", help="delete the entries: only the files the cache wrote (its "
                        "manifests list them); other files and folders there are left alone")
    where = cache.add_mutually_exclusive_group()
    where.add_argument("--dir", help="the cache folder (default: $S2S_CACHE, else $XDG_CACHE_HOME/s2s, else ~/.cache/s2s)")
    where.add_argument("--config", help="the cache folder of this config (its data.cache_dir)")


def run(args) -> int:
    if args.data_command == "cache":
        return run_cache(args)
    if args.data_command != "download":
        raise S2SError("usage: s2s data download {multi30k,tatoeba} [--dest DIR] [--mirror DIR] | s2s data cache "
                       "[--list | --clear]")
    dest = args.dest or f"data/{args.dataset}"
    check_output_folder("--dest", Path(dest))
    if args.mirror and Path(args.mirror).exists() and same_file(Path(dest), Path(args.mirror)):
        raise S2SError(f"--dest '{dest}' is the --mirror folder, so the files would be copied onto themselves; "
                       f"give another --dest.")
    if args.dataset == "tatoeba":
        from s2s.data.tatoeba import prepare_tatoeba

        manifest = prepare_tatoeba(dest, mirror=args.mirror)
        paths = {name: str(Path(dest) / name) for name in manifest["files"]}
    else:
        from s2s.data.multi30k import download_multi30k

        paths = {name: str(path) for name, path in download_multi30k(dest, mirror=args.mirror).items()}
    print(json.dumps(paths, indent=2))
    return 0


def run_cache(args) -> int:
    from s2s.config import load_config
    from s2s.data.cache import CACHE_ENV, clear, describe, format_bytes, resolve_cache_dir

    setting = load_config(args.config).data.cache_dir if args.config else args.dir or ""
    root = resolve_cache_dir(setting)
    where = "--dir" if args.dir else f"data.cache_dir of {args.config}" if setting else \
        f"${CACHE_ENV}" if os.environ.get(CACHE_ENV) else "the default"
    if str(root) == STDOUT:
        raise S2SError(f"the cache folder '-' ({where}) cannot be stdout; give a folder.")
    if root.exists() and not root.is_dir():
        raise S2SError(f"the cache folder '{root}' ({where}) is {what_is(root)}; give a folder.")
    if args.clear:
        items, size, left = clear(root)
        print(f"data cache: deleted {items} entr{'y' if items == 1 else 'ies'} ({format_bytes(size)}) from {root}")
        if left:
            print(f"data cache: left {len(left)} folder{'s' if len(left) > 1 else ''} named like entries alone: "
                  f"{'they hold' if len(left) > 1 else 'it holds'} files the cache did not write, or no manifest.json "
                  f"of its own: {', '.join(path.name for path in left)}")
    else:
        print(describe(root))
    return 0
