"""scan_chart (real Helm engine) and load_chart_archive (safe in-memory unpacking)."""

from __future__ import annotations

import io
import tarfile

import pytest

from vigil.analyzers.errors import ParseError
from vigil.analyzers.misconf.helm import MAX_FILES, load_chart_archive, scan_chart

CHART = {
    "Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "values.yaml": b"replicas: 1\nimage: nginx:1.25\nprivileged: false\n",
    "templates/_helpers.tpl": b'{{- define "demo.name" -}}{{ .Chart.Name }}{{- end -}}\n',
    "templates/NOTES.txt": b"Installed {{ .Release.Name }}\n",
    "templates/deployment.yaml": b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "demo.name" . }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
      - name: app
        image: {{ .Values.image }}
        securityContext:
          privileged: {{ .Values.privileged }}
""",
    "templates/cm.yaml": b"""apiVersion: v1
kind: ConfigMap
metadata:
  name: kube
data:
  version: "{{ .Capabilities.KubeVersion.Version }}"
""",
    "templates/off.yaml": b"{{- if .Values.enabled }}\napiVersion: v1\nkind: Secret\n{{- end }}\n",
}


def _tgz(files: dict[str, bytes], prefix: str = "demo/") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _by_template(results: list[tuple[str, list]]) -> dict[str, list]:  # type: ignore[type-arg]
    """template -> its resources (scan_chart pairs each with its document's lines)."""
    return {tpl: [r for r, _ in docs] for tpl, docs in results}


def test_renders_and_maps_to_template_files() -> None:
    out = _by_template(scan_chart(CHART))
    assert sorted(out) == ["templates/cm.yaml", "templates/deployment.yaml"]
    (dep,) = out["templates/deployment.yaml"]
    assert (dep.kind, dep.name, dep.path) == ("Deployment", "demo", "templates/deployment.yaml")
    assert dep.obj["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] is False


def test_values_files_then_set_values_override() -> None:
    out = _by_template(
        scan_chart(CHART, values_files=[b"privileged: true\nreplicas: 2\n"], set_values=["replicas=5,enabled=true"])
    )
    (dep,) = out["templates/deployment.yaml"]
    assert dep.obj["spec"]["replicas"] == 5
    assert dep.obj["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] is True
    assert "templates/off.yaml" in out


def test_kube_version() -> None:
    (cm,) = _by_template(scan_chart(CHART, kube_version="1.21.3"))["templates/cm.yaml"]
    assert cm.obj["data"]["version"] == "v1.21.3"


def test_packaged_chart_round_trip() -> None:
    files = load_chart_archive(_tgz(CHART))
    assert "demo/Chart.yaml" in files
    assert sorted(_by_template(scan_chart(files))) == ["templates/cm.yaml", "templates/deployment.yaml"]


def test_template_error_is_a_parse_error() -> None:
    broken = dict(CHART)
    broken["templates/bad.yaml"] = b"{{ .Values.nope.deeper }}\n"
    with pytest.raises(ParseError, match="helm"):
        scan_chart(broken)


@pytest.mark.parametrize(
    "files",
    [{}, {"values.yaml": b"a: 1"}, {"Chart.yaml": b": : :"}, {"Chart.yaml": b"name: ../../x\nversion: 1"}],
)
def test_not_a_chart(files: dict[str, bytes]) -> None:
    with pytest.raises(ParseError):
        scan_chart(files)


def test_bad_values_and_set() -> None:
    with pytest.raises(ParseError):
        scan_chart(CHART, values_files=[b"- a list\n"])
    with pytest.raises(ParseError):
        scan_chart(CHART, values_files=[b"a: [\n"])


def test_archive_drops_traversal_links_and_devices() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name in ("../evil.yaml", "/abs.yaml", "ok/../../up.yaml", "c/Chart.yaml"):
            info = tarfile.TarInfo(name)
            info.size = 1
            tf.addfile(info, io.BytesIO(b"x"))
        link = tarfile.TarInfo("c/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    assert load_chart_archive(buf.getvalue()) == {"c/Chart.yaml": b"x"}


@pytest.mark.parametrize("data", [b"", b"not a tarball", b"\x1f\x8b\x08\x00garbage", _tgz(CHART)[:40]])
def test_invalid_archives(data: bytes) -> None:
    with pytest.raises(ParseError):
        load_chart_archive(data)


def test_archive_bomb_refused_by_declared_sizes() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        zeros = b"\0" * (1024 * 1024)
        for i in range(210):
            info = tarfile.TarInfo(f"c/f{i}")
            info.size = len(zeros)
            tf.addfile(info, io.BytesIO(zeros))
    assert len(buf.getvalue()) < 2 * 1024 * 1024
    with pytest.raises(ParseError, match="200 MB"):
        load_chart_archive(buf.getvalue())


def test_archive_file_count_cap() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for i in range(MAX_FILES + 1):
            tf.addfile(tarfile.TarInfo(f"c/{i}"), io.BytesIO(b""))
    with pytest.raises(ParseError, match="entries"):
        load_chart_archive(buf.getvalue())
