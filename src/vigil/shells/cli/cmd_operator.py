"""`vigil operator`: continuous in-cluster scanning (a kopf operator; see vigil.operator and
vigil.shells.operator)."""

from __future__ import annotations

from pathlib import Path

import click

from vigil.shells.cli.common import fail


class _Priority(click.ParamType[int]):
    """An integer, or `random`: kopf pauses every replica when two alive peers have the same priority, so the pods
    of one Deployment (which share their arguments) each draw their own; two collide with probability 1 in 2**31."""

    name = "integer|random"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text == "random":
            import secrets

            return secrets.randbelow(2**31 - 1) + 1
        try:
            return int(text)
        except ValueError:
            self.fail(f"{value!r} is neither an integer nor 'random'", param, ctx)


@click.command("operator")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="operator settings (YAML; Trivy Operator-style names: installMode, excludeNamespaces, "
                   "scanJobNodeSelector, scanJobsConcurrentLimit, …)")
@click.option("--namespace", default=None, help="the operator's own namespace (scan Jobs run there)")
@click.option("--server", "server", default=None, help="the vigil server: DB, layer cache and report store")
@click.option("--exclude-namespaces", default=None, help="comma-separated globs of namespaces never scanned")
@click.option("--api-server", default="", help="Kubernetes API server URL, without credentials (kubectl proxy)")
@click.option("--kubeconfig", multiple=True, help="kubeconfig file (default: in-cluster, $KUBECONFIG, ~/.kube)")
@click.option("--context", default="", help="kubeconfig context")
@click.option("--peering", default="", help="kopf peering name: replicas with the same name elect one leader "
                                            "(needs kopf's ClusterKopfPeering CRD in AllNamespaces mode, KopfPeering "
                                            "in the namespaced modes); default: standalone")
@click.option("--priority", default=0, type=_Priority(),
              help="peering priority: the highest alive replica acts; replicas with equal priorities all pause, so "
                   "give each its own, or `random` to draw one")
@click.option("--metrics-listen", default="", help="serve Prometheus /metrics on HOST:PORT")
@click.option("--interval", default=30.0, type=float, help="seconds between reconcile passes without events")
@click.option("--server-token", envvar="VIGIL_TOKEN", default="", help="token for the vigil server (VIGIL_TOKEN)")
def operator_cmd(config_file: Path | None, namespace: str | None, server: str | None, exclude_namespaces: str | None,
                 api_server: str, kubeconfig: tuple[str, ...], context: str, peering: str, priority: int,
                 metrics_listen: str, interval: float, server_token: str) -> None:
    """Watch the cluster and scan every running image digest once; write reports as custom resources."""
    from vigil.errors import UserError
    from vigil.operator.config import load_config

    try:
        text = config_file.read_bytes() if config_file is not None else None
    except OSError as e:
        fail(f"cannot read {config_file}: {e.strerror}")
    overrides = {"namespace": namespace, "server": server,
                 "excludeNamespaces": [g for g in (exclude_namespaces or "").split(",") if g] or None}
    try:
        cfg = load_config(text, overrides)
    except UserError as e:
        fail(str(e))
    from vigil.shells.operator.app import RunOptions, run

    run(cfg, RunOptions(api_server=api_server, kubeconfig=kubeconfig, context=context, peering=peering,
                        priority=priority, metrics_listen=metrics_listen, interval=interval,
                        server_token=server_token))
