"""deploy/: a workshop room on JupyterHub.

`deploy/z2jh/config.yaml` is checked as helm checks a values file: merged over the chart's
default values, then validated against the chart's values schema (both kept in
tests/data/, from Zero to JupyterHub chart 4.4.0). Then the room's settings are checked
one by one. No network, no helm, no cluster.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
CONFIG = DEPLOY / "z2jh" / "config.yaml"
DATA = Path(__file__).resolve().parent / "data"
SCHEMA = DATA / "z2jh-values.schema.yaml"
CHART_DEFAULTS = DATA / "z2jh-values.yaml"
CHART_VERSION = "4.4.0"

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(path: Path):
    return yaml.load(path.read_text(), Loader=Loader)


def clean_jsonschema(schema: dict) -> dict:
    """What the chart's tools/generate-json-schema.py does to values.schema.yaml to make
    the values.schema.json helm validates with: drop `description`, at every level but
    directly under `properties` (where it could be the name of a chart option)."""
    schema.pop("description", None)
    for value in schema.get("properties", {}).values():
        if isinstance(value, Mapping):
            clean_jsonschema(value)
    return schema


@functools.cache
def validator() -> jsonschema.Draft7Validator:
    schema = clean_jsonschema(load(SCHEMA))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def helm_merge(defaults, values):
    """Helm's merge of a values file over the chart's defaults: maps merge key by key,
    anything else (lists too) replaces, and a null removes the default."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def schema_errors(values) -> list[str]:
    merged = helm_merge(load(CHART_DEFAULTS), values)
    return [f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
            for error in validator().iter_errors(merged)]


@pytest.fixture(scope="module")
def config() -> dict:
    return load(CONFIG)


@pytest.fixture(scope="module")
def merged(config) -> dict:
    return helm_merge(load(CHART_DEFAULTS), config)


# The values file, as helm sees it


def test_the_z2jh_config_is_valid_for_the_chart(config):
    assert schema_errors(config) == []


@pytest.mark.parametrize("section, typo", [
    ("singleuser", "memery"),
    ("cull", "timout"),
    ("prePuller", "continous"),
    ("scheduling", "userPlaceholders"),
    ("hub", "confg"),
])
def test_the_schema_refuses_a_misspelt_key(config, section, typo):
    """The schema is strict where the room's settings are, so a typo fails before the
    day rather than being ignored on it."""
    values = copy.deepcopy(config)
    values.setdefault(section, {})[typo] = {"limit": "1G"}
    errors = schema_errors(values)
    assert any(typo in error and "Additional properties are not allowed" in error for error in errors), errors


def test_the_schema_refuses_a_wrong_type(config):
    values = copy.deepcopy(config)
    values["cull"]["timeout"] = "1 hour"
    assert any(error.startswith("cull.timeout:") for error in schema_errors(values))


def test_the_schema_and_defaults_are_from_the_chart_version_the_recipes_install():
    for data in (SCHEMA, CHART_DEFAULTS):
        first = data.read_text().splitlines()[0]
        assert f"chart {CHART_VERSION} (git tag {CHART_VERSION}, commit " in first
        assert "https://github.com/jupyterhub/zero-to-jupyterhub-k8s" in first
    assert "BSD-3-Clause" in SCHEMA.read_text().splitlines()[0]
    for recipe in (CONFIG, DEPLOY / "README.md"):
        assert f"--version={CHART_VERSION}" in recipe.read_text()


# The room


def test_attendees_land_on_notebook_00_in_jupyterlab(config):
    url = config["singleuser"]["defaultUrl"]
    assert url.startswith("/lab/tree/") and url.endswith("notebooks/00_setup.ipynb")
    # relative to the image's working directory, the repository's root
    assert (ROOT / url.removeprefix("/lab/tree/")).is_file()


def test_the_image_is_built_from_binder_by_repo2docker_for_the_charts_user(config, merged):
    image = config["singleuser"]["image"]
    assert isinstance(image["name"], str) and isinstance(image["tag"], str) and image["tag"]
    build = CONFIG.read_text()
    assert "jupyter-repo2docker --no-run" in build and "docker push" in build
    (uid,) = set(re.findall(r"--user-id (\d+)", build))
    assert int(uid) == merged["singleuser"]["uid"]


def test_each_attendee_has_a_cpu_and_memory_guarantee_and_limit(config):
    cpu, memory = config["singleuser"]["cpu"], config["singleuser"]["memory"]
    assert 0 < cpu["guarantee"] <= cpu["limit"]

    def size(text):
        number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])", text).groups()
        return float(number) * 1000 ** "KMGT".index(unit)

    assert 0 < size(memory["guarantee"]) <= size(memory["limit"])
    sized = [line for line in CONFIG.read_text().splitlines()
             if re.match(r"\s+(guarantee|limit):", line)]
    assert len(sized) == 4
    assert all("# from benchmarks/room.py: " in line for line in sized), sized


def test_there_is_no_persistent_storage(config):
    assert config["singleuser"]["storage"]["type"] == "none"


def test_idle_servers_are_culled_after_about_an_hour_and_every_server_after_the_day(config):
    cull = config["cull"]
    assert cull["enabled"] is True
    assert 1800 <= cull["timeout"] <= 2 * 3600
    assert cull["maxAge"] >= 8 * 3600


def test_the_image_is_pulled_onto_every_node_before_the_room_arrives(config):
    assert config["prePuller"]["hook"]["enabled"] is True
    assert config["prePuller"]["continuous"]["enabled"] is True


def test_placeholders_hold_room_and_real_attendees_evict_them(config):
    scheduling = config["scheduling"]
    assert scheduling["userPlaceholder"]["enabled"] is True
    assert 3 <= scheduling["userPlaceholder"]["replicas"] <= 40  # ~10-20 % of 30-200
    # the chart warns about placeholders without pod priority: they would not make room
    assert scheduling["podPriority"]["enabled"] is True
    assert scheduling["userScheduler"]["enabled"] is True


def test_the_room_logs_in_with_one_shared_password(config):
    hub = config["hub"]["config"]
    assert hub["JupyterHub"]["authenticator_class"] == "shared-password"
    shared = hub["SharedPasswordAuthenticator"]
    # The passwords live in a values file kept out of git, never in this one
    assert "user_password" not in shared and "admin_password" not in shared
    assert "~/room-secrets.yaml" in CONFIG.read_text()
    assert shared["admin_users"]
    # JupyterHub 5 lets nobody in unless told whom to allow
    assert shared.get("allow_all") is True


def test_attendees_use_the_real_clock(config, merged):
    def names(node):
        if isinstance(node, Mapping):
            for key, value in node.items():
                yield str(key)
                yield from names(value)
        elif isinstance(node, list):
            for item in node:
                yield from names(item)
        else:
            yield str(node)

    extra_env = merged["singleuser"].get("extraEnv") or {}
    assert "VOICE_WORKSHOP_CLOCK" not in set(names(extra_env))
    assert not any("VOICE_WORKSHOP_CLOCK" in name for name in names(config))


def test_the_config_says_a_hub_room_is_sandbox_mode_unless_egress_is_open():
    text = CONFIG.read_text()
    for host in ("api.nexmo.com", "api-*.vonage.com", "ngrok", "notebook 11"):
        assert host in text


# The image the values name: what repo2docker makes of binder/


@pytest.fixture(scope="module")
def dockerfile() -> str:
    """The Dockerfile repo2docker writes for the repository (no Docker, no network)."""
    repo2docker = Path(sys.executable).with_name("jupyter-repo2docker")
    assert repo2docker.exists(), "jupyter-repo2docker is missing: run `make test` (it installs the test extras)"
    done = subprocess.run([str(repo2docker), "--no-build", "--user-id", "1000", "--user-name", "jovyan",
                           str(ROOT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_image_starts_in_the_repository_as_the_charts_user(dockerfile):
    """defaultUrl's notebooks/00_setup.ipynb is relative to the image's working directory."""
    assert "ARG REPO_DIR=${HOME}" in dockerfile and "WORKDIR ${REPO_DIR}" in dockerfile
    assert "COPY --chown=1000:1000 src/ ${REPO_DIR}/" in dockerfile
    assert "./binder/postBuild" in dockerfile


def test_the_images_jupyterhub_is_version_5_like_the_charts(dockerfile):
    """The chart runs JupyterHub 5; the image's jupyterhub-singleuser comes from the conda
    lock file repo2docker copies in (a path written with -XX escapes)."""
    (escaped,) = re.findall(r"build_script_files/(\S+) /tmp/env/environment\.lock", dockerfile)
    lock = Path(re.sub(r"-([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), escaped.rsplit("-", 1)[0]))
    (runtime,) = (ROOT / "binder" / "runtime.txt").read_text().split()
    assert lock.name.startswith(f"environment.py-{runtime.removeprefix('python-')}-") and lock.is_file()
    assert re.search(r"/jupyterhub-singleuser-5\.\d+\.\d+-", lock.read_text())


# The recipes


def test_the_tljh_recipe_installs_what_binder_installs():
    recipe = (DEPLOY / "tljh.md").read_text()
    assert ("--user-requirements-txt-url "
            "https://raw.githubusercontent.com/<owner>/<repository>/HEAD/binder/requirements.txt") in recipe
    apt = [line.strip() for line in (ROOT / "binder" / "apt.txt").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert f"apt-get install -y {' '.join(apt)}" in recipe
    assert "pip install --no-deps -e " in recipe  # the kit, editable, as postBuild installs it
    for setting in ("user_environment.default_app jupyterlab", "limits.memory", "limits.cpu",
                    "auth.type shared-password", "auth.SharedPasswordAuthenticator.user_password",
                    "auth.SharedPasswordAuthenticator.admin_password",
                    "auth.SharedPasswordAuthenticator.allow_all true", "+ 128 MB", "100 %"):
        assert setting in recipe, setting


def test_the_nbgitpuller_links_open_notebook_00_from_the_repository_folder():
    readme = (DEPLOY / "README.md").read_text()
    assert ("https://<hub>/hub/user-redirect/git-pull?repo=<repo URL>"
            "&urlpath=lab/tree/<repository>/notebooks/00_setup.ipynb&branch=main") in readme
    tljh = (DEPLOY / "tljh.md").read_text()
    assert ("git-pull?repo=https%3A%2F%2Fgithub.com%2F<owner>%2F<repository>"
            "&urlpath=lab%2Ftree%2F<repository>%2Fnotebooks%2F00_setup.ipynb&branch=main") in tljh


def test_the_sizing_table_has_the_rooms_measured_figures_and_the_config_follows_them(config):
    readme = (DEPLOY / "README.md").read_text()
    sizing = readme.split("## Sizing", 1)[1].split("\n## ", 1)[0]
    assert "figures: benchmarks/room.py" in sizing
    rows = re.findall(r"^\| (\d+) \| (\d+) MB \| [\d.]+ CPU s \| ([\d.]+) s", sizing, flags=re.M)
    assert [int(k) for k, _, _ in rows] == [1, 5, 10, 20, 30]
    largest_kernel = max(int(mb) for _, mb, _ in rows)
    # Kubernetes places a server by its guarantee: it must cover at least one kernel.
    memory = config["singleuser"]["memory"]["guarantee"]
    assert int(memory.rstrip("M")) >= largest_kernel
    # The CPU guarantee is the attendees per core at which the p95 stays under 5 s.
    under_5 = max(int(k) for k, _, p95 in rows if float(p95) < 5.0)
    assert config["singleuser"]["cpu"]["guarantee"] == pytest.approx(2 / under_5)  # measured on 2 cores


def test_the_recipes_cite_only_public_pages():
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "shared/" not in text and "/work/" not in text, path
            for url in re.findall(r"https?://[^\s)>\"'`]+", text):
                host = url.split("/")[2]
                assert not host.startswith(("localhost", "127.")), url
