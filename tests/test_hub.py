"""``xpnn.hub`` (torch.hub's weight downloads), offline: ``file://`` URLs stand in for a
model zoo. The cache folder follows PyTorch's rule, a download is checked against the hash
in its name and kept only when whole, a cached file is not fetched again, and both
PyTorch's archives and safetensors files load."""
import hashlib
import os

import numpy as np
import pytest

import xpnn
from conftest import to_np

torch = pytest.importorskip("torch")


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(xpnn.hub, "_hub_dir", [None])
    xpnn.hub.set_dir(tmp_path / "hub")
    return tmp_path / "hub"


def _zoo_file(tmp_path, obj, stem="resnet"):
    """A file named as model zoos name them: <stem>-<first 8 hex of its SHA-256>.pth."""
    raw = tmp_path / "raw.pth"
    torch.save(obj, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    named = tmp_path / f"{stem}-{digest[:8]}.pth"
    os.replace(raw, named)
    return named


def test_get_dir_follows_pytorchs_rule(monkeypatch, tmp_path):
    monkeypatch.setattr(xpnn.hub, "_hub_dir", [None])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert xpnn.hub.get_dir() == torch.hub.get_dir() == str(tmp_path / "th" / "hub")
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert xpnn.hub.get_dir() == str(tmp_path / "xdg" / "torch" / "hub")
    xpnn.hub.set_dir(tmp_path / "mine")
    assert xpnn.hub.get_dir() == str(tmp_path / "mine")


def test_load_state_dict_from_url_downloads_once(hub_dir, tmp_path, capsys):
    ref = torch.nn.Linear(3, 2)
    src = _zoo_file(tmp_path, ref.state_dict())
    sd = xpnn.hub.load_state_dict_from_url(src.as_uri(), check_hash=True, progress=False)
    m = xpnn.nn.Linear(3, 2)
    m.load_state_dict(sd)
    np.testing.assert_array_equal(to_np(m.weight), ref.weight.detach().numpy())
    cached = hub_dir / "checkpoints" / src.name
    assert cached.exists() and "Downloading" in capsys.readouterr().out
    src.unlink()  # the cache answers now
    again = xpnn.hub.load_state_dict_from_url(src.as_uri(), progress=False)
    assert list(again) == ["weight", "bias"] and "Downloading" not in capsys.readouterr().out


def test_a_bad_hash_keeps_nothing(hub_dir, tmp_path):
    src = _zoo_file(tmp_path, {"w": torch.ones(2)})
    wrong = tmp_path / "resnet-00000000.pth"
    os.replace(src, wrong)
    with pytest.raises(RuntimeError, match="invalid hash value"):
        xpnn.hub.load_state_dict_from_url(wrong.as_uri(), check_hash=True, progress=False)
    assert os.listdir(hub_dir / "checkpoints") == []


def test_safetensors_files_and_file_name(hub_dir, tmp_path):
    path = xpnn.save({"w": xpnn.arange(4.0)}, tmp_path / "w.safetensors")
    got = xpnn.hub.load_state_dict_from_url(f"file://{path}", model_dir=tmp_path / "md",
                                            file_name="renamed.safetensors", progress=False)
    np.testing.assert_array_equal(to_np(got["w"]), [0, 1, 2, 3])
    assert (tmp_path / "md" / "renamed.safetensors").exists()


def test_download_url_to_file_checks_the_prefix(tmp_path):
    src = tmp_path / "a.bin"
    src.write_bytes(b"xpnn" * 1000)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    xpnn.hub.download_url_to_file(src.as_uri(), tmp_path / "b.bin", digest[:10],
                                  progress=False)
    assert (tmp_path / "b.bin").read_bytes() == src.read_bytes()
    with pytest.raises(RuntimeError, match="invalid hash"):
        xpnn.hub.download_url_to_file(src.as_uri(), tmp_path / "c.bin", "ffff",
                                      progress=False)
    assert not (tmp_path / "c.bin").exists()
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.bin"]  # no partial file left


@pytest.mark.parametrize("name", ["load", "list", "help"])
def test_hub_code_loading_is_refused(name):
    with pytest.raises(NotImplementedError, match="does not run downloaded code"):
        getattr(xpnn.hub, name)("pytorch/vision", "resnet18")


def test_model_zoo_load_url_is_the_hub_download():
    """torch.utils.model_zoo.load_url, the old spelling, is torch.hub's weight download."""
    import xpnn.utils.model_zoo as model_zoo
    assert model_zoo.load_url is xpnn.hub.load_state_dict_from_url
