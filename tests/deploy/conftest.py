"""Fixtures of the chart-runs-for-real tests: a private network namespace for the whole session,
and a release rendered, played and torn down around the tests that use it."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess

import pytest

import kubeplay

CLONE_NEWNET = 0x40000000


def pytest_configure(config):
    """Moves this process (and so every podman call and container it starts) into a network
    namespace of its own with only a loopback interface: all traffic of these tests stays on it,
    and the ports the chart hard-codes (8000, 8001) never meet the machine's other listeners."""
    if os.geteuid() != 0:
        return  # run.sh skips (77) before pytest starts; a direct run without root fails below
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


@pytest.fixture(scope="session", autouse=True)
def _preconditions():
    if os.geteuid() != 0:
        pytest.fail("needs root (rootful Podman); tests/deploy/run.sh skips without it", pytrace=False)
    for tool in ("podman", "ip"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing (scripts/bootstrap.sh installs it)", pytrace=False)
    kubeplay.helmlib.require_tools()
    for image in kubeplay.images():
        if kubeplay.podman("image", "exists", image, check=False).returncode != 0:
            pytest.fail(f"image {image} missing: tests/deploy/run.sh builds it", pytrace=False)


@pytest.fixture
def release_factory(tmp_path):
    """release_factory(rendered) -> a Release; each is torn down after the test, also on failure."""
    made = []

    def make(rendered, name="release"):
        path = tmp_path / name
        path.mkdir()
        release = kubeplay.Release(rendered, path)
        made.append(release)
        return release

    yield make
    for release in reversed(made):
        release.down()
