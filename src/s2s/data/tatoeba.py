"""The Tatoeba German–English sentence pairs (manythings.org's export of 2018-05-13): fetch the pinned archive from
GitHub or a local mirror, checksum-verified, and split it into train / valid / test by sentence, so that no sentence of
a validation or test pair occurs in training."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

from s2s.data.multi30k import _download, _sha256
from s2s.errors import S2SError

ARCHIVE = "deu-eng.zip"
URL = "https://github.com/rioyshky/translation/raw/de48b7027f7318d77010a6e08ed928c10748c23d/deu-eng.zip"
SHA256 = "b7688f84f99fa33c17397c14d8bd9cef1fdeb2ee0bf50074767023aee8926e28"
MIRROR_ENV = "S2S_TATOEBA_MIRROR"
LANGUAGES = ("en", "de")
ATTRIBUTION = ("Tatoeba German-English sentence pairs, manythings.org export of 2018-05-13 "
               "(www.manythings.org/anki and tatoeba.org), CC-BY 2.0 (France)")
LICENSE_URL = "http://creativecommons.org/licenses/by/2.0"
# How the split is made (a change to any of this is a new split, with a new SPLIT_VERSION): pairs that share an English
# or a German sentence form one group (connected components), each group goes to one split by the SHA-256 of its
# smallest sentence: bucket = first 8 hex digits mod 1000; below DEV_PER_MILLE: valid; below twice that: test.
SPLIT_VERSION = 1
DEV_PER_MILLE = 10
SPLIT_NAMES = {"train": "train", "valid": "dev", "test": "test"}
MANIFEST = "s2s-tatoeba.json"
_OFFLINE_HINT = (f"To work offline, put {ARCHIVE} (sha256 {SHA256[:12]}...) in a local folder and pass it with "
                 f"data.mirror or set {MIRROR_ENV}=DIR; it is copied from there and checksum-verified.")


def _fetch_archive(final: Path, mirror: Path | None, progress: bool, timeout: float) -> None:
    """Write the archive to `final` through a temporary file beside it that must pass the checksum first."""
    source = str(mirror / ARCHIVE) if mirror is not None else URL
    partial = final.with_name(f"{ARCHIVE}.partial-{os.getpid()}")
    try:
        with partial.open("wb") as out:
            if mirror is None:
                _download(source, out, ARCHIVE, progress, timeout, dataset="Tatoeba", hint=_OFFLINE_HINT)
            else:
                if progress:
                    print(f"Copying {source} -> {final}", file=sys.stderr)
                with open(source, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 16)
        actual = _sha256(partial)
        if actual != SHA256:
            fix = (f"replace {source} with the pinned copy from {URL}" if mirror is not None else
                   f"run again, and if it persists fetch {URL} by hand. {_OFFLINE_HINT}")
            raise S2SError(f"Tatoeba archive {ARCHIVE}: checksum mismatch for the copy from {source} (expected SHA-256 "
                           f"{SHA256}, got {actual}); nothing was written to {final}. The copy is corrupt, truncated or "
                           f"another export: {fix}.")
        os.replace(partial, final)
    except OSError as error:
        raise S2SError(f"Could not write the Tatoeba archive {final}: {error}. Check that {final.parent} is writable "
                       f"and has free space{f' and that {source} is readable' if mirror is not None else ''}.") from None
    finally:
        partial.unlink(missing_ok=True)


def download_tatoeba(dest: str | os.PathLike[str], mirror: str | os.PathLike[str] | None = None, progress: bool = True,
                     timeout: float = 10.0) -> Path:
    """Ensure dest/deu-eng.zip exists with the right SHA-256 and return its path. A valid copy in `dest` is kept; else
    it comes from `mirror`, else $S2S_TATOEBA_MIRROR, else the pinned URL."""
    dest = Path(dest)
    final = dest / ARCHIVE
    if final.is_file() and _sha256(final) == SHA256:
        return final
    from_env = mirror is None and bool(os.environ.get(MIRROR_ENV))
    mirror_dir = Path(os.environ[MIRROR_ENV]) if from_env else (Path(mirror) if mirror else None)
    if mirror_dir is not None and not (mirror_dir / ARCHIVE).is_file():
        origin = f"{MIRROR_ENV}={mirror_dir}" if from_env else f"mirror {mirror_dir}"
        raise S2SError(f"Tatoeba mirror folder {mirror_dir} (from {origin}) has no {ARCHIVE}; copy the archive from "
                       f"{URL} into it, or unset the mirror to download it.")
    if final.exists() and not final.is_file():
        raise S2SError(f"{final} is a folder, not the Tatoeba archive; move it away or choose another data folder.")
    if final.is_file():  # not the pinned archive, and s2s cannot prove it wrote it: never replaced
        raise S2SError(f"{final} exists but is not the pinned Tatoeba archive (SHA-256 {_sha256(final)}, expected "
                       f"{SHA256}); move or delete it to fetch the archive again, or choose another data folder.")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise S2SError(f"Cannot prepare the Tatoeba folder {dest}: {error}. Choose a writable folder.") from None
    _fetch_archive(final, mirror_dir, progress, timeout)
    return final


def read_archive(archive: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """The (English, German) pairs of deu.txt in the archive, in file order."""
    with zipfile.ZipFile(archive) as bundle, bundle.open("deu.txt") as raw:
        pairs = []
        for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 2:
                raise S2SError(f"{archive}: deu.txt line {number} has no tab between English and German.")
            pairs.append((fields[0].strip(), fields[1].strip()))
    return pairs


def split_pairs(pairs: list[tuple[str, str]]) -> dict[str, list[int]]:
    """{"train"|"valid"|"test": line indices}: pairs sharing a sentence on either side are one group, and a group goes
    to one split by a hash of its smallest sentence, so the split depends on the sentences alone (not on line order)."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for english, german in pairs:
        a, b = root("en:" + english), root("de:" + german)
        if a != b:
            parent[max(a, b)] = min(a, b)  # the group's root is its smallest node
    splits: dict[str, list[int]] = {"train": [], "valid": [], "test": []}
    for index, (english, _) in enumerate(pairs):
        bucket = int(hashlib.sha256(root("en:" + english).encode()).hexdigest()[:8], 16) % 1000
        name = "valid" if bucket < DEV_PER_MILLE else "test" if bucket < 2 * DEV_PER_MILLE else "train"
        splits[name].append(index)
    return splits


def _write_splits(archive: Path, folder: Path) -> dict:
    """Write {train,dev,test}.{en,de} and ABOUT.txt (the attribution) into `folder`; return the manifest."""
    pairs = read_archive(archive)
    splits = split_pairs(pairs)
    files = {}
    for name, indices in splits.items():
        for side, lang in enumerate(LANGUAGES):
            path = folder / f"{SPLIT_NAMES[name]}.{lang}"
            temporary = path.with_name(f"{path.name}.partial-{os.getpid()}")
            temporary.write_text("".join(pairs[i][side] + "\n" for i in indices), encoding="utf-8")
            os.replace(temporary, path)
            files[path.name] = _sha256(path)
    with zipfile.ZipFile(archive) as bundle:
        (folder / "ABOUT.txt").write_bytes(bundle.read("_about.txt"))
    files["ABOUT.txt"] = _sha256(folder / "ABOUT.txt")
    return {"archive_sha256": SHA256, "split_version": SPLIT_VERSION, "files": files,
            "pairs": {name: len(indices) for name, indices in splits.items()}, "attribution": ATTRIBUTION,
            "how": "pairs sharing an English or German sentence form a group; sha256(smallest sentence) picks the "
                   f"group's split: {DEV_PER_MILLE / 10:g} % valid (dev), {DEV_PER_MILLE / 10:g} % test, the rest train"}


def prepare_tatoeba(dest: str | os.PathLike[str], mirror: str | os.PathLike[str] | None = None,
                    progress: bool = True) -> dict:
    """The archive fetched and split into `dest` (once: a manifest of the files s2s wrote finds them again); returns the
    manifest. A file in the way that s2s did not write is an error, never overwritten."""
    dest = Path(dest)
    archive = download_tatoeba(dest, mirror, progress)
    manifest_path = dest / MANIFEST
    manifest = None
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = None
    ours = set(manifest.get("files", {})) if isinstance(manifest, dict) else set()
    if isinstance(manifest, dict) and manifest.get("split_version") == SPLIT_VERSION and \
            manifest.get("archive_sha256") == SHA256 and all(
            (dest / name).is_file() and _sha256(dest / name) == digest for name, digest in manifest["files"].items()):
        return manifest
    names = [f"{SPLIT_NAMES[name]}.{lang}" for name in SPLIT_NAMES for lang in LANGUAGES] + ["ABOUT.txt"]
    foreign = [name for name in names if (dest / name).exists() and name not in ours]
    if foreign:
        raise S2SError(f"Tatoeba folder {dest} already holds {', '.join(foreign)}, which s2s did not write (no "
                       f"{MANIFEST} lists them); move them away or set data.data_dir to another folder.")
    try:
        manifest = _write_splits(archive, dest)
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    except OSError as error:
        raise S2SError(f"Could not write the Tatoeba splits into {dest}: {error}. Choose a writable folder.") from None
    if progress:
        print(f"Tatoeba: split into {dest} ({', '.join(f'{n} {c}' for n, c in manifest['pairs'].items())} pairs; "
              f"{ATTRIBUTION})", file=sys.stderr)
    return manifest


def tatoeba_paths(src_lang: str, tgt_lang: str, dest: str | os.PathLike[str],
                  mirror: str | os.PathLike[str] | None = None, progress: bool = True) -> dict[str, tuple[Path, Path]]:
    """Ensure the split files exist in `dest`; return {"train"|"valid"|"test": (src, tgt)}."""
    if {src_lang, tgt_lang} != set(LANGUAGES):
        raise S2SError(f"Tatoeba here is German-English only; data.src and data.tgt are {src_lang!r} and {tgt_lang!r}: "
                       f"set them to de and en (either way round).")
    prepare_tatoeba(dest, mirror, progress)
    dest = Path(dest)
    return {name: (dest / f"{file}.{src_lang}", dest / f"{file}.{tgt_lang}") for name, file in SPLIT_NAMES.items()}
