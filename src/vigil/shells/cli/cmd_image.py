"""`vigil image`: scan a container image (OS packages, language packages, secrets; image config checks with
--scanners misconfig) from a docker/podman save archive, an OCI layout, the local daemon or a registry.

    vigil image registry.example.com/team/app:1.4 --severity HIGH,CRITICAL --exit-code 1
    vigil image --input app.tar
    vigil image --input ./oci-layout:tag
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vigil.shells.cli.common import ScanCommand, add_options, fail, resolve_or_exit, show_progress


def split_input(value: Path) -> tuple[Path, str]:
    """`--input DIR:TAG` / `--input layout.tar:TAG`: the tag after the last ':' when the whole string is not an
    existing path (so a file name with a colon still works)."""
    text = str(value)
    if value.exists() or ":" not in text:
        return value, ""
    path, _, tag = text.rpartition(":")
    if "/" in tag or not path:
        return value, ""
    return Path(path), tag


def _max_size(values: dict[str, Any]) -> int:
    text = str(values.get("max_image_size") or "").strip()
    if not text:
        return 0
    from vigil.settings import SettingsError, parse_size

    try:
        return parse_size(text)
    except SettingsError as e:
        fail(f"--max-image-size: {e}")


@click.command("image", cls=ScanCommand, context_settings={"show_default": False})
@click.argument("reference", required=False, default="")
@add_options("image")
def image_cmd(reference: str, **kwargs: Any) -> None:
    """Scan a container image: REFERENCE (registry or daemon), or --input ARCHIVE."""
    from vigil.shells.cli.output import db_ready, list_all_pkgs, scan_and_emit

    values = list_all_pkgs(resolve_or_exit("image", kwargs))
    if not reference and values.get("input") is None and not values.get("download_db_only"):
        fail("give an image reference or --input ARCHIVE (see vigil image --help)")
    if reference and values.get("input") is not None:
        fail("give either an image reference or --input, not both")
    given_input: Path | None = values.get("input")
    if given_input is not None and not split_input(given_input)[0].exists():
        fail(f"{split_input(given_input)[0]}: no such file or directory")
    if not db_ready(values):
        return  # --download-db-only: done
    import msgspec

    from vigil.settings import scan_options
    from vigil.sources.image import RegistryOptions
    from vigil.sources.image.source import ImageSource, ImageSourceOptions

    inp: Path | None = values.get("input")
    input_ref = ""
    if inp is not None:
        inp, input_ref = split_input(inp)
    io = ImageSourceOptions(
        reference=reference,
        input=inp,
        input_ref=input_ref,
        image_src=tuple(values.get("image_src") or ("docker", "podman", "remote")),
        docker_host=str(values.get("docker_host") or ""),
        podman_host=str(values.get("podman_host") or ""),
        max_size=_max_size(values),
        registry=RegistryOptions(
            username=values.get("username") or "",
            password=values.get("password") or "",
            registry_token=values.get("registry_token") or "",
            insecure=bool(values.get("insecure")),
            platform=values.get("platform") or "",
            ca_file=str(values["cacert"]) if values.get("cacert") else "",
            progress=show_progress(values),
        ),
    )
    target = inp if inp is not None else Path(reference)
    opts = msgspec.structs.replace(scan_options(target, values), analyzer_kinds=("lockfile", "installed", "os"),
                               artifact_name=io.artifact)
    scan_and_emit(values, opts, lambda: ImageSource(io, opts.artifact_name, opts.skip_dirs, opts.skip_files),
                  cache=True)
