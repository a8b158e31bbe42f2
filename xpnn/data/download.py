"""Fetch a file over HTTP(S) into a cache directory: SHA-256 verified, written atomically.

The bytes stream into ``xpnn.io.atomic_open``'s temporary file in the destination's own
directory and are hashed on the way; only a complete file with the right checksum is
fsync'ed and renamed into place (``os.replace`` is atomic within one filesystem). A failed
transfer leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from ..io.atomic import atomic_open


class DownloadError(OSError):
    """A transfer failed: unreachable host, HTTP error, truncated body or checksum mismatch."""


def cache_dir():
    """Where downloaded datasets go: ``$XPNN_CACHE``, else ``$XDG_CACHE_HOME/xpnn``, else
    ``~/.cache/xpnn``."""
    if os.environ.get("XPNN_CACHE"):
        return Path(os.environ["XPNN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "xpnn"


def sha256_of(path, chunk=1 << 20):
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def download(url, dest, sha256, timeout=60.0, chunk=1 << 20):
    """Download ``url`` to ``dest`` if the body's SHA-256 is ``sha256``.

    Args:
        url: http(s) address.
        dest: final path; its directory is created if needed.
        sha256: expected hex digest of the whole body.
        timeout: seconds for connecting and for each read.
        chunk: bytes per read.
    Returns:
        Path: ``dest``.
    Raises:
        DownloadError: the host cannot be reached, answers with an HTTP error, closes the
            connection before Content-Length bytes came, or sends a body whose checksum
            differs. The temporary file is removed in every case and ``dest`` is untouched.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(dest) as out:  # raising inside discards the temporary, dest untouched
        got, size = _stream(url, out, timeout, chunk)
        digest = got.hexdigest()
        if digest != sha256.lower():
            raise DownloadError(f"download {url}: checksum mismatch ({size} bytes with SHA-256 "
                                f"{digest}, expected {sha256}); the file was not kept")
    return dest


def _stream(url, out, timeout, chunk):
    """Copy the body of ``url`` into ``out``; returns (sha256 object, byte count)."""
    h, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
            length = int(length) if length is not None else None
            while True:
                block = resp.read(chunk)
                if not block:
                    break
                h.update(block)
                out.write(block)
                size += len(block)
    except http.client.IncompleteRead as e:
        raise DownloadError(f"download {url}: truncated transfer, the connection closed after "
                            f"{size + len(e.partial)} bytes ({e.expected} more were "
                            "announced)") from None
    except urllib.error.HTTPError as e:
        raise DownloadError(f"download {url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"download {url}: cannot reach the server ({reason})") from None
    if length is not None and size != length:
        raise DownloadError(f"download {url}: truncated transfer, got {size} of {length} "
                            "bytes")
    return h, size
