"""Pull the DB artifact from a plain HTTP(S) directory (`https://cdn.example/vigil-db/` holding metadata.json,
vigil.db.zst and any delta files, i.e. an artifact dir as `vigil db pack` leaves it, served by any web server).

metadata.json is fetched with If-None-Match (the ETag of the last one we acted on): a 304 means nothing new and costs
one small request. 429, 5xx, timeouts and connection errors get one quick retry, then the caller moves on to the next
repository; a long Retry-After is not waited for (another mirror is usually the faster way).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vigil.dbdist.artifact import MAX_METADATA, ArtifactMetadata, decode_metadata
from vigil.dbdist.source import CHUNK, Progress, RepoError
from vigil.log import get_logger
from vigil.vulndb.schema import METADATA_FILENAME

if TYPE_CHECKING:
    import httpx

log = get_logger(__name__)

ATTEMPTS = 2
BACKOFF = 0.5
TIMEOUT = 30.0


class HTTPRepository:
    def __init__(self, url: str, timeout: float = TIMEOUT, *, insecure: bool = False, cacert: str = "") -> None:
        """`insecure`: no TLS verification (--insecure); `cacert`: a CA bundle trusted besides the system's."""
        import ssl

        import httpx

        self.url = url
        self.base = url if url.endswith("/") else url + "/"
        verify: ssl.SSLContext | bool = True
        if insecure:
            verify = False
        elif cacert:
            try:
                verify = ssl.create_default_context()
                verify.load_verify_locations(cafile=cacert)
            except (OSError, ssl.SSLError) as e:
                raise RepoError(f"{url}: cannot load the CA bundle {cacert}: {e}") from e
        self.client = httpx.Client(
            verify=verify,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            trust_env=True,
            headers={"User-Agent": "vigil", "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        self.client.close()

    def _get(self, name: str, headers: dict[str, str]) -> httpx.Response:
        import httpx

        url = self.base + name
        last = ""
        for attempt in range(ATTEMPTS):
            try:
                resp = self.client.send(self.client.build_request("GET", url, headers=headers), stream=True)
            except httpx.HTTPError as e:
                last = " ".join(str(e).split()) or type(e).__name__
            else:
                if resp.status_code != 429 and resp.status_code < 500:
                    return resp
                last = f"HTTP {resp.status_code}"
                resp.close()
            if attempt + 1 < ATTEMPTS:
                time.sleep(BACKOFF)
        raise RepoError(f"{url}: {last} (after {ATTEMPTS} attempts)")

    def fetch_metadata(self, etag: str) -> tuple[ArtifactMetadata | None, str]:
        import httpx

        resp = self._get(METADATA_FILENAME, {"If-None-Match": etag} if etag else {})
        try:
            if resp.status_code == 304:
                return None, etag
            if resp.status_code != 200:
                raise RepoError(f"{self.base}{METADATA_FILENAME}: HTTP {resp.status_code}")
            raw = bytearray()
            for chunk in resp.iter_bytes():
                raw += chunk
                if len(raw) > MAX_METADATA:
                    raise RepoError(f"{self.base}{METADATA_FILENAME}: larger than {MAX_METADATA >> 20} MiB")
            new_etag = str(resp.headers.get("etag", ""))
        except httpx.HTTPError as e:
            raise RepoError(f"{self.base}{METADATA_FILENAME}: {type(e).__name__}: {e}") from e
        finally:
            resp.close()
        return decode_metadata(bytes(raw), self.base + METADATA_FILENAME), new_etag

    def download(self, name: str, dest: Path, sha256: str, size: int, progress: Progress) -> None:
        import httpx

        url = self.base + name
        resp = self._get(name, {})
        h = hashlib.sha256()
        n = 0
        progress.start(name, size)
        try:
            if resp.status_code != 200:
                raise RepoError(f"{url}: HTTP {resp.status_code}")
            with open(dest, "wb") as f:
                for chunk in resp.iter_bytes(CHUNK):
                    n += len(chunk)
                    if n > size:
                        raise RepoError(f"{url}: larger than the {size} bytes metadata.json declares")
                    h.update(chunk)
                    f.write(chunk)
                    progress.advance(len(chunk))
        except httpx.HTTPError as e:
            raise RepoError(f"{url}: {type(e).__name__}: {' '.join(str(e).split())}") from e
        finally:
            resp.close()
            progress.stop()
        if n != size:
            raise RepoError(f"{url}: got {n} bytes, metadata.json declares {size}")
        if h.hexdigest() != sha256:
            raise RepoError(f"{url}: sha256 mismatch (got {h.hexdigest()}, metadata.json says {sha256})")
