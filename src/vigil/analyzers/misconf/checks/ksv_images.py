"""KSV image checks: tags, registries (incl. the deprecated allowlist checks), Tiller, Gatekeeper."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vigil.analyzers.misconf.checks._ksv_common import (
    Container,
    as_dict,
    as_list,
    cfail,
    cmsg,
    container_check,
    containers,
    fail,
    get,
    ksv,
)
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.kubernetes import K8sResource

IMG_DOC = "https://kubernetes.io/docs/concepts/containers/images/"
# Registries KSV-0125 trusts by default: Trivy's list (Azure, the regional ECR endpoints, GCR). A registry matches
# one of them exactly or as a subdomain (123.dkr.ecr.us-east-1.amazonaws.com); Trivy's plain suffix test would also
# trust a look-alike host such as "evilgcr.io".
_ECR_REGIONS = ("us-east-2", "us-east-1", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1",
                "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ca-central-1",
                "eu-central-1", "eu-west-1", "eu-west-2", "eu-south-1", "eu-west-3", "eu-north-1", "me-south-1",
                "sa-east-1", "us-gov-east-1", "us-gov-west-1")
TRUSTED_REGISTRIES = ("azurecr.io", *(f"ecr.{r}.amazonaws.com" for r in _ECR_REGIONS),
                      "ecr.cn-north-1.amazonaws.com.cn", "ecr.cn-northwest-1.amazonaws.com.cn",
                      "gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io")
PUBLIC_REGISTRIES = ("docker.io", "ghcr.io", "quay.io", "registry.hub.docker.com", "index.docker.io")


def split_image(image: str) -> tuple[str, str, str, str]:
    """(registry, repository, tag, digest) of an image reference; registry "" means Docker Hub."""
    digest = ""
    if "@" in image:
        image, digest = image.split("@", 1)
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "", image
    tag = ""
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
    return registry, path, tag, digest


def _image(c: Container) -> str:
    return str(c.c.get("image") or "")


def _latest(c: Container, res: K8sResource) -> bool:
    img = _image(c)
    if not img:
        return False
    _, _, tag, digest = split_image(img)
    return not digest and tag in ("", "latest")


def _registry(c: Container) -> str:
    reg, _, _, _ = split_image(_image(c))
    return reg.lower() or "docker.io"


def _not_in(suffixes: tuple[str, ...]) -> Callable[[Container, K8sResource], bool]:
    def pred(c: Container, res: K8sResource) -> bool:
        reg = _registry(c)
        return bool(_image(c)) and not any(reg == s or reg.endswith("." + s) for s in suffixes)

    return pred


def _public(c: Container, res: K8sResource) -> bool:
    return bool(_image(c)) and _registry(c) in PUBLIC_REGISTRIES


def _tiller(res: K8sResource) -> Iterator[Failure]:
    labels = as_dict(get(res.obj, "metadata", "labels"))
    if labels.get("app") == "helm" and labels.get("name") == "tiller":
        yield fail(res, f"{res.kind} '{res.name}' of {res.kind} '{res.name}' shouldn't have tiller deployed")
        return
    for c in containers(res):
        _, repo, _, _ = split_image(_image(c))
        args = " ".join(str(a) for a in as_list(c.c.get("command")) + as_list(c.c.get("args")))
        if "tiller" in repo.rsplit("/", 1)[-1] or "tiller" in args:
            yield cfail(res, c, cmsg(c, res, "shouldn't have tiller deployed"), ("image",))


def _gatekeeper_open_repo(res: K8sResource) -> Iterator[Failure]:
    """KSV-0124: a Gatekeeper K8sAllowedRepos constraint whose repo prefixes are open-ended (no trailing '/')."""
    if res.kind != "K8sAllowedRepos":
        return
    for i, repo in enumerate(as_list(get(res.obj, "spec", "parameters", "repos"))):
        if isinstance(repo, str) and not repo.endswith("/"):
            yield fail(res, f"The repository '{repo}' should end with '/' to avoid open-ended prefixes",
                       ("spec", "parameters", "repos", i))


def _untrusted(c: Container, res: K8sResource) -> bool:
    """KSV-0125 judges only images that name a repository path ("team/app", "host/app"): a bare name ("nginx") is
    resolved by the node's runtime, often through a configured mirror, so as in Trivy it is not reported."""
    img = _image(c)
    if "/" not in img or c.path[-2] == "ephemeralContainers":
        return False
    return _not_in(TRUSTED_REGISTRIES)(c, res)


CHECKS = (
    ksv("13", "Image tag \":latest\" used", "MEDIUM",
        "Pinning an image to a specific tag (or digest) makes deployments reproducible and reviewable; "
        "':latest' or no tag can silently change what runs.",
        "Use a specific image tag or digest, not ':latest'.",
        container_check(_latest, "should specify an image tag", ("image",)), (IMG_DOC,)),
    ksv("32", "All container images must start with the *.azurecr.io domain", "MEDIUM",
        "[deprecated] Containers should only use images from the organisation's Azure Container Registry.",
        "Use images from '*.azurecr.io'.",
        container_check(_not_in(("azurecr.io",)), "should restrict container image to your specific registry "
                        "domain. For Azure any domain ending in 'azurecr.io'", ("image",)), (IMG_DOC,), deprecated=True),
    ksv("33", "All container images must start with a GCR domain", "MEDIUM",
        "[deprecated] Containers should only use images from Google Container/Artifact Registry.",
        "Use images from 'gcr.io' or '*.pkg.dev'.",
        container_check(_not_in(("gcr.io", "pkg.dev")), "should restrict container image to your specific "
                        "registry domain. See the full GCR list here: https://cloud.google.com/container-registry/"
                        "docs/overview#registries", ("image",)), (IMG_DOC,), deprecated=True),
    ksv("34", "Container images from public registries used", "MEDIUM",
        "[deprecated] Images from public registries (Docker Hub, GHCR, Quay) are outside the organisation's "
        "control.",
        "Use images from a private registry.",
        container_check(_public, "should restrict container image to use private registries", ("image",)),
        (IMG_DOC,), deprecated=True),
    ksv("35", "All container images must start with an ECR domain", "MEDIUM",
        "[deprecated] Containers should only use images from Amazon ECR.",
        "Use images from '*.amazonaws.com'.",
        container_check(_not_in(("amazonaws.com",)), "should restrict images to own ECR repository. See the "
                        "full ECR list here: https://docs.aws.amazon.com/general/latest/gr/ecr.html", ("image",)),
        (IMG_DOC,), deprecated=True),
    ksv("102", "Tiller Is Deployed", "CRITICAL",
        "Tiller (Helm v2's server component) runs with cluster-admin rights and no authentication by default.",
        "Migrate to Helm v3 and remove Tiller.",
        _tiller, ("https://helm.sh/docs/faq/changes_since_helm2/#removal-of-tiller",)),
    ksv("124", "Gatekeeper allowed repositories are open-ended", "HIGH",
        "A K8sAllowedRepos prefix without a trailing '/' also matches look-alike repositories "
        "(e.g. 'myrepo' matches 'myrepo-evil').",
        "End every repository prefix with '/'.",
        _gatekeeper_open_repo,
        ("https://open-policy-agent.github.io/gatekeeper-library/website/validation/allowedrepos/",)),
    ksv("125", "Restrict container images to trusted registries", "MEDIUM",
        "Images should come from trusted registries only.",
        "Use images from a trusted registry.",
        container_check(_untrusted, "should restrict container image to trusted registries", ("image",)),
        (IMG_DOC,)),
)
