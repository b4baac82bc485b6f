"""Fetch the Multi30k task-1 raw files (WMT16 multimodal translation) from GitHub or a mirror, checksum-verified."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO


from s2s.errors import S2SError
from s2s.progress import progress as progress_bar

LANGUAGES = ("en", "de", "fr", "cs")
SPLITS = ("train", "val", "test_2016_flickr")
URL = "https://github.com/multi30k/dataset/raw/master/data/task1/raw/{split}.{lang}.gz"
MIRROR_ENV = "S2S_MULTI30K_MIRROR"
SHA256: dict[str, str] = {
    "test_2016_flickr.cs.gz": "200a4a74cc9560f051924abb9803be008d1908d77f747e9141aeb86dfd2797f1",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.fr.gz": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
    "train.cs.gz": "a65adb8b32e3bc664f21ecba7a6e7f6950fd1f405e135f7c312faabdb6255077",
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr.gz": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.cs.gz": "b63226e05c4bd5dd6a42897d74b86a1b9d2c31498252c572b1ea7f7996927fcc",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr.gz": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
}

_PAIR_SPLITS = {"train": "train", "valid": "val", "test": "test_2016_flickr"}
_CHUNK = 1 << 16
_OFFLINE_HINT = (
    f"To work offline, put the 12 files {{train,val,test_2016_flickr}}.{{en,de,fr,cs}}.gz in a local folder "
    f"and pass it with --mirror DIR or set {MIRROR_ENV}=DIR; they are copied from there and checksum-verified."
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _as_tuple(values: str | Iterable[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


def _check_known(values: tuple[str, ...], valid: tuple[str, ...], what: str) -> None:
    unknown = [value for value in values if value not in valid]
    if unknown:
        raise S2SError(
            f"Multi30k has no {what} {', '.join(map(repr, unknown))}; choose from: {', '.join(valid)}."
        )


def _download(url: str, out: BinaryIO, name: str, progress: bool, timeout: float, dataset: str = "Multi30k",
              hint: str = _OFFLINE_HINT) -> None:
    """Stream `url` into `out`; network failures become an S2SError with the offline route (`hint`)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with progress_bar(total=total, unit="B", unit_scale=True, desc=name, disable=not progress) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (OSError, http.client.HTTPException) as error:
        reason = error if isinstance(error, urllib.error.HTTPError) else getattr(error, "reason", error)
        raise S2SError(f"Downloading {dataset} file {name} from {url} failed: {reason}. {hint}") from None


def _fetch(split: str, lang: str, final: Path, mirror: Path | None, progress: bool, timeout: float) -> None:
    """Write one file to `final` through a temporary file beside it that must pass the checksum first."""
    name = final.name
    source = str(mirror / name) if mirror is not None else URL.format(split=split, lang=lang)
    partial = final.with_name(f"{name}.partial-{os.getpid()}")
    try:
        with partial.open("wb") as out:
            if mirror is None:
                _download(source, out, name, progress, timeout)
            else:
                if progress:
                    print(f"Copying {source} -> {final}", file=sys.stderr)
                with open(source, "rb") as handle:
                    shutil.copyfileobj(handle, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
        actual = _sha256(partial)
        if actual != SHA256[name]:
            if mirror is not None:
                fix = (
                    f"The mirror file is corrupt, truncated or not the Multi30k task-1 raw file; replace {source} "
                    "with a fresh copy from https://github.com/multi30k/dataset/tree/master/data/task1/raw."
                )
            else:
                fix = (
                    "The transfer was truncated or the upstream file changed; run the download again, and if the "
                    f"mismatch persists fetch the files by hand and check them. {_OFFLINE_HINT}"
                )
            raise S2SError(
                f"Multi30k file {name}: checksum mismatch for the copy from {source} "
                f"(expected SHA-256 {SHA256[name]}, got {actual}); nothing was written to {final}. {fix}"
            )
        os.replace(partial, final)
    except OSError as error:
        hint = f" and that {source} is readable" if mirror is not None else ""
        raise S2SError(
            f"Could not write Multi30k file {final}: {error}. Check that {final.parent} is writable and has "
            f"free space{hint}."
        ) from None
    finally:
        partial.unlink(missing_ok=True)


def download_multi30k(
    dest: str | os.PathLike[str],
    mirror: str | os.PathLike[str] | None = None,
    languages: str | Iterable[str] = LANGUAGES,
    splits: str | Iterable[str] = SPLITS,
    progress: bool = True,
    timeout: float = 10.0,
) -> dict[str, Path]:
    """Ensure dest/{split}.{lang}.gz exist with the right SHA-256; return {filename: path}.

    Valid files already in `dest` are kept; others come from `mirror`, else $S2S_MULTI30K_MIRROR, else GitHub.
    """
    languages, splits = _as_tuple(languages), _as_tuple(splits)
    _check_known(languages, LANGUAGES, "language")
    _check_known(splits, SPLITS, "split")
    dest = Path(dest)
    wanted = {f"{split}.{lang}.gz": (split, lang) for split in splits for lang in languages}
    paths = {name: dest / name for name in wanted}
    needed = [name for name, path in paths.items() if not (path.is_file() and _sha256(path) == SHA256[name])]
    if not needed:
        return paths

    from_env = mirror is None and bool(os.environ.get(MIRROR_ENV))
    mirror_dir = Path(os.environ[MIRROR_ENV]) if from_env else (Path(mirror) if mirror is not None else None)
    if mirror_dir is not None:
        origin = f"{MIRROR_ENV}={mirror_dir}" if from_env else f"--mirror {mirror_dir}"
        if not mirror_dir.is_dir():
            raise S2SError(
                f"Multi30k mirror folder {mirror_dir} (from {origin}) does not exist; point it at a folder holding "
                "the 12 files {train,val,test_2016_flickr}.{en,de,fr,cs}.gz, or unset it to download from GitHub."
            )
        missing = [str(mirror_dir / name) for name in needed if not (mirror_dir / name).is_file()]
        if missing:
            raise S2SError(
                f"Multi30k mirror folder {mirror_dir} (from {origin}) lacks {', '.join(missing)}; copy the missing "
                "files from https://github.com/multi30k/dataset/tree/master/data/task1/raw into it."
            )

    try:
        dest.mkdir(parents=True, exist_ok=True)
        for name in needed:
            paths[name].unlink(missing_ok=True)  # present but failed the checksum: never leave it in place
    except OSError as error:
        raise S2SError(f"Cannot prepare the Multi30k folder {dest}: {error}. Choose a writable folder.") from None
    for name in needed:
        split, lang = wanted[name]
        _fetch(split, lang, paths[name], mirror_dir, progress, timeout)
    return paths


def multi30k_paths(
    src_lang: str,
    tgt_lang: str,
    dest: str | os.PathLike[str],
    mirror: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> dict[str, tuple[Path, Path]]:
    """Ensure the 6 files of a language pair exist in `dest`; return {"train"|"valid"|"test": (src, tgt)}."""
    if src_lang == tgt_lang:
        raise S2SError(f"Multi30k source and target language are both {src_lang!r}; choose two different ones.")
    files = download_multi30k(dest, mirror, languages=(src_lang, tgt_lang), progress=progress)
    return {
        key: (files[f"{split}.{src_lang}.gz"], files[f"{split}.{tgt_lang}.gz"]) for key, split in _PAIR_SPLITS.items()
    }
