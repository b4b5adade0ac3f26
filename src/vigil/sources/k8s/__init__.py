"""The cluster layer: read a live Kubernetes cluster as it really is (the only code that talks to an API server).

    config = load_config(KubeconfigOptions(kubeconfig=("~/.kube/config",), context="prod"))
    async with ClusterClient(config) as client:
        inv = await collect_inventory(client, InventoryOptions(include_namespaces=("team-*",)))
    for digest, uses in inv.images_by_digest().items(): …   # one scan per digest, fanned out to each use

- `kubeconfig.py`: kubeconfig files (several in KUBECONFIG, merged as kubectl merges them), --context, --server,
  the in-cluster service account; client certificates, bearer tokens, token files and exec credential plugins
  (lightkube does the authentication).
- `client.py`: an async client over lightkube: paged LIST (limit/continue), retries with backoff on 429/5xx and
  connection resets, and one-line errors naming the verb and resource on 401/403.
- `model.py`: the typed records of an inventory (msgspec, frozen): workloads with the images that actually run,
  nodes, control-plane components, RBAC objects, gaps (what could not be read, and why).
- `inventory.py`: walks the cluster into an `Inventory`; `images.py`: imageID parsing and pull credentials.

Secrets are never read unless the caller asks for pull secrets, and then only those the workloads name.
"""

from __future__ import annotations

from vigil.errors import UserError


class ClusterError(UserError):
    """The cluster cannot be read at all (bad kubeconfig, unreachable API server, refused credentials)."""


class AccessDenied(ClusterError):
    """The API server answered 401/403 for one request. `verb` and `resource` name what was refused."""

    def __init__(self, message: str, *, status: int, verb: str, resource: str, namespace: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
