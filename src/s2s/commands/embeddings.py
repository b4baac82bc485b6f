"""s2s embeddings: word2vec vectors for a config's vocabulary (train), nearest neighbours (neighbors) and a
2-D map (plot)."""

from __future__ import annotations

import sys
from pathlib import Path

from s2s.commands.numbers import SEED, at_least
from s2s.commands.paths import check_paths, config_inputs, input_files
from s2s.config import LARGEST_INT
from s2s.errors import S2SError
from s2s.outputs import Output

EMBEDDING_FILES = ("src.vec", "tgt.vec", "embeddings.json")


def add_parser(commands) -> None:
    embeddings = commands.add_parser("embeddings", help="word vectors: train word2vec, nearest neighbours, a 2-D map",
                                     description="Word vectors (word2vec) for the vocabulary of a config's tokenizer.")
    embedding_commands = embeddings.add_subparsers(dest="embeddings_command", metavar="ACTION")
    vectors = embedding_commands.add_parser(
        "train", help="learn word2vec vectors on a config's training text",
        description="Learn word vectors with word2vec (negative sampling; gensim, pip install -e '.[embeddings]') on the "
                    "config's training text, tokenized by the tokenizer the config's model trains with, so that they "
                    "cover its vocabulary. Writes OUTPUT/src.vec and OUTPUT/tgt.vec (word2vec text format; a language "
                    "model's config: tgt.vec only) and OUTPUT/embeddings.json. Use them with model.src_embeddings / "
                    "model.tgt_embeddings.")
    vectors.add_argument("--config", required=True, help="the YAML config whose data and tokenizer to use")
    vectors.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", help="config overrides, as for train")
    vectors.add_argument("--output", required=True, help="folder for the vectors")
    vectors.add_argument("--method", choices=["skipgram", "cbow"], default="skipgram",
                         help="skipgram: predict the context from the word; cbow: the word from its context")
    vectors.add_argument("--dim", type=at_least(1, most=10_000), help="vector size (default: the config's model.emb_size)")
    vectors.add_argument("--window", type=at_least(1, most=1000), default=5, help="context words on each side")
    vectors.add_argument("--negative", type=at_least(1, most=1000), default=5, help="negative samples per true pair")
    vectors.add_argument("--min-count", type=at_least(1, most=LARGEST_INT), default=1, help="ignore words seen fewer times")
    vectors.add_argument("--epochs", type=at_least(1, most=10_000), default=5, help="passes over the text")
    vectors.add_argument("--seed", type=SEED, default=1, help="with --workers 1 the same seed gives the same vectors")
    vectors.add_argument("--workers", type=at_least(1, most=1024), default=1, help="training threads")
    vectors.add_argument("--src-text", help="learn the source vectors from this file instead (e.g. more monolingual text)")
    vectors.add_argument("--tgt-text", help="learn the target vectors from this file instead")
    neighbors = embedding_commands.add_parser(
        "neighbors", help="the nearest words to a word by cosine similarity",
        description="The K words whose vectors have the highest cosine similarity to WORD's, in each vectors file of "
                    "DIR (src.vec, tgt.vec) that has WORD, or in one vectors file.")
    neighbors.add_argument("vectors", metavar="DIR", help="a folder from s2s embeddings train, or a vectors file")
    neighbors.add_argument("word", metavar="WORD", help="a token as the config's tokenizer writes it")
    neighbors.add_argument("-k", type=at_least(1, most=1_000_000), default=10, help="how many neighbours")
    projection = embedding_commands.add_parser(
        "plot", help="a 2-D map (PCA) of chosen words",
        description="Project the vectors of the given words on their first two principal components and draw them "
                    "(matplotlib: pip install -e '.[plots]'); prints the coordinates.")
    projection.add_argument("vectors", metavar="DIR", help="a folder from s2s embeddings train, or a vectors file")
    projection.add_argument("words", nargs="+", metavar="WORD", help="the words to place (two or more)")
    projection.add_argument("--side", choices=["src", "tgt"], help="which vectors of DIR (default: the first that has "
                            "every word)")
    projection.add_argument("--output", required=True, help="the figure (.png)")


def run(args) -> int:
    from s2s.data import word_vectors

    if args.embeddings_command == "train":
        return run_train(args)
    if args.embeddings_command == "neighbors":
        for name, nearest in word_vectors.neighbors(args.vectors, args.word, args.k).items():
            print(f"{name}: nearest to {args.word!r} by cosine similarity")
            print("\n".join(f"  {cosine:7.4f}  {word}" for word, cosine in nearest))
        return 0
    if args.embeddings_command == "plot":
        from s2s import plotting

        figure = Output("--output", args.output, "map.png", no_stdout="the words' coordinates are printed there")
        check_paths([("DIR", args.vectors)], files=[figure])
        vectors, name = word_vectors.vectors_of(args.vectors, args.words, args.side)
        coordinates = word_vectors.project_2d(vectors)
        print("\n".join(f"{word}\t{x:.4f}\t{y:.4f}" for word, (x, y) in zip(args.words, coordinates)))
        if plotting.pyplot() is None:
            print(plotting.MISSING, file=sys.stderr)
            return 0
        plotting.plot_word_map(args.words, coordinates, Path(args.output), f"{name}: PCA of {len(args.words)} word vectors")
        print(f"wrote {args.output}")
        return 0
    raise S2SError("usage: s2s embeddings (train --config CFG --output DIR | neighbors DIR WORD | plot DIR WORD... --output PNG)")


def run_train(args) -> int:
    from s2s.config import load_config
    from s2s.data.word_vectors import train_for_config
    from s2s.registry import MODELS, import_user_modules

    config = load_config(args.config, args.set)
    check_paths(config_inputs(config, "--config", args.config) +
                input_files(("--src-text", args.src_text), ("--tgt-text", args.tgt_text)),
                folders=[("--output", args.output, lambda relative: str(relative) in EMBEDDING_FILES)])
    import_user_modules(config.imports)
    monolingual = MODELS.task(config.model.resolved_name) == "language_model"
    train_for_config(config.data, args.output, ("tgt",) if monolingual else ("src", "tgt"),
                     {"src": args.src_text, "tgt": args.tgt_text}, monolingual, log=lambda message: print(message, file=sys.stderr),
                     method=args.method, dim=args.dim or config.model.emb_size, window=args.window, negative=args.negative,
                     min_count=args.min_count, epochs=args.epochs, seed=args.seed, workers=args.workers)
    print(f"wrote {args.output}/embeddings.json and the vectors; use them with model.src_embeddings / model.tgt_embeddings")
    return 0
