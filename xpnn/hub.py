"""``torch.hub``'s weight downloads: ``load_state_dict_from_url`` (what model zoos call for
pretrained weights), ``download_url_to_file``, ``get_dir``/``set_dir``.

Files are cached where PyTorch caches them (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``), so weights PyTorch already downloaded are reused, and
are read by ``xpnn.load``: PyTorch's own archives (weights only) and safetensors files. A
download goes to a temporary file in that folder, is checked against the SHA-256 prefix in
its name when ``check_hash`` asks (PyTorch's ``name-<hex>.pth`` convention) and is renamed
into place only when complete, so an interrupted download leaves nothing behind.
``torch.hub.load``/``list``/``help`` run a repository's ``hubconf.py``; xpnn does not run
downloaded code, so those raise NotImplementedError.
"""
from __future__ import annotations

import os
import re
import sys

from .io.serialize import load as _load

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_hub_dir = [None]

__all__ = ["download_url_to_file", "get_dir", "load_state_dict_from_url", "set_dir"]


def get_dir():
    """The hub folder: set_dir's, else $TORCH_HOME/hub, else $XDG_CACHE_HOME/torch/hub or
    ~/.cache/torch/hub (PyTorch's rule)."""
    if _hub_dir[0] is not None:
        return _hub_dir[0]
    home = os.getenv("TORCH_HOME") or os.path.join(
        os.getenv("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch")
    return os.path.join(os.path.expanduser(home), "hub")


def set_dir(d):
    _hub_dir[0] = os.path.expanduser(os.fspath(d))


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    """Download ``url`` to the path ``dst``: into a temporary file beside it, checked against
    ``hash_prefix`` (the start of its SHA-256, hex) when given, then renamed to ``dst``."""
    import hashlib  # here, not at import: `import xpnn` does not pay for urllib
    import tempfile
    import urllib.request
    dst = os.path.expanduser(os.fspath(dst))
    folder = os.path.dirname(os.path.abspath(dst))
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(dst) + ".", suffix=".partial",
                               dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url) as src:
            total, done = src.headers.get("Content-Length"), 0
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    of = f" of {int(total):,}" if total else ""
                    sys.stderr.write(f"\r{done:,}{of} bytes")
        if progress:
            sys.stderr.write("\n")
        if hash_prefix is not None and not digest.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f"download_url_to_file: invalid hash value of {url} (expected "
                               f"{hash_prefix!r}, got {digest.hexdigest()!r}); nothing was "
                               "kept")
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                             check_hash=False, file_name=None, weights_only=False):
    """The object saved at ``url`` (a state dict, usually), downloaded once into
    ``model_dir`` (default ``get_dir()/checkpoints``) and loaded by ``xpnn.load``."""
    import urllib.parse
    model_dir = os.path.join(get_dir(), "checkpoints") if model_dir is None else \
        os.path.expanduser(os.fspath(model_dir))
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    if not filename:
        raise ValueError(f"load_state_dict_from_url: {url!r} names no file; pass file_name=")
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):
        sys.stdout.write(f'Downloading: "{url}" to {cached}\n')
        match = HASH_REGEX.search(filename) if check_hash else None
        download_url_to_file(url, cached, match.group(1) if match else None,
                             progress=progress)
    return _load(cached, map_location=map_location, weights_only=weights_only)


def _runs_code(name):
    def call(*args, **kwargs):
        raise NotImplementedError(f"xpnn.hub.{name}: it would run the repository's "
                                  "hubconf.py, and xpnn does not run downloaded code; build "
                                  "the model from xpnn's layers and load its weights with "
                                  "load_state_dict_from_url")
    call.__name__ = name
    return call


load, list, help = _runs_code("load"), _runs_code("list"), _runs_code("help")
