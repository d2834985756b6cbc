"""GET /configs against a real october-api: the files of CONFIG_DIR laid out as the kubelet mounts
a ConfigMap, re-read when the kubelet swaps `..data` to a new version (rename(2) of a symlink),
when a plain file is edited, added or removed; the reload counter in /metrics; the limits and
the markers for binary and omitted files; CONFIG_DIR unset or not a directory."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import pytest

from support.http_checks import assert_error
from support.processes import wait_for
from support.servers import assert_rejected, run_api_binary

WAIT = 15  # seconds: generous for a loaded 2-core machine


class ConfigMapVolume:
    """A directory written the way the kubelet's atomic writer updates a ConfigMap volume: the
    new version in a fresh `..<timestamp>` directory, `..data_tmp` pointing at it renamed over
    `..data`, then the key symlinks (`name -> ..data/name`) added and removed, then the old
    version's directory deleted."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True)
        self.version = 0
        self.current: Path | None = None

    def write(self, files: dict[str, bytes | str]) -> None:
        self.version += 1
        stamp = self.root / f"..2026_12_02_03_00_{self.version:02d}.{os.getpid()}{self.version}"
        stamp.mkdir()
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            (stamp / name).write_bytes(data)
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(stamp.name)
        os.rename(tmp, self.root / "..data")  # the atomic swap
        for name in files:
            if not (self.root / name).is_symlink():
                (self.root / name).symlink_to(f"..data/{name}")
        for entry in self.root.iterdir():
            if not entry.name.startswith("..") and entry.name not in files:
                entry.unlink()
        if self.current is not None:
            for f in self.current.iterdir():
                f.unlink()
            self.current.rmdir()
        self.current = stamp


def configs(api) -> dict:
    resp = api.get("/configs")
    assert resp.status_code == 200, resp.text
    return resp.json()


def reloads_metric(api) -> float:
    return api.metrics().value("october_config_reloads_total")


def wait_files(api, expected: dict, what: str) -> dict:
    return wait_for(lambda: (body := configs(api))["files"] == expected and body, WAIT,
                    what=lambda: f"{what}: /configs shows {configs(api)['files']}")


@pytest.fixture
def volume(tmp_path):
    vol = ConfigMapVolume(tmp_path / "config")
    vol.write({"app.conf": "mode=stable\n", "feature.json": '{"flag": false}'})
    return vol


def test_lists_the_keys_of_a_configmap_volume(api_factory, volume):
    api = api_factory(env={"CONFIG_DIR": volume.root})
    body = configs(api)
    assert body["files"] == {"app.conf": "mode=stable\n", "feature.json": '{"flag": false}'}
    assert body["directory"] == str(volume.root)
    assert body["omitted"] == {} and body["files_over_limit"] == 0
    assert body["reloads"] == 0
    assert not any(name.startswith("..") for name in body["files"])
    metrics = api.metrics()
    assert metrics.value("october_config_reloads_total") == 0
    assert metrics.value("october_config_files") == 2
    assert abs(metrics.value("october_config_last_read_timestamp_seconds") - time.time()) < 120


def test_the_kubelet_swap_reloads(api_factory, volume):
    api = api_factory(env={"CONFIG_DIR": volume.root})
    before = reloads_metric(api)
    volume.write({"app.conf": "mode=canary\n", "feature.json": '{"flag": true}'})
    body = wait_files(api, {"app.conf": "mode=canary\n", "feature.json": '{"flag": true}'},
                      "after the ..data swap")
    assert body["reloads"] >= 1
    assert reloads_metric(api) > before
    # A key the next version drops disappears, a new one appears.
    volume.write({"app.conf": "mode=canary\n", "new.txt": "hello"})
    wait_files(api, {"app.conf": "mode=canary\n", "new.txt": "hello"}, "after a key changed")
    assert api.metrics().value("october_config_files") == 2


def test_nothing_changed_means_no_reload(api_factory, volume):
    # The counter counts reloads, not scrapes or time: it stays put while nothing changes.
    api = api_factory(env={"CONFIG_DIR": volume.root})
    first = reloads_metric(api)
    time.sleep(1.0)
    configs(api)
    assert reloads_metric(api) == first == 0


def test_plain_directory_edits_additions_and_removals_reload(api_factory, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("one")
    (plain / "b.txt").write_text("bee")
    api = api_factory(env={"CONFIG_DIR": plain})
    assert configs(api)["files"] == {"a.txt": "one", "b.txt": "bee"}

    (plain / "a.txt").write_text("two")
    wait_files(api, {"a.txt": "two", "b.txt": "bee"}, "after an edit")
    (plain / "c.txt").write_text("sea")
    wait_files(api, {"a.txt": "two", "b.txt": "bee", "c.txt": "sea"}, "after an addition")
    (plain / "b.txt").unlink()
    body = wait_files(api, {"a.txt": "two", "c.txt": "sea"}, "after a removal")
    assert body["reloads"] >= 3
    assert reloads_metric(api) >= 3


def test_binary_content_is_base64_and_limits_are_stated(api_factory, tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    blob = bytes([0x89, 0x50, 0x4E, 0x47, 0xFF, 0x00, 0xFE])
    (d / "logo.png").write_bytes(blob)
    (d / "utf8.txt").write_text("été 🐦", encoding="utf-8")
    (d / "big.bin").write_bytes(b"x" * (256 * 1024 + 1))
    (d / "subdir").mkdir()
    api = api_factory(env={"CONFIG_DIR": d})
    body = configs(api)
    assert body["files"]["utf8.txt"] == "été 🐦"
    assert base64.b64decode(body["files"]["logo.png"]["base64"]) == blob
    assert body["omitted"] == {"big.bin": "larger than 262144 bytes",
                               "subdir": "not a regular file"}


def test_more_files_than_the_limit_are_counted_not_read(api_factory, tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(105):
        (d / f"k{i:03d}").write_text(str(i))
    body = configs(api_factory(env={"CONFIG_DIR": d}))
    assert len(body["files"]) == 100 and body["files_over_limit"] == 5
    assert "k099" in body["files"] and "k100" not in body["files"]


def test_unset_config_dir_answers_404(api):
    resp = api.get("/configs")
    assert_error(resp, 404, "not_configured")
    assert "CONFIG_DIR" in resp.json()["detail"]
    assert "october_config_reloads_total" not in api.metrics().names()


def test_config_dir_must_be_a_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    assert_rejected(run_api_binary(env={"CONFIG_DIR": str(tmp_path / "missing")}), "CONFIG_DIR")
    assert_rejected(run_api_binary(env={"CONFIG_DIR": str(tmp_path / "file")}), "CONFIG_DIR")


def test_openapi_lists_configs(api):
    assert "/configs" in api.get("/openapi.json").json()["paths"]
