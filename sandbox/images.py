"""Artifacts the internet gives real users, made locally: the Mesos apt repo and two images.

Each is rebuilt only when its inputs changed (a hash of the build context is kept in the state)
or when the registry no longer has it. Missing contexts (other parts of the project not written
yet) are reported and skipped, so hosts can still be tested.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from sandbox import config
from sandbox.docker_repack import second_docker_build
from sandbox.golden import golden_key
from sandbox.proc import CommandFailed, ok, run, say
from sandbox.services import docker_env
from sandbox.sources import MARATHON_UPGRADE_RELEASE, STANDIN_MARATHON_UPGRADE_IMAGE
from sandbox.state import StateFile

REPO_ROOT = Path(__file__).resolve().parent.parent
MESOS_STANDIN = REPO_ROOT / "tests/standins/mesos"
MARATHON_CONTEXT = REPO_ROOT / "tests/standins/marathon"
HELLO_CONTEXT = REPO_ROOT / "apps/hello-sinatra"
HELLO_DOCKERFILE = "Dockerfile.debian"
# What each artifact is built from, for the "not built" notes.
SOURCES = {
    "mesos apt repo": "tests/standins/mesos/build_repo.py",
    "marathon image": "tests/standins/marathon/Dockerfile",
    "marathon upgrade image": "tests/standins/marathon/Dockerfile (MARATHON_VERSION)",
    "hello-sinatra image": f"apps/hello-sinatra/{HELLO_DOCKERFILE}",
}
UNUSED = "not used (upstream sources)"
SKIP_PARTS = {"__pycache__", ".pytest_cache"}


def tree_hash(path: Path, extra: str = "") -> str:
    """sha256 over every file's relative path, mode and bytes (caches ignored), plus ``extra``."""
    h = hashlib.sha256(extra.encode())
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path)
        if SKIP_PARTS & set(rel.parts) or f.suffix == ".pyc":
            continue
        h.update(f"{rel}\0{f.stat().st_mode & 0o777:o}\0".encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def base_image() -> str:
    return f"pyinfra-mesos/sandbox-base:{golden_key()}"


def ensure_base(st: StateFile, golden: Path) -> bool:
    env = docker_env(st.data["sandbox"])
    tag = base_image()
    if ok(["docker", "image", "inspect", tag], env=env):
        return False
    say(f"   docker import of the golden root as {tag}")
    tar = subprocess.Popen(["tar", "-C", str(golden), "--numeric-owner", "-c", "."],
                           stdout=subprocess.PIPE)
    try:
        imp = subprocess.run(["docker", "import", "-", tag], stdin=tar.stdout, env=env,
                             capture_output=True, timeout=600, check=False)
    finally:
        if tar.stdout:
            tar.stdout.close()
        tar_rc = tar.wait(timeout=600)
    if imp.returncode != 0 or tar_rc != 0:
        raise CommandFailed(f"docker import failed: {imp.stderr.decode(errors='replace')}")
    return True


def in_registry(image: str) -> bool:
    repo_tag = image.split("/", 1)[1]
    name, tag = repo_tag.rsplit(":", 1)
    req = urllib.request.Request(
        f"http://{config.REGISTRY}/v2/{name}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def build_push(st: StateFile, key: str, image: str, context: Path, dockerfile: str,
               build_args: dict[str, str] | None = None) -> str:
    """Build ``image`` FROM the base (plus ``build_args``, --build-arg NAME=VALUE each) and push
    it; returns 'built', 'unchanged' or 'missing'."""
    if not (context / dockerfile).is_file():
        return "missing"
    env = docker_env(st.data["sandbox"])
    args = sorted((build_args or {}).items())
    digest = tree_hash(context, extra=f"{base_image()}|{dockerfile}|{image}|{args}")
    rec = st.artifacts.get(key, {})
    if rec.get("hash") == digest and in_registry(image):
        return "unchanged"
    extra = [part for name, value in args for part in ("--build-arg", f"{name}={value}")]
    run(["docker", "build", "--network=none", "--build-arg", f"BASE={base_image()}", *extra,
         "-f", str(context / dockerfile), "-t", image, str(context)],
        timeout=1200, env=env)
    run(["docker", "push", image], timeout=600, env=env)
    if not in_registry(image):
        raise CommandFailed(f"{image}: pushed, but the registry does not list it")
    st.artifacts[key] = {"hash": digest, "image": image, "context": str(context)}
    st.save()
    return "built"


def ensure_mesos_repo(st: StateFile) -> str:
    """Run the stand-in's repo builder into www/mesos, with the second docker.io in it
    (sandbox/docker_repack.py); 'built', 'unchanged' or 'missing'."""
    if not (MESOS_STANDIN / "build_repo.py").is_file():
        return "missing"
    state_dir = config.state_dir(st.data["sandbox"])
    out = state_dir / "www" / "mesos"
    docker_deb = second_docker_build(state_dir / "docker-repack")
    digest = tree_hash(MESOS_STANDIN, extra=docker_deb.name)
    if st.artifacts.get("mesos_repo", {}).get("hash") == digest and (out / "repo.json").is_file():
        return "unchanged"
    run([sys.executable, "-m", "tests.standins.mesos.build_repo", str(out), str(docker_deb)],
        timeout=600, cwd=str(REPO_ROOT))
    info = json.loads((out / "repo.json").read_text())
    if not (out / "key.asc").is_file():
        raise CommandFailed(f"{out}/key.asc missing after build_repo")
    st.data["mesos_repo"] = {"fingerprint": info.get("fingerprint", ""),
                             "url": config.MESOS_REPO_URL}
    st.artifacts["mesos_repo"] = {"hash": digest, "dir": str(out)}
    st.save()
    return "built"


def ensure_artifacts(st: StateFile, golden: Path, upstream: bool = False) -> dict[str, str]:
    """Build what is missing or changed; {artifact: built|unchanged|missing|not used}.

    ``upstream`` (sandbox/sources.py): the stand-in package and image are not built, the
    inventory points the hosts at the real ones; the demo app is built in both modes.
    """
    results: dict[str, str] = {}
    results["mesos apt repo"] = UNUSED if upstream else ensure_mesos_repo(st)
    results["base image"] = "built" if ensure_base(st, golden) else "unchanged"
    results["marathon image"] = UNUSED if upstream else build_push(
        st, "marathon_image", config.MARATHON_IMAGE, MARATHON_CONTEXT, "Dockerfile")
    # The second Marathon release, for the upgrade and downgrade (sandbox/sources.py).
    results["marathon upgrade image"] = UNUSED if upstream else build_push(
        st, "marathon_upgrade_image", STANDIN_MARATHON_UPGRADE_IMAGE, MARATHON_CONTEXT,
        "Dockerfile", {"MARATHON_VERSION": MARATHON_UPGRADE_RELEASE})
    results["hello-sinatra image"] = build_push(
        st, "hello_image", config.HELLO_IMAGE, HELLO_CONTEXT, HELLO_DOCKERFILE)
    return results
