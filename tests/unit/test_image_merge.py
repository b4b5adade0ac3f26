"""Layer squashing (analysis.merge): whiteouts, opaque dirs, re-written files, attribution, OS detection."""

from __future__ import annotations

import io

from vigil.analysis.merge import detect_os, merge
from vigil.findings.analysis import BlobInfo, OSRelease, SecretsInFile
from vigil.findings.records import SecretFinding
from vigil.inventory.records import Application, OSInfo, Package
from vigil.sources.image import LayerBlob


def _layer(i: int) -> LayerBlob:
    return LayerBlob(digest=f"sha256:{i:064x}", diff_id=f"sha256:{i + 100:064x}", media_type="tar", size=10 * i,
                     created_by=f"RUN step {i}", open=lambda: io.BytesIO(b""))


def _app(path: str, *pkgs: tuple[str, str]) -> Application:
    return Application(type="python-pkg", file_path=path,
                       packages=tuple(Package(ecosystem="pypi", name=n, version=v) for n, v in pkgs))


def _dpkg(path: str, *pkgs: tuple[str, str]) -> Application:
    return Application(type="dpkg", file_path=path, packages=tuple(
        Package(ecosystem="dpkg", name=n, version=v, arch="amd64", src_name=n, src_version=v) for n, v in pkgs))


def _blob(i: int, **kw: object) -> BlobInfo:
    return BlobInfo(diff_id=f"sha256:{i + 100:064x}", **kw)  # type: ignore[arg-type]


DEB = (OSRelease(file_path="etc/os-release", os=OSInfo(family="debian", name="12")),
       OSRelease(file_path="etc/debian_version", os=OSInfo(family="debian", name="12.15")))


def test_whiteout_removes_lower_file_and_subtree() -> None:
    layers = [_layer(0), _layer(1)]
    blobs = [
        _blob(0, applications=(_app("usr/lib/python3/site/pyyaml-5.3.dist-info/METADATA", ("pyyaml", "5.3")),
                               _app("usr/lib/python3/site/django-3.2.dist-info/METADATA", ("django", "3.2")))),
        _blob(1, whiteouts=("usr/lib/python3/site/pyyaml-5.3.dist-info",)),
    ]
    m = merge(layers, blobs)
    assert [a.packages[0].name for a in m.applications] == ["django"]


def test_whiteout_of_a_file_does_not_touch_siblings_with_common_prefix() -> None:
    blobs = [_blob(0, applications=(_app("app/req.txt", ("a", "1")), _app("app/req.txt.bak", ("b", "1")))),
             _blob(1, whiteouts=("app/req.txt",))]
    m = merge([_layer(0), _layer(1)], blobs)
    assert [a.file_path for a in m.applications] == ["app/req.txt.bak"]


def test_opaque_dir_hides_lower_layers_but_not_its_own_layer() -> None:
    blobs = [
        _blob(0, applications=(_app("opt/legacy/lib/old.jar", ("log4j", "2.19.0")),)),
        _blob(1, opaque_dirs=("opt/legacy/lib",), applications=(_app("opt/legacy/lib/new.jar", ("x", "1")),)),
    ]
    m = merge([_layer(0), _layer(1)], blobs)
    assert [a.file_path for a in m.applications] == ["opt/legacy/lib/new.jar"]


def test_whiteout_removes_nested_archive_entries() -> None:
    blobs = [_blob(0, applications=(_app("opt/app.jar!/BOOT-INF/lib/snakeyaml.jar", ("snakeyaml", "1.33")),)),
             _blob(1, whiteouts=("opt/app.jar",))]
    assert merge([_layer(0), _layer(1)], blobs).applications == []


def test_rewritten_package_db_wins_and_packages_keep_the_layer_that_introduced_them() -> None:
    layers = [_layer(0), _layer(1), _layer(2)]
    blobs = [
        _blob(0, os_releases=DEB, package_dbs=(_dpkg("var/lib/dpkg/status", ("bash", "5.2"), ("gzip", "1.12")),)),
        _blob(1, package_dbs=(_dpkg("var/lib/dpkg/status", ("bash", "5.2"), ("gzip", "1.12"), ("python3", "3.11")),)),
        # layer 2 upgrades gzip and removes python3
        _blob(2, package_dbs=(_dpkg("var/lib/dpkg/status", ("bash", "5.2"), ("gzip", "1.13")),)),
    ]
    m = merge(layers, blobs)
    got = {(p.name, p.version): p.layer.created_by if p.layer else None for p in m.os_packages}
    assert got == {("bash", "5.2"): "RUN step 0", ("gzip", "1.13"): "RUN step 2"}
    assert all(p.ecosystem == "debian" for p in m.os_packages)
    assert m.os == OSInfo(family="debian", name="12.15")


def test_dpkg_file_lists_join_packages_by_name() -> None:
    lists = Application(type="dpkg-files", file_path="var/lib/dpkg/info/python3-yaml.list", packages=(
        Package(ecosystem="dpkg", name="python3-yaml", version="",
                installed_files=("usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA",)),))
    blobs = [_blob(0, os_releases=DEB, package_dbs=(_dpkg("var/lib/dpkg/status", ("python3-yaml", "6.0-3")), lists))]
    m = merge([_layer(0)], blobs)
    assert [(p.name, p.installed_files) for p in m.os_packages] == [
        ("python3-yaml", ("usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA",))]


def test_debian_copyright_licenses_join_packages_by_name_and_go_with_a_whiteout() -> None:
    def copyright_of(name: str, *licenses: str) -> Application:
        return Application(type="dpkg-license", file_path=f"usr/share/doc/{name}/copyright", packages=(
            Package(ecosystem="dpkg", name=name, version="", licenses=licenses,
                    file_path=f"usr/share/doc/{name}/copyright"),))

    status = _dpkg("var/lib/dpkg/status", ("zlib1g", "1:1.2.13"), ("tzdata", "2024a"), ("bare", "1"))
    blobs = [_blob(0, os_releases=DEB, package_dbs=(status, copyright_of("zlib1g", "Zlib"),
                                                    copyright_of("tzdata", "public-domain")))]
    m = merge([_layer(0)], blobs)
    assert {p.name: p.licenses for p in m.os_packages} == {"bare": (), "tzdata": ("public-domain",),
                                                           "zlib1g": ("Zlib",)}
    assert len(m.os_packages) == 3  # a copyright file is never a package of its own
    m = merge([_layer(0), _layer(1)], [*blobs, _blob(1, whiteouts=("usr/share/doc/tzdata",))])
    assert {p.name: p.licenses for p in m.os_packages}["tzdata"] == ()


def test_secrets_keep_their_layer_even_when_deleted_later() -> None:
    f = SecretFinding(rule_id="aws-access-key-id", category="AWS", severity="CRITICAL", title="AWS",
                      start_line=1, end_line=1)
    blobs = [_blob(0, secrets=(SecretsInFile(file_path="app/.env", secrets=(f,)),)),
             _blob(1, whiteouts=("app/.env",))]
    m = merge([_layer(0), _layer(1)], blobs)
    # the bytes are still in layer 0 of the image: anyone who pulls it can read them (Trivy reports them too)
    assert [(s.file_path, s.secrets[0].layer.digest if s.secrets[0].layer else "") for s in m.secrets] == [
        ("app/.env", _layer(0).digest)]


def test_detect_os_prefers_the_family_release_file() -> None:
    assert detect_os({p.file_path: p.os for p in DEB}) == OSInfo(family="debian", name="12.15")
    # Ubuntu ships etc/debian_version ("bookworm/sid"): os-release's family wins and its version is kept
    ubuntu = {"etc/os-release": OSInfo(family="ubuntu", name="24.04"),
              "etc/debian_version": OSInfo(family="debian", name="bookworm/sid")}
    assert detect_os(ubuntu) == OSInfo(family="ubuntu", name="24.04")
    assert detect_os({"etc/alpine-release": OSInfo(family="alpine", name="3.16.2")}) == OSInfo(
        family="alpine", name="3.16.2")
    assert detect_os({}) is None


def test_release_file_deleted_in_upper_layer_is_not_used() -> None:
    blobs = [_blob(0, os_releases=DEB), _blob(1, whiteouts=("etc/debian_version",))]
    assert merge([_layer(0), _layer(1)], blobs).os == OSInfo(family="debian", name="12")


def test_a_directory_keeps_its_applications_as_analysed() -> None:
    # no layers to attribute packages to: the merged applications are the analysed records, not copies of them
    apps = (_app("a/package-lock.json", ("x", "1"), ("y", "2")), _app("b/package-lock.json", ("z", "3")))
    m = merge([], [BlobInfo(diff_id="", applications=apps)])
    assert [a.file_path for a in m.applications] == ["a/package-lock.json", "b/package-lock.json"]
    assert all(got is want for got, want in zip(m.applications, apps, strict=True))
    assert all(p.layer is None for a in m.applications for p in a.packages)
