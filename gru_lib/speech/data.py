"""Raw speech for the speech half of Chung et al. (2014), on an open corpus, framed as the paper did.

The paper's speech sets (Ubisoft A and B) are proprietary. We use the Free Spoken Digit
Dataset instead -- FSDD, Zohar Jackson et al., CC BY-SA 4.0,
https://github.com/Jakobovski/free-spoken-digit-dataset -- with the paper's framing. The
numbers are therefore NOT comparable with the paper's Ubisoft rows: a different corpus, a
different scale, a different amount of data.

- 3,000 recordings ``{digit}_{speaker}_{take}.wav``: 6 speakers x 10 digits x 50 takes,
  8 kHz, mono, 16-bit. Pinned to commit 26eb9aa of the repository; a download (GitHub's
  tar.gz of that commit) or a local copy of ``recordings/`` is accepted only if the sha256
  of the 3,000 files, concatenated in sorted path order, is the registry's
  ``content_sha256``. (GitHub builds archives on demand, so the archive's own bytes are not
  pinned; its content is.)
- Split by take, so every speaker and digit is in every split:
  takes 0-4 -> "test" (the customary FSDD test set, 300 clips),
  takes 5-9 -> "valid" (300 clips, held out of the customary training takes),
  takes 10-49 -> "train" (2,400 clips).
- Normalisation, the same for every split and every file: x = int16 / 32768, so
  x ∈ [-1, 1). No per-clip gain, no mean removal: the model sees the levels as recorded.

Framing, as in the paper: at each step the model reads 20 consecutive samples and predicts
the next 10, then moves on by 10 (hop 10). We store a clip as frames of 10 samples,
(N, 10); step t reads frames t and t+1 (20 samples) and predicts frame t+2, so a clip of N
frames has N - 2 steps. The last len % 10 samples of a clip are dropped (< 1.25 ms).
Batches of frames are padded with lengths exactly like piano rolls
(``gru_lib.training.batching.batches``).
"""
from __future__ import annotations

import hashlib
import io
import re
import tarfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .. import checks, download, paper
from ..atomic import write_atomically
from ..checks import expand_user
from ..download import DownloadError
from ..paper import SPLITS

FRAME = paper.SPEECH_PREDICT     # samples predicted per step = the hop (10)
READ = paper.SPEECH_READ         # samples read per step (20): two frames
assert READ == 2 * FRAME, "the framing below reads exactly two frames per step"
RATE = 8000              # FSDD's sample rate, and the rate every waveform here is at
SCALE = 32768.0          # int16 -> float: x = int16 / 32768, for every split
MIN_SAMPLES = READ + FRAME   # a waveform must have 3 frames: 20 to read, 10 to predict
TEST_TAKES = range(0, 5)     # the customary FSDD test takes
VALID_TAKES = range(5, 10)   # our validation takes, held out of the customary training takes
N_RECORDINGS = 3000
CREDIT = ("Audio: Free Spoken Digit Dataset (FSDD), Zohar Jackson et al., CC BY-SA 4.0, "
          "github.com/Jakobovski/free-spoken-digit-dataset")

_NAME = re.compile(r"^([0-9])_([a-z]+)_([0-9]+)\.wav$")
_CACHE_FORMAT = 1        # bump when the cached .npz layout changes


# -----------------------------------------------------------------------------
# names and splits


def parse_name(name):
    """'7_theo_12.wav' -> (digit 7, speaker 'theo', take 12). ValueError if not FSDD-shaped."""
    m = _NAME.match(name) if isinstance(name, str) else None
    if m is None:
        raise ValueError(f"name: expected an FSDD file name '{{digit}}_{{speaker}}_{{take}}.wav', "
                         f"got {name!r}")
    return int(m.group(1)), m.group(2), int(m.group(3))


def split_of(name):
    """The split of a recording, from its take: 0-4 test, 5-9 valid, 10-49 train."""
    take = parse_name(name)[2]
    return "test" if take in TEST_TAKES else "valid" if take in VALID_TAKES else "train"


def _check_split(split, allow_none=True):
    if split not in SPLITS and not (allow_none and split is None):
        raise ValueError(f"split: expected one of {list(SPLITS)}{' or None' if allow_none else ''}, "
                         f"got {split!r}")


# -----------------------------------------------------------------------------
# reading and verifying the recordings


def _entry():
    return download.dataset_info("fsdd")["sources"][0]


def content_sha256(files):
    """sha256 of the files' bytes concatenated in sorted path order ({name: bytes})."""
    h = hashlib.sha256()
    for name in sorted(files):       # all paths are recordings/<name>: sorting names is enough
        h.update(files[name])
    return h.hexdigest()


def _verify(files, where, entry):
    """Raise DownloadError unless ``files`` are exactly the pinned 3,000 recordings."""
    if len(files) != entry["count"]:
        raise DownloadError(f"{where}: expected {entry['count']} recordings/*.wav, found {len(files)}. "
                            f"{_by_hand(entry)}")
    got = content_sha256(files)
    if got != entry["content_sha256"]:
        raise DownloadError(f"{where}: the recordings are not the pinned FSDD (commit "
                            f"{entry['commit'][:7]}): sha256 of the 3,000 files in sorted path "
                            f"order is {got}, expected {entry['content_sha256']}. {_by_hand(entry)}")


def _by_hand(entry):
    return (f"Get the archive by hand from {entry['urls'][0]} and give it (or the folder that "
            f"holds it, or a copy of the repository or of its recordings/ folder) as --data on "
            f"the command line, folder= in Python.")


def read_folder(folder, what: str = "folder"):
    """{name: bytes} of the .wav files in ``folder``/recordings (or in ``folder`` itself).
    ``what``: the argument's name for the error (load_recordings: "data", as on the command
    line)."""
    folder = Path(folder)
    rec = folder / "recordings" if (folder / "recordings").is_dir() else folder
    paths = sorted(rec.glob("*.wav"))
    if not paths:
        raise ValueError(f"{what}: no .wav recordings in {str(rec)!r} (expected the FSDD "
                         f"repository, its recordings/ folder, or the archive "
                         f"{_entry()['filename']})")
    return {p.name: p.read_bytes() for p in paths}


def read_archive(path):
    """{name: bytes} of ``*/recordings/*.wav`` in a tar.gz, read in memory.

    Nothing is extracted to disk, so a hostile archive cannot write outside the cache
    (no '../' or absolute member paths to worry about); members that are not regular
    files are ignored.
    """
    path = Path(path)
    files = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 3 and parts[1] == "recordings" \
                        and parts[2].endswith(".wav"):
                    files[parts[2]] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as e:   # gzip errors are OSError/EOFError
        raise ValueError(f"{path}: not a readable tar.gz archive ({type(e).__name__}: {e})") from None
    if not files:
        raise ValueError(f"{path}: the archive holds no <top folder>/recordings/*.wav files")
    return files


def _decode(files):
    """{name: wav bytes} -> {name: int16 array (n,)}, checking every file is 8 kHz mono int16."""
    from scipy.io import wavfile

    out = {}
    for name in sorted(files):
        parse_name(name)
        try:
            rate, data = wavfile.read(io.BytesIO(files[name]))
        except Exception as e:
            raise ValueError(f"{name}: not a readable WAV file ({type(e).__name__}: {e})") from None
        if rate != RATE or data.dtype != np.int16 or data.ndim != 1 or len(data) < MIN_SAMPLES:
            raise ValueError(f"{name}: expected {RATE} Hz mono 16-bit with >= {MIN_SAMPLES} samples, got "
                             f"{rate} Hz, {data.dtype}, shape {data.shape}")
        out[name] = data
    return out


def _cache_path():
    return download.cache_dir() / f"fsdd-{_entry()['commit'][:7]}-v{_CACHE_FORMAT}.npz"


def _write_cache(path, recs, sha):
    """All recordings in one .npz (no pickle): names, concatenated samples, offsets."""
    names = sorted(recs)
    offsets = np.cumsum([0] + [len(recs[n]) for n in names]).astype(np.int64)
    samples = np.concatenate([recs[n] for n in names])
    write_atomically(path, lambda f: np.savez(f, names=np.array(names), samples=samples,
                                                        offsets=offsets, content_sha256=np.array(sha)))


def _read_cache(path):
    """The recordings from our .npz, or None if it is damaged or from another version."""
    try:
        with np.load(path, allow_pickle=False) as z:
            names, samples, offsets = z["names"], z["samples"], z["offsets"]
            sha = str(z["content_sha256"])
        ok = (sha == _entry()["content_sha256"] and len(names) == N_RECORDINGS
              and samples.dtype == np.int16 and len(offsets) == len(names) + 1
              and offsets[-1] == len(samples))
    except Exception:  # truncated or foreign file: rebuild it
        return None
    if not ok:
        return None
    return {str(n): samples[offsets[i]:offsets[i + 1]] for i, n in enumerate(names)}


def load_recordings(folder=None, progress=True):
    """All 3,000 recordings, verified: {name: int16 array (n,)}, sorted by name.

    folder: a local copy to use: the FSDD repository, its ``recordings/`` folder, a
        folder holding the archive, or the archive file itself (any name). Never modified,
        never cached; with a folder, nothing is downloaded.
    Otherwise the verified recordings are kept in the gru_lib cache as one .npz; the
    first call downloads the pinned archive (unless ``GRU_LIB_OFFLINE=1``), checks its
    content, and builds the .npz (the archive is kept beside it).

    Raises DownloadError if no copy can be found or a copy is not the pinned one.
    """
    entry = _entry()
    if folder is not None:
        folder = expand_user(folder, "data")
        if folder.is_file() and folder.suffix.lower() == ".wav":   # one recording, not FSDD
            raise ValueError(f"data: {str(folder)!r} is a single WAV file; --data takes the "
                             f"whole FSDD: its folder (the repository or its recordings/) or "
                             f"its archive (to continue one recording of your own, give it "
                             f"with --prime)")
        if folder.is_file():              # the archive itself, under any name
            try:
                files = read_archive(folder)
            except ValueError as err:       # a text file, a zip, a damaged archive ...
                raise ValueError(f"data: {err}; --data takes the whole FSDD: its folder (the "
                                 f"repository or its recordings/) or its archive "
                                 f"{entry['filename']!r}") from None
            _verify(files, str(folder), entry)
            return _decode(files)
        if not folder.is_dir():
            raise ValueError(f"data: {str(folder)!r} is neither a file nor a folder")
        if (folder / "recordings").is_dir() or any(folder.glob("*.wav")):
            files = read_folder(folder, "data")
            _verify(files, str(folder), entry)
            return _decode(files)
        if not (folder / entry["filename"]).is_file():
            found = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
            shown = ", ".join(repr(n) for n in found[:12]) + (
                f" and {len(found) - 12} more" if len(found) > 12 else "")
            raise ValueError(f"data: the folder {str(folder)!r} holds no FSDD copy: expected a "
                             f"recordings/ folder of *.wav files, the .wav files themselves, or "
                             f"the archive {entry['filename']!r} (or give the archive itself, "
                             f"under any name); found {shown or 'nothing'}")
    else:
        cache = _cache_path()
        if cache.is_file():
            recs = _read_cache(cache)
            if recs is not None:
                return recs

    # The archive has no checksum of its own, so its content is the check, which fetch runs
    # before handing a file over: a downloaded archive that fails it never reaches the cache,
    # and one the user put there is left as it is, named in the error with what is wrong.
    decoded = []

    def check(path):
        files = read_archive(path)
        _verify(files, str(path), entry)
        decoded[:] = [_decode(files)]

    try:
        download.fetch(entry, folder=folder, progress=progress, check=check)
    except download.UnusableFile as e:
        raise download.UnusableFile(f"{e} {_by_hand(entry)}") from None
    recs = decoded[0]
    if folder is None:
        _write_cache(_cache_path(), recs, entry["content_sha256"])
    return recs


# -----------------------------------------------------------------------------
# waveforms and frames


def to_float(samples):
    """int16 samples -> float32 tensor in [-1, 1): x = int16 / 32768 (the one normalisation)."""
    return torch.from_numpy(np.asarray(samples, dtype=np.float32) / SCALE)


def load_speech(split="train", folder=None, progress=True):
    """Waveforms of a split as {name: float32 tensor (n,)} in [-1, 1).

    Ordered by take, then speaker, then digit: the first 60·k clips of a split are k whole
    takes (all 6 speakers x 10 digits), so a prefix is a balanced subset (the CLI's budgets
    cut splits that way).

    split: "train" (takes 10-49), "valid" (takes 5-9), "test" (takes 0-4), or None for
    {split: {name: wave}}. folder: see ``load_recordings``.
    """
    _check_split(split)
    recs = load_recordings(folder, progress=progress)
    out = {s: {} for s in SPLITS}
    for name in sorted(recs, key=_take_order):
        out[split_of(name)][name] = to_float(recs[name])
    return out if split is None else out[split]


def _take_order(name):
    digit, speaker, take = parse_name(name)
    return take, speaker, digit


def frame(wave, frame_size=FRAME):
    """A waveform (n,) -> frames (n // F, F); the last n % F samples are dropped."""
    wave = torch.as_tensor(np.asarray(wave) if not isinstance(wave, Tensor) else wave)
    if wave.dim() != 1:
        raise ValueError(f"wave: expected a 1-D waveform (n,), got shape {tuple(wave.shape)}")
    frame_size = checks.positive_int("frame_size", frame_size)
    n = wave.shape[0] // frame_size
    return wave[:n * frame_size].reshape(n, frame_size).float()


def load_frames(split="train", folder=None, progress=True, frame_size=FRAME):
    """Clips of a split as a list of (N, F) float32 frame tensors (in ``load_speech``'s order).

    The list plugs into ``gru_lib.training.batching.batches`` (padding + lengths) and into
    ``gru_lib.training.trainer.train``, exactly like a list of piano rolls. split None gives
    {split: list}.
    """
    _check_split(split)
    waves = load_speech(split, folder, progress)
    if split is None:
        return {s: [frame(w, frame_size) for w in waves[s].values()] for s in SPLITS}
    return [frame(w, frame_size) for w in waves.values()]


def step_count(clips):
    """Number of prediction steps in a list of (N, F) clips: Σ (N - 2)."""
    return sum(c.shape[0] - 2 for c in clips)

