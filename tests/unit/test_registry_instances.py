"""The registry's two instances for real: Debian's docker-registry (distribution 2.8.2) started on
this machine from the configs tasks/registry.py renders, over one temporary storage directory,
each on 127.0.0.1 and a free port.

A tiny image (a gzipped tar layer, its config, a schema 2 manifest) is pushed through the
writable instance with the registry HTTP API (what `docker push` sends: POST an upload, PUT it
with its digest, PUT the manifest), then pulled through the read-only one (what a daemon using it
as a mirror sends: GET the manifest by tag, GET each blob), which must refuse every write itself.

docker-registry is a test dependency (Debian package `docker-registry`): without it these tests
FAIL, they are never skipped.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyinfra.api.util import get_template

from pyinfra_mesos.templates import template_path

# The cluster check's own command and parser, run here against the real instances.
cluster_registry = importlib.import_module("tests.cluster.test_registry")

BINARY = "docker-registry"
REPO = "pyinfra-mesos/tiny"
TAG = "1.0"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
START_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 10.0
# What distribution answers a write on a read-only instance: gorilla's MethodHandler finds no
# handler for the method (distribution v2.8.2 registry/handlers/blobupload.go, manifests.go).
REFUSED_STATUS = 405
REFUSED_ALLOW = "GET, HEAD"


@dataclass(frozen=True)
class Instance:
    """One running docker-registry: its base URL (`http://127.0.0.1:<port>`) and its log file."""

    url: str
    log: Path


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def request(method: str, url: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> Answer:
    """One HTTP request; HTTP errors are answers too (the status is what is checked)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as resp:
            return Answer(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, dict(exc.headers.items()), exc.read())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_config(read_only: bool, port: int, data_dir: Path) -> str:
    """The config the deploy writes (same template and arguments as tasks/registry.py), bound
    to 127.0.0.1 here: the read-only instance's cluster address on a real host."""
    return get_template(template_path("registry-config.yml.j2")).render(
        read_only=read_only, address="127.0.0.1", port=port, data_dir=str(data_dir))


def wait_ready(instance: Instance, process: subprocess.Popen[bytes]) -> None:
    """Until GET /v2/ answers 200, bounded by START_TIMEOUT_S; the log on failure."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if request("GET", f"{instance.url}/v2/").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{BINARY} at {instance.url} did not answer GET /v2/ within "
                f"{START_TIMEOUT_S}s (exit {process.poll()}):\n{instance.log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Instance]]:
    """`{"read_only": Instance, "writable": Instance}` over one storage directory."""
    binary = shutil.which(BINARY)
    if binary is None:
        pytest.fail(f"{BINARY} is not installed: `apt-get install docker-registry` (Debian 12 "
                    "ships distribution 2.8.2); these tests run the real registry")
    base = tmp_path_factory.mktemp("registry")
    storage = base / "storage"
    storage.mkdir()
    processes: list[subprocess.Popen[bytes]] = []
    instances: dict[str, Instance] = {}
    try:
        for name, read_only in (("read_only", True), ("writable", False)):
            port = free_port()
            config = base / f"{name}.yml"
            config.write_text(render_config(read_only, port, storage))
            log = base / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen([binary, "serve", str(config)], stdout=out,
                                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            processes.append(process)
            instances[name] = Instance(f"http://127.0.0.1:{port}", log)
            wait_ready(instances[name], process)
        yield instances
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


# -- a tiny image --------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Image:
    layer: bytes
    config: bytes
    manifest: bytes


def tiny_image() -> Image:
    """One layer holding /hello.txt; the config's diff_id is the uncompressed tar's digest."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        content = b"hello from the registry test\n"
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(tar_bytes.getvalue(), mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["/hello.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(tar_bytes.getvalue())]},
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": len(config), "digest": sha256(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer), "digest": sha256(layer)}],
    }, indent=3).encode()
    return Image(layer, config, manifest)


def push_blob(base: str, blob: bytes) -> Answer:
    """POST an upload, then PUT the whole blob with its digest (`docker push`'s monolithic
    upload). The answer of the PUT (201 on success), or of the POST when that is refused."""
    start = request("POST", f"{base}/v2/{REPO}/blobs/uploads/")
    if start.status != 202:
        return start
    location = start.headers["Location"]
    separator = "&" if "?" in location else "?"
    return request("PUT", f"{location}{separator}digest={sha256(blob)}", blob,
                   {"Content-Type": "application/octet-stream"})


def storage_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under `root` -> (size, mtime in ns): any write shows up here."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            state[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return state


# -- the tests -----------------------------------------------------------------------------------


def test_push_through_the_writable_instance_is_pulled_through_the_read_only_one(
        registries: dict[str, Instance]) -> None:
    read_only, writable = registries["read_only"].url, registries["writable"].url
    image = tiny_image()
    layer_url = f"/v2/{REPO}/blobs/{sha256(image.layer)}"

    # A daemon asks the mirror first: a miss now must not hide the blob once it is pushed.
    assert request("GET", read_only + layer_url).status == 404

    for blob in (image.layer, image.config):
        pushed = push_blob(writable, blob)
        assert pushed.status == 201, pushed
        assert pushed.headers["Docker-Content-Digest"] == sha256(blob)
    put = request("PUT", f"{writable}/v2/{REPO}/manifests/{TAG}", image.manifest,
                  {"Content-Type": MANIFEST_TYPE})
    assert put.status == 201, put
    assert put.headers["Docker-Content-Digest"] == sha256(image.manifest)

    pulled = request("GET", f"{read_only}/v2/{REPO}/manifests/{TAG}",
                     headers={"Accept": MANIFEST_TYPE})
    assert pulled.status == 200, pulled
    assert pulled.body == image.manifest
    assert pulled.headers["Docker-Content-Digest"] == sha256(image.manifest)
    assert pulled.headers["Content-Type"] == MANIFEST_TYPE
    for blob in (image.layer, image.config):
        got = request("GET", f"{read_only}/v2/{REPO}/blobs/{sha256(blob)}")
        assert (got.status, got.body) == (200, blob)


def test_read_only_instance_refuses_every_write_and_writes_nothing(
        registries: dict[str, Instance], tmp_path_factory: pytest.TempPathFactory) -> None:
    read_only, writable = registries["read_only"].url, registries["writable"].url
    image = tiny_image()
    # The image is there (pushed here too: the tests do not depend on their order).
    for blob in (image.layer, image.config):
        assert push_blob(writable, blob).status == 201
    assert request("PUT", f"{writable}/v2/{REPO}/manifests/{TAG}", image.manifest,
                   {"Content-Type": MANIFEST_TYPE}).status == 201
    storage = registries["read_only"].log.parent / "storage"
    before = storage_state(storage)

    digest = sha256(image.manifest)
    writes = [
        ("POST", f"/v2/{REPO}/blobs/uploads/", None),  # what `docker push` sends first
        ("POST", f"/v2/other/blobs/uploads/?digest={sha256(b'x')}", b"x"),  # monolithic
        ("POST", f"/v2/other/blobs/uploads/?mount={sha256(image.layer)}&from={REPO}", None),
        ("PUT", f"/v2/{REPO}/manifests/{TAG}", image.manifest),
        ("PUT", f"/v2/{REPO}/manifests/evil", image.manifest),
        ("DELETE", f"/v2/{REPO}/manifests/{digest}", None),
        ("DELETE", f"/v2/{REPO}/blobs/{sha256(image.layer)}", None),
    ]
    for method, path, body in writes:
        answer = request(method, read_only + path, body, {"Content-Type": MANIFEST_TYPE})
        assert answer.status == REFUSED_STATUS, (method, path, answer)
        assert answer.headers.get("Allow") == REFUSED_ALLOW, (method, path, answer.headers)

    # Reads still work, and nothing in the storage changed (no upload, no link, no tag).
    assert request("GET", f"{read_only}/v2/{REPO}/manifests/{TAG}",
                   headers={"Accept": MANIFEST_TYPE}).status == 200
    assert request("GET", f"{read_only}/v2/other/tags/list").status == 404
    assert storage_state(storage) == before


def test_only_the_writable_instance_purges_uploads(registries: dict[str, Instance]) -> None:
    # The upload purger deletes abandoned uploads; it runs even in read-only mode unless turned
    # off (distribution v2.8.2 registry/handlers/app.go starts it before reading `readonly`).
    assert "Starting upload purge" in registries["writable"].log.read_text()
    assert "Starting upload purge" not in registries["read_only"].log.read_text()


def test_writable_instance_refuses_deletes_too(registries: dict[str, Instance]) -> None:
    # storage.delete.enabled is false in both: nothing an image needs can be removed over HTTP,
    # even with an SSH tunnel (distribution answers 405 UNSUPPORTED).
    image = tiny_image()
    answer = request("DELETE", f"{registries['writable'].url}/v2/{REPO}/manifests/"
                               f"{sha256(image.manifest)}")
    assert answer.status == 405, answer
    assert json.loads(answer.body)["errors"][0]["code"] == "UNSUPPORTED"


def test_the_cluster_checks_anonymous_push_probe_sees_the_refusal(
        registries: dict[str, Instance]) -> None:
    # tests/cluster/test_registry.py::test_anonymous_push_from_a_member_is_refused runs this
    # curl on every member; here against both instances: refused by the read-only one, and
    # accepted (202, an upload started) by the writable one, so the check can tell them apart.
    answers = {}
    for name, instance in registries.items():
        url = cluster_registry.anonymous_upload_url(instance.url.removeprefix("http://"))
        done = subprocess.run(["bash", "-c", cluster_registry.anonymous_upload_command(url)],
                              capture_output=True, text=True, timeout=30, check=True)
        status, headers = cluster_registry.parse_response_head(done.stdout)
        answers[name] = (status, headers.get("allow"))
    assert answers["read_only"] == (cluster_registry.REFUSED_STATUS,
                                    cluster_registry.REFUSED_ALLOW)
    assert answers["read_only"] == (REFUSED_STATUS, REFUSED_ALLOW)
    assert answers["writable"][0] == 202
