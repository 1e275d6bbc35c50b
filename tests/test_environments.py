"""The other ways to run the kit agree with pyproject.toml: Binder (repo2docker reads
binder/), conda (environment.yml) and Codespaces (.devcontainer/)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SOUND_PACKAGES = {"espeak-ng", "ffmpeg"}  # what the sandbox speaks and reads audio with


def lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_binders_requirements_are_the_projects_dependencies():
    assert lines(ROOT / "binder" / "requirements.txt") == PROJECT["dependencies"]


def test_binder_installs_the_sound_packages_and_a_python_the_project_supports():
    assert set(lines(ROOT / "binder" / "apt.txt")) == SOUND_PACKAGES
    (runtime,) = lines(ROOT / "binder" / "runtime.txt")
    major, minor = map(int, runtime.removeprefix("python-").split("."))
    assert (major, minor) >= (3, 10) and PROJECT["requires-python"] == ">=3.10"


def test_repo2docker_accepts_binder_and_its_dockerfile_installs_the_kit():
    """Binder's own builder, asked for the Dockerfile only (no Docker daemon needed)."""
    repo2docker = Path(sys.executable).with_name("jupyter-repo2docker")
    done = subprocess.run([str(repo2docker), "--no-build", "--debug", str(ROOT)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    dockerfile = done.stdout + done.stderr
    assert "Building conda environment for python=3.11" in dockerfile  # runtime.txt
    assert "apt-get install --yes --no-install-recommends espeak-ng ffmpeg" in dockerfile  # apt.txt
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert dockerfile.index("binder/requirements.txt") < dockerfile.index("RUN ./binder/postBuild")


def test_postbuild_installs_the_kit_and_the_quiet_jupyterlab_settings():
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert post_build.startswith("#!/bin/bash") and (ROOT / "binder" / "postBuild").stat().st_mode & 0o111
    assert "pip install --no-cache-dir --no-deps -e ." in post_build
    assert "lab-settings/overrides.json" in post_build and (ROOT / "lab-settings" / "overrides.json").exists()


def test_the_conda_environment_installs_the_project_with_its_sound_packages():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    (pip,) = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert pip == ["-e ."]  # pyproject.toml's dependencies, whatever they become
    assert SOUND_PACKAGES <= set(conda) and "pip" in conda
    (python,) = [d for d in conda if d.startswith("python")]
    assert python.removeprefix("python=") == "3.11"


def test_the_codespace_installs_the_sound_packages_and_opens_the_workshop():
    container = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert all(package in container["postCreateCommand"] for package in SOUND_PACKAGES)
    assert container["postAttachCommand"] == "make lab" and shutil.which("make")
