"""Generator of labelled secret-scanning inputs (issue 6).

`planted_tree(root)` writes realistic files (.env, config.py, settings.json, a Kubernetes Secret, a shell script,
a Maven settings.xml, a PEM key, a GCP service-account JSON) holding a FAKE secret of every built-in rule, and
returns the expected findings as (path, rule id, line). `near_misses()` returns text that looks secret-ish but must
produce no finding (UUIDs, hashes, base64 images, placeholders, documentation examples, lorem ipsum).

Every value is random from a fixed seed and matches only the token format's public shape; none is a real secret.
"""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass
from pathlib import Path

_R = random.Random(20261126)
UP = string.ascii_uppercase
LO = string.ascii_lowercase
DIG = string.digits
HEX = "0123456789abcdef"
ALNUM = UP + LO + DIG
L = LO + DIG
B32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


def r(chars: str, n: int) -> str:
    return "".join(_R.choice(chars) for _ in range(n))


def uuid() -> str:
    return f"{r(HEX, 8)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 4)}-{r(HEX, 12)}"


FORMATS = ("env", "py", "json", "k8s", "sh")


@dataclass(frozen=True)
class Sample:
    rule: str
    key: str
    value: str
    formats: tuple[str, ...] = FORMATS


def _s(rule: str, value: str, key: str = "", formats: tuple[str, ...] = FORMATS) -> Sample:
    return Sample(rule, key or rule.upper().replace("-", "_"), value, formats)


def samples() -> list[Sample]:
    out = [
        _s("aws-access-key-id", "AKIA" + r(UP + DIG, 16), "AWS_ACCESS_KEY_ID"),
        _s("aws-secret-access-key", r(ALNUM + "/+", 40), "AWS_SECRET_ACCESS_KEY"),
        _s("github-pat", "ghp_" + r(ALNUM, 36)),
        _s("github-oauth", "gho_" + r(ALNUM, 36)),
        _s("github-app-token", "ghs_" + r(ALNUM, 36)),
        _s("github-refresh-token", "ghr_" + r(ALNUM, 76)),
        _s("github-fine-grained-pat", "github_pat_" + r(ALNUM, 22) + "_" + r(ALNUM, 59)),
        _s("gitlab-pat", "glpat-" + r(ALNUM, 20)),
        _s("gitlab-ptt", "glptt-" + r(HEX, 40)),
        _s("gitlab-rrt", "GR1348941" + r(ALNUM, 20)),
        _s("gitlab-runner-token", "glrt-" + r(ALNUM, 20)),
        _s("gitlab-deploy-token", "gldt-" + r(ALNUM, 20)),
        _s("hugging-face-access-token", "hf_" + r(UP + LO, 34)),
        _s("shopify-token", "shpat_" + r(HEX, 32)),
        _s("slack-access-token", f"xoxb-{r(DIG, 12)}-{r(DIG, 12)}-{r(ALNUM, 24)}"),
        _s("slack-web-hook", f"https://hooks.slack.com/services/T{r(UP + DIG, 10)}/B{r(UP + DIG, 10)}/{r(ALNUM, 24)}"),
        _s("stripe-publishable-token", "pk_live_" + r(ALNUM, 24)),
        _s("stripe-secret-token", "sk_live_" + r(ALNUM, 24)),
        _s("pypi-upload-token", "pypi-AgEIcHlwaS5vcmc" + r(ALNUM + "_-", 70)),
        _s("gcp-api-key", "AIza" + r(ALNUM + "_-", 35)),
        _s("heroku-api-key", uuid(), "HEROKU_API_KEY"),
        _s("twilio-api-key", "SK" + r(HEX, 32)),
        _s("age-secret-key", "AGE-SECRET-KEY-1" + r(B32, 58)),
        _s("facebook-token", r(HEX, 32), "FACEBOOK_APP_SECRET"),
        _s("twitter-token", r(ALNUM, 50), "TWITTER_BEARER_TOKEN"),
        _s("adobe-client-id", r(HEX, 32), "ADOBE_CLIENT_ID"),
        _s("adobe-client-secret", "p8e-" + r(ALNUM, 32)),
        _s("alibaba-access-key-id", "LTAI" + r(ALNUM, 20)),
        _s("alibaba-secret-key", r(ALNUM, 30), "ALIBABA_SECRET_KEY"),
        _s("asana-client-id", r(DIG, 16), "ASANA_CLIENT_ID"),
        _s("asana-client-secret", r(L, 32), "ASANA_CLIENT_SECRET"),
        _s("atlassian-api-token", r(ALNUM, 24), "JIRA_API_TOKEN"),
        _s("bitbucket-client-id", r(L, 32), "BITBUCKET_CLIENT_ID"),
        _s("bitbucket-client-secret", r(L, 64), "BITBUCKET_CLIENT_SECRET"),
        _s("beamer-api-token", "b_" + r(L, 44), "BEAMER_API_TOKEN"),
        _s("clojars-api-token", "CLOJARS_" + r(L, 60)),
        _s("contentful-delivery-api-token", r(L, 43), "CONTENTFUL_DELIVERY_TOKEN"),
        _s("databricks-api-token", "dapi" + r(HEX, 32)),
        _s("discord-api-token", r(HEX, 64), "DISCORD_BOT_TOKEN"),
        _s("discord-client-id", r(DIG, 18), "DISCORD_CLIENT_ID"),
        _s("discord-client-secret", r(L, 32), "DISCORD_CLIENT_SECRET"),
        _s("doppler-api-token", "dp.pt." + r(ALNUM, 43)),
        _s("dropbox-api-secret", r(L, 15), "DROPBOX_APP_SECRET"),
        _s("dropbox-short-lived-api-token", "sl." + r(ALNUM, 140), "DROPBOX_TOKEN"),
        _s("dropbox-long-lived-api-token", r(L, 11) + "AAAAAAAAAA" + r(L, 43), "DROPBOX_LONG_TOKEN"),
        _s("duffel-api-token", "duffel_live_" + r(ALNUM, 43)),
        _s("dynatrace-api-token", "dt0c01." + r(UP + DIG, 24) + "." + r(ALNUM, 64)),
        _s("easypost-api-token", "EZAK" + r(ALNUM, 54)),
        _s("fastly-api-token", r(ALNUM, 32), "FASTLY_API_TOKEN"),
        _s("finicity-client-secret", r(L, 20), "FINICITY_CLIENT_SECRET"),
        _s("finicity-api-token", r(HEX, 32), "FINICITY_APP_KEY"),
        _s("flutterwave-public-key", "FLWPUBK_TEST-" + r(HEX, 32) + "-X"),
        _s("flutterwave-enc-key", "FLWSECK_TEST" + r(HEX, 12)),
        _s("frameio-api-token", "fio-u-" + r(ALNUM, 64)),
        _s("gocardless-api-token", "live_" + r(ALNUM, 40), "GOCARDLESS_ACCESS_TOKEN"),
        _s("grafana-api-token", "eyJrIjoi" + r(ALNUM, 80)),
        _s("grafana-cloud-api-token", "glc_" + r(ALNUM, 60)),
        _s("grafana-service-account-token", "glsa_" + r(ALNUM, 32) + "_" + r(HEX, 8)),
        _s("hashicorp-tf-api-token", r(ALNUM, 14) + ".atlasv1." + r(ALNUM, 65)),
        _s("hashicorp-vault-token", "hvs." + r(ALNUM, 95)),
        _s("hubspot-api-token", uuid(), "HUBSPOT_API_KEY"),
        _s("intercom-api-token", r(L, 60), "INTERCOM_ACCESS_TOKEN"),
        _s("intercom-client-secret", uuid(), "INTERCOM_CLIENT_SECRET"),
        _s("ionic-api-token", "ion_" + r(ALNUM, 42)),
        _s("jwt-token", "eyJhbGciOiJIUzI1NiJ9.eyJ" + r(ALNUM, 30) + "." + r(ALNUM + "_-", 43)),
        _s("linear-api-token", "lin_api_" + r(ALNUM, 40)),
        _s("linear-client-secret", r(HEX, 32), "LINEAR_CLIENT_SECRET"),
        _s("lob-api-key", "live_" + r(HEX, 35), "LOB_API_KEY"),
        _s("lob-pub-api-key", "live_pub_" + r(HEX, 31), "LOB_PUB_KEY"),
        _s("mailchimp-api-key", r(HEX, 32) + "-us12"),
        _s("mailgun-token", "key-" + r(HEX, 32)),
        _s("mailgun-signing-key", f"{r('abcdefgh' + DIG, 32)}-{r(HEX, 8)}-{r(HEX, 8)}", "MAILGUN_SIGNING_KEY"),
        _s("mapbox-api-token", "pk.eyJ1Ijoi" + r(ALNUM, 40) + "." + r(ALNUM, 22)),
        _s("messagebird-api-token", r(ALNUM, 25), "MESSAGEBIRD_API_KEY"),
        _s("messagebird-client-id", uuid(), "MESSAGEBIRD_CLIENT_ID"),
        _s("new-relic-user-api-key", "NRAK-" + r(UP + DIG, 27)),
        _s("new-relic-user-api-id", r(ALNUM, 64), "NEW_RELIC_API_ID"),
        _s("new-relic-browser-api-token", "NRJS-" + r(HEX, 19)),
        _s("npm-access-token", "npm_" + r(ALNUM, 36)),
        _s("planetscale-password", "pscale_pw_" + r(ALNUM, 43)),
        _s("planetscale-api-token", "pscale_tkn_" + r(ALNUM, 43)),
        _s("private-packagist-token", "packagist_out_" + r(HEX, 68)),
        _s("postman-api-token", "PMAK-" + r(HEX, 24) + "-" + r(HEX, 34)),
        _s("pulumi-api-token", "pul-" + r(HEX, 40)),
        _s("rubygems-api-token", "rubygems_" + r(HEX, 48)),
        _s("sendgrid-api-token", "SG." + r(ALNUM, 22) + "." + r(ALNUM, 43)),
        _s("sendinblue-api-token", "xkeysib-" + r(HEX, 64) + "-" + r(ALNUM, 16)),
        _s("shippo-api-token", "shippo_live_" + r(HEX, 40)),
        _s("twitch-api-token", r(L, 30), "TWITCH_API_TOKEN"),
        _s("typeform-api-token", "tfp_" + r(ALNUM, 50)),
        _s("linkedin-client-secret", r(L, 16), "LINKEDIN_CLIENT_SECRET"),
        _s("linkedin-client-id", r(L, 14), "LINKEDIN_CLIENT_ID"),
        _s("dockerhub-pat", "dckr_pat_" + r(ALNUM, 27)),
        _s("symfony-default-secret", "ThisTokenIsNotSoSecretChangeIt", "APP_SECRET"),
        _s("azure-storage-account-key",
           f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={r(ALNUM + '+/', 86)}==;EndpointSuffix=core.windows.net",
           "AZURE_STORAGE_CONNECTION_STRING"),
        _s("azure-sas-token",
           f"https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01&sig={r(ALNUM, 43)}%3D",
           "AZURE_BLOB_SAS_URL"),
        _s("azure-devops-pat", r(ALNUM, 52) + "JQQJ99" + r(ALNUM, 18) + "AZDO" + r(ALNUM, 4)),
        _s("azure-entra-client-secret", r(ALNUM, 3) + "8Q~" + r(ALNUM, 34)),
        _s("azure-container-registry-credential",
           r(ALNUM, 52) + "JQQJ99C" + r(UP, 1) + "ACYeBjFEqg7NAAA" + r(UP, 1) + "AZCR" + r(ALNUM, 4), "ACR_KEY"),
        _s("azure-container-registry-password", r(ALNUM, 42) + "+ACR" + r(ALNUM, 6)),
        _s("azure-app-config-connection-string",
           f"Endpoint=https://myapp.azconfig.io;Id=A1b2-l0-s0:{r(ALNUM, 20)};Secret={r(ALNUM, 43)}=",
           "AZURE_APPCONFIG_CONNECTION_STRING"),
        _s("azure-ai-services-key", r(ALNUM, 52) + "JQQJ99" + r(ALNUM, 18) + "ACOG" + r(ALNUM, 4)),
        _s("openai-project-api-key", "sk-proj-" + r(ALNUM, 26) + "T3BlbkFJ" + r(ALNUM, 26)),
        _s("openai-service-account-key", "sk-svcacct-" + r(ALNUM, 60)),
        _s("openai-admin-api-key", "sk-admin-" + r(ALNUM, 60)),
        _s("openai-legacy-api-key", "sk-" + r(ALNUM, 20) + "T3BlbkFJ" + r(ALNUM, 20)),
        _s("openai-service-api-key", "sk-None-" + r(ALNUM, 60)),
        _s("openai-realtime-client-secret", "ek_" + r(ALNUM, 40)),
        _s("anthropic-api-key", "sk-ant-api03-" + r(ALNUM, 93) + "AA"),
        _s("anthropic-admin-api-key", "sk-ant-admin01-" + r(ALNUM, 93) + "AA"),
        _s("sentry-access-token", "sntryu_" + r(HEX, 64)),
        _s("sumologic-access-id", "su" + r(ALNUM, 12), "SUMO_ACCESS_ID"),
        _s("sumologic-access-token", r(ALNUM, 64), "SUMO_ACCESS_KEY"),
        _s("telegram-bot-api-token", r(DIG, 9) + ":AA" + r(ALNUM, 33)),
        _s("yandex-api-key", "AQVN" + r(ALNUM, 36)),
        _s("yandex-access-token", "t1." + r(ALNUM, 20) + "." + r(ALNUM, 86)),
        _s("square-access-token", "EAAA" + r(ALNUM, 60)),
        _s("square-secret", "sq0csp-" + r(ALNUM, 43)),
        _s("twilio-account-sid", r(HEX, 32), "TWILIO_AUTH_TOKEN"),
        _s("shopify-shared-secret", r(HEX, 32), "SHOPIFY_SHARED_SECRET"),
    ]
    return out


def pem_body(lines: int = 12) -> list[str]:
    return [r(ALNUM + "+/", 64) for _ in range(lines)] + [r(ALNUM + "+/", 20) + "=="]


_LINE = {
    "env": "{k}={v}",
    "py": '{k} = "{v}"',
    "json": '  "{k}": "{v}",',
    "k8s": '  {k}: "{v}"',
    "sh": 'export {k}="{v}"',
}
_HEAD = {
    "env": ["# local settings", "DEBUG=true", ""],
    "py": ['"""Application settings."""', "import os", "", "DEBUG = os.environ.get('DEBUG') == '1'"],
    "json": ["{", '  "name": "service",'],
    "k8s": ["apiVersion: v1", "kind: Secret", "metadata:", "  name: app-credentials", "type: Opaque", "stringData:"],
    "sh": ["#!/bin/sh", "set -eu", ""],
}
_TAIL = {"env": [], "py": [], "json": ['  "end": true', "}"], "k8s": [], "sh": ['exec "$@"']}
_NAMES = {"env": ".env", "py": "app/config.py", "json": "settings.json", "k8s": "deploy/k8s-secret.yaml",
          "sh": "scripts/setup.sh"}

Expected = set[tuple[str, str, int]]


def planted_files() -> tuple[dict[str, str], Expected, list[str]]:
    """{relative path: text}, the expected (path, rule id, line) findings, and every planted secret value."""
    files: dict[str, str] = {}
    expected: Expected = set()
    values: list[str] = []
    ss = samples()
    for fmt in FORMATS:
        lines = list(_HEAD[fmt])
        for s in ss:
            if fmt not in s.formats:
                continue
            lines.append(_LINE[fmt].format(k=s.key, v=s.value))
            expected.add((_NAMES[fmt], s.rule, len(lines)))
            lines.append("")  # filler between secrets, like a real config
        lines += _TAIL[fmt]
        files[_NAMES[fmt]] = "\n".join(lines) + "\n"
    values += [s.value for s in ss]

    # private key: a PEM file and the same shape embedded in a Kubernetes manifest block scalar
    body = pem_body()
    values += body
    files["keys/deploy_rsa"] = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----"]) + "\n"
    expected.add(("keys/deploy_rsa", "private-key", 2))  # reported at the key's body, as Trivy does
    body2 = pem_body(6)
    values += body2
    files["deploy/tls.yaml"] = "\n".join(
        ["apiVersion: v1", "kind: Secret", "metadata:", "  name: tls", "stringData:", "  tls.key: |",
         "    -----BEGIN EC PRIVATE KEY-----", *("    " + b for b in body2), "    -----END EC PRIVATE KEY-----"]) + "\n"
    expected.add(("deploy/tls.yaml", "private-key", 8))

    # GCP service-account JSON (its private key is JSON-escaped on one line)
    body3 = pem_body(8)
    values += body3
    key = "-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(body3) + "\\n-----END PRIVATE KEY-----\\n"
    files["gcp/service-account.json"] = "\n".join([
        "{", '  "type": "service_account",', '  "project_id": "demo-project",',
        f'  "private_key_id": "{r(HEX, 40)}",', f'  "private_key": "{key}",',
        '  "client_email": "svc@demo-project.iam.gserviceaccount.com"', "}"]) + "\n"
    expected.add(("gcp/service-account.json", "gcp-service-account", 2))
    expected.add(("gcp/service-account.json", "private-key", 5))

    # Docker credentials: config.json auth and a Kubernetes dockerconfigjson secret
    auth = base64.b64encode(f"deploy:{r(ALNUM, 24)}".encode()).decode()
    values.append(auth)
    files["docker/config.json"] = '{\n  "auths": {\n    "registry.acme.io": {\n      "auth": "' + auth + '"\n    }\n  }\n}\n'
    expected.add(("docker/config.json", "dockerconfig-secret", 4))
    dcj = base64.b64encode(('{"auths":{"r.acme.io":{"auth":"' + auth + '"}}}').encode()).decode()
    values.append(dcj)
    files["deploy/pull-secret.yaml"] = "\n".join([
        "apiVersion: v1", "kind: Secret", "metadata:", "  name: regcred", "type: kubernetes.io/dockerconfigjson",
        "data:", f"  .dockerconfigjson: {dcj}"]) + "\n"
    expected.add(("deploy/pull-secret.yaml", "dockerconfig-secret", 7))

    # an AWS key pair whose secret sits under a name no rule knows (found because the key ID is beside it)
    kid, sk = "AKIA" + r(UP + DIG, 16), r(ALNUM, 38) + r(DIG, 1) + r(UP, 1)
    values += [kid, sk]
    files["ops/backup-creds.txt"] = f"backup user\nid: {kid}\nkey: {sk}\n"
    expected.add(("ops/backup-creds.txt", "aws-access-key-id", 2))
    expected.add(("ops/backup-creds.txt", "aws-secret-access-key-paired", 3))

    # Maven settings.xml and settings-security.xml
    # the master password in plain text (Maven's encrypted {…} form is not a secret on its own)
    pw, pp, master = r(ALNUM, 16), r(ALNUM, 20), r(ALNUM, 24)
    values += [pw, pp, master]
    files["conf/settings.xml"] = "\n".join([
        "<settings>", "  <servers>", "    <server>", "      <id>nexus</id>", "      <username>deploy</username>",
        f"      <password>{pw}</password>", f"      <passphrase>{pp}</passphrase>", "    </server>",
        "    <server>", "      <id>env</id>", "      <password>${env.NEXUS_PASSWORD}</password>", "    </server>",
        "  </servers>", "</settings>"]) + "\n"
    expected.add(("conf/settings.xml", "maven-settings-password", 6))
    expected.add(("conf/settings.xml", "maven-settings-passphrase", 7))
    files["conf/settings-security.xml"] = f"<settingsSecurity>\n  <master>{master}</master>\n</settingsSecurity>\n"
    expected.add(("conf/settings-security.xml", "maven-settings-security-master", 2))
    return files, expected, values


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def planted_tree(root: Path) -> tuple[Expected, list[str]]:
    files, expected, values = planted_files()
    write(root, files)
    return expected, values


def near_misses() -> dict[str, str]:
    """Files that must produce zero findings."""
    png = base64.b64encode(bytes(range(256)) * 3).decode()
    sha_lines = [
        "c0ffee254729296a45a3885639AC7E10F9d54979",
        "3f786850e387550fdab836ed7e6dc881de23001b",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR6MlRrGiA5D6lOQA==",
    ]
    return {
        "notes/uuids.txt": "\n".join(
            ["request-id: 123e4567-e89b-12d3-a456-426614174000", "trace = 9f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b",
             "id: 00000000-0000-0000-0000-000000000000"]) + "\n",
        "notes/hashes.txt": "\n".join(f"commit {h}" for h in sha_lines) + "\n",
        "web/logo.html": f'<img src="data:image/png;base64,{png}">\n',
        "app/placeholders.env": "\n".join([
            "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
            "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "OPENAI_API_KEY=sk-proj-your-api-key-here-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "STRIPE_SECRET=sk_live_XXXXXXXXXXXXXXXXXXXXXXXX",
            "SLACK_WEBHOOK=https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/XXXXXXXXXXXXXXXXXXXXXXXX",
            "API_KEY=your-api-key-here",
            "PASSWORD=${DB_PASSWORD}",
            "HEROKU_API_KEY=<your-heroku-key>",
            "NPM_TOKEN=npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        ]) + "\n",
        "notes/lorem.txt": (
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
            "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip "
            "ex ea commodo consequat. Skip the task list; ask for the desk key.\n") * 20,
        "src/util.py": "\n".join([
            "import hashlib", "", "def digest(data: bytes) -> str:", '    """sha256 hex of data."""',
            "    return hashlib.sha256(data).hexdigest()", "", "KEY_LENGTH = 32", "TOKEN_TTL = 3600",
            "secret_name = os.environ['SECRET_NAME']", "aws_region = 'eu-west-1'",
            "password = get_password()  # from the vault", ""]),
    }
