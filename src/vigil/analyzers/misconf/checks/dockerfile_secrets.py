"""DS-0031: secrets passed via build arguments or environment variables, or secret files copied into the image."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from vigil.analyzers.misconf.checks._dockerfile_common import ds, fail, where
from vigil.analyzers.misconf.checks.base import Failure
from vigil.analyzers.misconf.dockerfile import DockerfileDoc

# Variable names that hold credentials (matched on _-separated words, case-insensitive) ...
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASS|PWD|SECRET|SECRETS|TOKEN|APIKEY|API_KEY|ACCESS_KEY|ACCESS_KEY_ID|"
    r"SECRET_ACCESS_KEY|PRIVATE_KEY|LICENSE_KEY|CLIENT_SECRET|CREDENTIALS?|AUTH_TOKEN)(?:$|_)",
    re.IGNORECASE,
)
# ... except names that point at a secret rather than holding one, or are well-known public values.
_NOT_SECRET = re.compile(r"(?:_FILE|_PATH|_DIR|_URL|_URI|_HOST|_PORT|_NAME|_USER|_ENABLED|_LENGTH|_TYPE)$",
                         re.IGNORECASE)
SECRET_FILES = frozenset({
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", ".npmrc", ".pypirc", ".netrc", ".git-credentials",
    ".dockercfg", "config.json.docker", "credentials", "credentials.json", ".env", "secrets.json",
    "secrets.yaml", "secrets.yml", "service-account.json", "htpasswd", ".htpasswd",
})
_SECRET_EXT = re.compile(r"\.(pem|key|p12|pfx|jks|keystore)$", re.IGNORECASE)


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET.search(name)


def _secrets(doc: DockerfileDoc) -> Iterator[Failure]:
    for s in doc.stages:
        for i in s.instructions:
            if i.cmd in ("arg", "env"):
                v = i.value
                for k in range(0, len(v) - 1, 2):
                    name, val = v[k], v[k + 1]
                    if not _secret_name(name):
                        continue
                    if i.cmd == "env" and not val:
                        continue
                    how = "build argument" if i.cmd == "arg" else "environment variable"
                    yield fail(i, s, f"Possible exposure of secret in {how} '{name}' ({where(s)}): values "
                                     f"end up in the image metadata and history")
            elif i.cmd in ("copy", "add") and not i.heredocs and len(i.value) >= 2:
                if i.flag("from") is not None:
                    continue  # copied from another stage, not from the build context
                for src in i.value[:-1]:
                    base = posixpath.basename(src.rstrip("/"))
                    if base in SECRET_FILES or _SECRET_EXT.search(base):
                        yield fail(i, s, f"Possible exposure of secret file '{src}' copied into the image "
                                         f"({where(s)})")


CHECKS = (
    ds(31, "Secrets passed via build-args or envs or copied secret files", "CRITICAL",
       "Build arguments and ENV values are stored in the image config and history, and copied files stay in "
       "a layer even if deleted later: anyone who can pull the image can read the secret.",
       "Use BuildKit secret mounts (RUN --mount=type=secret,id=...) or runtime secrets instead of ARG/ENV or "
       "COPY for credentials.",
       ("https://docs.docker.com/build/building/secrets/",), _secrets),
)
