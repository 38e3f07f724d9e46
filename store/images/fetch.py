"""Fetch the image URLs an import listed (``ProductImageSource``), in background tasks.

The URLs come from uploaded files, so every fetch is treated as hostile (SSRF):

- http and https only; the host is resolved here and every address is checked: a private,
  loopback, link-local, reserved or multicast address is refused unless the host is in
  ``IMAGE_FETCH_ALLOWED_HOSTS``. The connection goes to the address that was checked (no
  second lookup, so DNS rebinding cannot swap it); HTTPS still verifies the host's certificate.
- connect and read timeouts (``IMAGE_FETCH_CONNECT_TIMEOUT``, ``IMAGE_FETCH_READ_TIMEOUT``)
  and a total deadline (``IMAGE_FETCH_TOTAL_TIMEOUT``);
- at most ``PRODUCT_IMAGE_MAX_BYTES``: a larger Content-Length is refused before reading, and
  the body is read in chunks and dropped as soon as it grows past the limit;
- redirects: at most ``IMAGE_FETCH_MAX_REDIRECTS`` (3), each hop checked again from the start;
- the bytes must be an image: ``images.image_inspect`` sniffs them (Content-Type is ignored).

Network errors, timeouts and 5xx/429 answers are retried (``IMAGE_FETCH_ATTEMPTS`` attempts,
backoff ``IMAGE_FETCH_BACKOFF`` × 4^n seconds when the queue can defer); a refusal is final.
A URL that keeps failing stays ``failed`` with its reason; the import job's page lists it.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import logging
import posixpath
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django_tasks import task

from store.images.inspect import image_inspect
from store.images.services import product_image_save
from store.models import ProductImage, ProductImageSource
from store.sql import chunks

logger = logging.getLogger(__name__)

REDIRECTS = (301, 302, 303, 307, 308)
CHUNK_BYTES = 64 * 1024
USER_AGENT = "backoffice-image-fetch/1"

ERROR_SCHEME = "only http and https URLs are fetched"
ERROR_NO_HOST = "the URL has no host"
ERROR_RESOLVE = "the host could not be resolved ({error})"
ERROR_PRIVATE = "the host {host} resolves to a private or local address ({address}); refused"
ERROR_TOO_MANY_REDIRECTS = "more than {limit} redirects"
ERROR_REDIRECT_NO_LOCATION = "a redirect without a Location"
ERROR_HTTP = "the server answered HTTP {status}"
ERROR_TOO_LARGE = "larger than {limit}"
ERROR_TIMEOUT = "timed out ({error})"
ERROR_NETWORK = "network error: {error}"


class FetchError(Exception):
    def __init__(self, reason: str, *, retry: bool = False):
        super().__init__(reason)
        self.reason, self.retry = reason, retry


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after redirects
    data: bytes


def _allowed(host: str) -> bool:
    return host.lower() in {name.lower() for name in settings.IMAGE_FETCH_ALLOWED_HOSTS}


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified
    )


def resolve_checked(host: str, port: int) -> str:
    """The address to connect to: every address of ``host`` must be public (or the host allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(ERROR_RESOLVE.format(error=error), retry=True) from error
    addresses = [str(info[4][0]) for info in infos]  # the host of an AF_INET or AF_INET6 sockaddr
    if not addresses:
        raise FetchError(ERROR_RESOLVE.format(error="no address"), retry=True)
    if not _allowed(host):
        for address in addresses:
            if not _public(address):
                raise FetchError(ERROR_PRIVATE.format(host=host, address=address))
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand; the Host header keeps the name."""

    def __init__(self, host: str, port: int, *, address: str, connect_timeout: float, read_timeout: float):
        super().__init__(host, port, timeout=connect_timeout)
        self._address, self._read_timeout = address, read_timeout

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        sock.settimeout(self._read_timeout)
        return sock

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def connect(self) -> None:
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self._open(), server_hostname=self.host)


def _get(url: str, *, deadline: float) -> tuple[int, str, bytes]:
    """One request: (status, Location, body); refuses before connecting to a forbidden address."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(ERROR_SCHEME)
    if not parts.hostname:
        raise FetchError(ERROR_NO_HOST)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise FetchError(ERROR_NETWORK.format(error=error)) from error
    address = resolve_checked(parts.hostname, port)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(
        parts.hostname,
        port,
        address=address,
        connect_timeout=settings.IMAGE_FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.IMAGE_FETCH_READ_TIMEOUT,
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    limit = settings.PRODUCT_IMAGE_MAX_BYTES
    try:
        connection.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
        response = connection.getresponse()
        if response.status in REDIRECTS:
            return response.status, response.getheader("Location", ""), b""
        if response.status != 200:
            raise FetchError(
                ERROR_HTTP.format(status=response.status), retry=response.status >= 500 or response.status == 429
            )
        length = response.getheader("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            raise FetchError(ERROR_TOO_LARGE.format(limit=filesizeformat(limit)))
        body = bytearray()
        while True:
            if time.monotonic() > deadline:
                raise FetchError(ERROR_TIMEOUT.format(error="total time"), retry=True)
            chunk = response.read(CHUNK_BYTES)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise FetchError(ERROR_TOO_LARGE.format(limit=filesizeformat(limit)))
        return response.status, "", bytes(body)
    except TimeoutError as error:  # socket.timeout
        raise FetchError(ERROR_TIMEOUT.format(error=error or "no answer"), retry=True) from error
    except (OSError, http.client.HTTPException) as error:
        raise FetchError(ERROR_NETWORK.format(error=error), retry=True) from error
    finally:
        connection.close()


def fetch_image(url: str) -> Fetched:
    """GET ``url`` under the rules above; the bytes are checked to be an image. Raises FetchError."""
    deadline = time.monotonic() + settings.IMAGE_FETCH_TOTAL_TIMEOUT
    current = url
    for _hop in range(settings.IMAGE_FETCH_MAX_REDIRECTS + 1):
        status, location, body = _get(current, deadline=deadline)
        if status in REDIRECTS:
            if not location:
                raise FetchError(ERROR_REDIRECT_NO_LOCATION)
            current = urljoin(current, location)
            continue
        name = posixpath.basename(urlsplit(current).path) or "image"
        try:
            image_inspect(file=io.BytesIO(body), name=name)
        except ValidationError as error:
            raise FetchError(error.messages[0]) from error
        return Fetched(url=current, data=body)
    raise FetchError(ERROR_TOO_MANY_REDIRECTS.format(limit=settings.IMAGE_FETCH_MAX_REDIRECTS))


def image_source_fetch(*, source_id: int, attempt: int) -> str:
    """Fetch one source and save it as a ProductImage; returns the source's state afterwards.

    The attempt is claimed with a conditional UPDATE, so a duplicate or stale task does nothing.
    """
    claimed = ProductImageSource.objects.filter(
        pk=source_id, state=ProductImageSource.State.PENDING, attempts=attempt - 1
    ).update(attempts=attempt)
    if not claimed:
        return "skipped"
    source = ProductImageSource.objects.get(pk=source_id)
    try:
        fetched = fetch_image(source.url)
    except FetchError as error:
        return _failed(source, reason=error.reason, retry=error.retry, attempt=attempt)
    name = posixpath.basename(urlsplit(fetched.url).path) or "image"
    try:
        with transaction.atomic():
            image = product_image_save(
                image=ProductImage(
                    product_id=source.product_id,
                    image=ContentFile(fetched.data, name=name[:100]),
                    source_url=source.url[:2048],
                    alt_text=source.alt_text,
                    position=source.position,
                )
            )
            ProductImageSource.objects.filter(pk=source_id).update(
                state=ProductImageSource.State.DONE, image=image, error=""
            )
    except ValidationError as error:
        return _failed(source, reason=error.messages[0], retry=False, attempt=attempt)
    logger.info("Fetched image %s for product %s", source.url[:200], source.product_id)
    return ProductImageSource.State.DONE


def _failed(source: ProductImageSource, *, reason: str, retry: bool, attempt: int) -> str:
    attempts = settings.IMAGE_FETCH_ATTEMPTS
    if retry and attempt < attempts:
        ProductImageSource.objects.filter(pk=source.pk).update(error=reason[:500])
        task = product_image_fetch
        if task.get_backend().supports_defer:
            delay = settings.IMAGE_FETCH_BACKOFF * 4 ** (attempt - 1)
            task = task.using(run_after=timezone.now() + timedelta(seconds=delay))
        task.enqueue(source.pk, attempt + 1)
        logger.info("Image %s: attempt %s failed (%s); retrying", source.url[:200], attempt, reason)
        return ProductImageSource.State.PENDING
    ProductImageSource.objects.filter(pk=source.pk).update(state=ProductImageSource.State.FAILED, error=reason[:500])
    logger.warning("Image %s for product %s failed: %s", source.url[:200], source.product_id, reason)
    return ProductImageSource.State.FAILED


FAILED_SHOWN = 100


def import_image_report(*, job_id: int) -> dict:
    """The image URLs of one import: counts by state and the failing ones with their reasons (two queries)."""
    sources = ProductImageSource.objects.filter(import_job_id=job_id)
    counts = dict(sources.order_by().values_list("state").annotate(n=Count("id")))
    failed = list(
        sources.filter(state=ProductImageSource.State.FAILED)
        .select_related("product")
        .only("url", "error", "attempts", "product__sku", "product__title")
        .order_by("id")[:FAILED_SHOWN]
    )
    return {
        "total": sum(counts.values()),
        "done": counts.get(ProductImageSource.State.DONE, 0),
        "pending": counts.get(ProductImageSource.State.PENDING, 0),
        "failed_count": counts.get(ProductImageSource.State.FAILED, 0),
        "failed": failed,
        "failed_shown": FAILED_SHOWN,
    }


def image_sources_enqueue(*, product_ids: Sequence[int]) -> int:
    """Enqueue one fetch task per pending source of these products that has no image yet."""
    count = 0
    for chunk in chunks(list(product_ids)):
        pending = ProductImageSource.objects.filter(
            product_id__in=chunk, state=ProductImageSource.State.PENDING, attempts=0
        ).values_list("id", flat=True)
        for source_id in pending:
            product_image_fetch.enqueue(source_id, 1)
            count += 1
    return count


@task()
def product_image_fetch(source_id: int, attempt: int) -> str:
    """Fetch the image URL of ProductImageSource ``source_id`` (its attempt ``attempt``)."""
    return image_source_fetch(source_id=source_id, attempt=attempt)
