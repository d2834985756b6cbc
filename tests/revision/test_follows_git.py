"""The revision build_info reports follows git at every build, not the first configure.

In a copy of the tree's build files (copied, not cloned: it needs no git access to this
checkout) made a git repository of its own, it configures, builds october_core and the tiny
october_print_build_info, then checks that
  - the reported revision is the copy's HEAD;
  - a rebuild with no new commit recompiles and relinks nothing;
  - after a new commit, a rebuild reports the new HEAD;
  - -DOCTOBER_REVISION=... (what the image build passes) wins over git.
OCTOBER_REVISION_TEST_PRE_FIX=1 runs it against the configure-time logic the fix replaced
(pre_fix_revision.cmake), where it fails.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
COPIED = ("CMakeLists.txt", "CMakePresets.json", "cmake", "src", "tests")
PROBE = "october_print_build_info"
CMAKE = os.environ.get("OCTOBER_CMAKE", "cmake")
# No user or system git configuration (hooks, signing) reaches the copy's commits.
GIT_ENV = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "october test", "GIT_AUTHOR_EMAIL": "test@october.invalid",
           "GIT_COMMITTER_NAME": "october test", "GIT_COMMITTER_EMAIL": "test@october.invalid"}


def run(*args, cwd):
    done = subprocess.run(args, cwd=cwd, env=GIT_ENV, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def git(tree, *args):
    return run("git", *args, cwd=tree).strip()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    tree = tmp_path_factory.mktemp("october")
    ignore = shutil.ignore_patterns("build", "__pycache__", "*.pyc")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    if os.environ.get("OCTOBER_REVISION_TEST_PRE_FIX") == "1":
        shutil.copy2(HERE / "pre_fix_revision.cmake", tree / "cmake" / "OctoberRevision.cmake")
    git(tree, "init", "-q")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "first")
    configure = [CMAKE, "-S", str(tree), "-B", str(tree / "build"), "-G", "Ninja",
                 # No optimisation: the test is about what gets rebuilt, not how fast it runs.
                 "-DCMAKE_BUILD_TYPE="]
    if os.environ.get("OCTOBER_CXX"):
        configure.append(f"-DCMAKE_CXX_COMPILER={os.environ['OCTOBER_CXX']}")
    if os.environ.get("OCTOBER_NINJA"):
        configure.append(f"-DCMAKE_MAKE_PROGRAM={os.environ['OCTOBER_NINJA']}")
    run(*configure, cwd=tree)
    yield tree
    shutil.rmtree(tree, ignore_errors=True)


def build(tree):
    """Builds the probe; returns ninja's log of what it did."""
    return run(CMAKE, "--build", str(tree / "build"), "--target", PROBE, "-j", "2", cwd=tree)


def reported(tree):
    version, revision = run(str(tree / "build" / "bin" / PROBE), cwd=tree).split()
    return revision


def stamps(tree):
    objects = sorted((tree / "build").rglob("build_info.cpp.o"))
    assert len(objects) == 1, objects
    return {path: path.stat().st_mtime_ns for path in (objects[0], tree / "build" / "bin" / PROBE)}


def test_reports_the_head_it_was_built_from(tree):
    build(tree)
    assert reported(tree) == git(tree, "rev-parse", "--short=12", "HEAD")


def test_a_rebuild_without_a_new_commit_rebuilds_nothing(tree):
    build(tree)
    before = stamps(tree)
    log = build(tree)
    assert "build_info.cpp" not in log and "Linking" not in log, log
    assert stamps(tree) == before


def test_a_new_commit_is_reported_after_a_rebuild(tree):
    build(tree)
    old = reported(tree)
    git(tree, "commit", "-q", "--allow-empty", "-m", "second")
    new = git(tree, "rev-parse", "--short=12", "HEAD")
    assert new != old
    build(tree)
    assert reported(tree) == new


def test_an_explicit_revision_wins_over_git(tree):
    run(CMAKE, "-DOCTOBER_REVISION=given-by-the-image-build", str(tree / "build"), cwd=tree)
    build(tree)
    assert reported(tree) == "given-by-the-image-build"
    git(tree, "commit", "-q", "--allow-empty", "-m", "third")
    build(tree)
    assert reported(tree) == "given-by-the-image-build"
