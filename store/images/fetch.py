"""Fetch the image URLs an import listed (``ProductImageSource``), in background tasks.

The URLs come from uploaded files, so every fetch is treated as hostile (SSRF):

- http and https only; the host is resolved here and every address is checked: one that is
  not globally routable (``_public`` lists them: private, loopback, link-local, carrier-grade
  NAT, multicast, 6to4, an IPv4 inside IPv6 that is not public...) is refused unless the host
  is in ``IMAGE_FETCH_ALLOWED_HOSTS``. The connection goes to the address that was checked (no
  second lookup, so DNS rebinding cannot swap it); HTTPS still verifies the host's certificate.
- connect and read timeouts (``IMAGE_FETCH_CONNECT_TIMEOUT``, ``IMAGE_FETCH_READ_TIMEOUT``)
  and a total deadline (``IMAGE_FETCH_TOTAL_TIMEOUT``) that every wait on the socket obeys
  (connect, TLS handshake, each read of the headers and the body), redirects included;
- at most ``PRODUCT_IMAGE_MAX_BYTES``: a larger Content-Length is refused before reading, and
  the body is read in chunks and dropped as soon as it grows past the limit;
- redirects: at most ``IMAGE_FETCH_MAX_REDIRECTS`` (3), each hop checked again from the start;
- the bytes must be an image: ``images.image_inspect`` sniffs them (Content-Type is ignored).

Network errors, timeouts and 5xx/429 answers are retried (``IMAGE_FETCH_ATTEMPTS`` attempts,
backoff ``IMAGE_FETCH_BACKOFF`` × 4^n seconds when the queue can defer); a refusal is final.
A URL that keeps failing stays ``failed`` with its reason in plain words (``ERROR_*``; the
exception goes to the log); the import job's page lists it, and its Retry
(``image_fetches_retry``) queues that import's failed URLs again.
A claim whose worker died is requeued (or failed) by housekeeping: ``image_fetches_requeue_stale``.
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
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any
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
from store.models import Product, ProductImage, ProductImageSource
from store.sql import chunks

logger = logging.getLogger(__name__)

REDIRECTS = (301, 302, 303, 307, 308)
CHUNK_BYTES = 64 * 1024
DEADLINE_SLACK = 0.05  # seconds: a wait the deadline cut short ends this close to it
USER_AGENT = "backoffice-image-fetch/1"

# Why a fetch failed, in plain words: stored in ``ProductImageSource.error`` and shown on the import
# job's page and the product page. The technical detail (the exception) goes to the log only.
ERROR_SCHEME = "the address is not a web address (only http and https are fetched)"
ERROR_NO_HOST = "the address has no server name"
ERROR_BAD_URL = "the address is not valid"
ERROR_RESOLVE = "the server name could not be found"
ERROR_PRIVATE = "the address is not public (it leads to a private or local network)"
ERROR_TOO_MANY_REDIRECTS = "the server sent it on to another address more than {limit} times"
ERROR_REDIRECT_NO_LOCATION = "the server sent it on to another address without saying which"
ERROR_HTTP = "the server answered {status}"
ERROR_TOO_LARGE = "the file is larger than {limit}"
ERROR_TOTAL_TIMEOUT = "took longer than {seconds} s"
ERROR_CONNECT_TIMEOUT = "the server could not be reached within {seconds} s"
ERROR_READ_TIMEOUT = "the server did not answer in time (nothing for {seconds} s)"
ERROR_REFUSED = "the server refused the connection"
ERROR_CLOSED = "the server closed the connection before answering"
ERROR_CERTIFICATE = "the server's certificate is not valid (https)"
ERROR_TLS = "the secure (https) connection failed"
ERROR_UNREACHABLE = "the server could not be reached"
ERROR_BAD_ANSWER = "the server's answer was not valid HTTP"
ERROR_NOT_AN_IMAGE = "the file is not an image"
ERROR_LOST = "the fetch never finished (the worker running it stopped) and no attempt is left"
# The upload checks' refusals (store.images.inspect codes), said of a fetched file.
IMAGE_REFUSALS = {
    "empty": "the file is empty",
    "too_large": "the file is larger than {limit}",
    "svg": "the file is an SVG image, which is not accepted (it can carry scripts)",
    "not_an_image": ERROR_NOT_AN_IMAGE,
    "format": "the file is a {format} image; only JPEG, PNG, WebP and GIF are accepted",
    "too_many_pixels": "the image has more than {limit} megapixels",
    "damaged": "the image is damaged or cut short",
}


class FetchError(Exception):
    """``reason``: plain words for the people who read it; ``detail``: what went wrong, for the log."""

    def __init__(self, reason: str, *, retry: bool = False, detail: str = ""):
        super().__init__(reason)
        self.reason, self.retry, self.detail = reason, retry, detail


def _seconds(value: float) -> str:
    return f"{value:g}"


def _http_status(status: int) -> str:
    """``404 Not Found``; a code without a standard name stays a number."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def network_reason(error: OSError | http.client.HTTPException) -> str:
    """What a network error means to someone who is not reading a traceback."""
    if isinstance(error, ConnectionRefusedError):
        return ERROR_REFUSED
    if isinstance(error, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return ERROR_CLOSED  # http.client.RemoteDisconnected is a ConnectionResetError
    if isinstance(error, ssl.SSLCertVerificationError):
        return ERROR_CERTIFICATE
    if isinstance(error, ssl.SSLError):
        return ERROR_TLS
    if isinstance(error, http.client.HTTPException):
        return ERROR_BAD_ANSWER
    return ERROR_UNREACHABLE


def image_refusal_reason(error: ValidationError) -> str:
    """An upload check's refusal (which names the file) as a reason about the fetched file."""
    template = IMAGE_REFUSALS.get(str(getattr(error, "code", "") or ""))
    if template is None:
        return error.messages[0]
    params = getattr(error, "params", None) or {}
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return error.messages[0]


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after redirects
    data: bytes


def _allowed(host: str) -> bool:
    return host.lower() in {name.lower() for name in settings.IMAGE_FETCH_ALLOWED_HOSTS}


# Blocks refused on top of what ``ipaddress`` does not call global (its list varies between
# Python releases): IANA special-purpose blocks, multicast, and the transition forms that
# carry an IPv4 address for a relay to reach.
REFUSED_IPV4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # carrier-grade NAT (100.100.100.200 is a cloud's metadata service)
        "192.0.0.0/24",  # IETF protocol assignments, all of it
        "192.88.99.0/24",  # the 6to4 relay anycast (deprecated)
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
REFUSED_IPV6 = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "::/96",  # unspecified, loopback and IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) among them
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: a relay reaches whatever IPv4 it carries
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: a gateway reaches the IPv4 inside


def _public(address: str) -> bool:
    """Whether ``address`` is globally routable, the only kind an image is fetched from.

    Refused: whatever ``ipaddress`` does not call global (private, loopback, link-local,
    reserved, unspecified, shared, documentation...) and every block of ``REFUSED_IPV4`` and
    ``REFUSED_IPV6``: carrier-grade NAT 100.64.0.0/10, 192.0.0.0/24, multicast, 6to4
    2002::/16 and Teredo 2001::/32 whatever they carry, site-local fec0::/10, unique local
    fc00::/7. An IPv4 inside IPv6 is judged as that IPv4: IPv4-mapped ``::ffff:a.b.c.d``
    and NAT64 ``64:ff9b::a.b.c.d`` (so a DNS64 network still reaches public IPv4 hosts);
    IPv4-compatible ``::a.b.c.d`` is refused. A zone (``%eth0``) is ignored.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_global and not any(ip in block for block in REFUSED_IPV4)
    embedded = ip.ipv4_mapped or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
    if embedded is not None:
        return _public(str(embedded))
    return ip.is_global and not any(ip in block for block in REFUSED_IPV6)


def resolve_checked(host: str, port: int) -> str:
    """The address to connect to: every address of ``host`` must be public (or the host allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(ERROR_RESOLVE, retry=True, detail=f"{host}: {error}") from error
    addresses = [str(info[4][0]) for info in infos]  # the host of an AF_INET or AF_INET6 sockaddr
    if not addresses:
        raise FetchError(ERROR_RESOLVE, retry=True, detail=f"{host}: no address")
    if not _allowed(host):
        for address in addresses:
            if not _public(address):
                raise FetchError(ERROR_PRIVATE, detail=f"{host} resolves to {address}, not a public address")
    return addresses[0]


def _wait(deadline: float, limit: float) -> float:
    """The timeout of the next wait on a socket: ``limit``, or less when the deadline is nearer."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("total time")
    return min(limit, left)


class _DeadlineSocket:
    """A connected socket each wait of which gets the time left before ``deadline`` (at most
    ``read_timeout``), so a server sending one byte just inside the read timeout cannot hold a
    fetch past its total deadline: http.client reads headers and body through ``makefile``,
    which loops on ``recv_into`` until a line or a chunk is complete. Like a socket, it stays
    open until the connection and every file made from it are closed."""

    def __init__(self, sock: socket.socket, *, deadline: float, read_timeout: float):
        self._sock, self._deadline, self._read_timeout = sock, deadline, read_timeout
        self._readers, self._closed = 0, False

    def _arm(self) -> None:
        self._sock.settimeout(_wait(self._deadline, self._read_timeout))

    def recv_into(self, buffer: memoryview | bytearray, nbytes: int = 0) -> int:
        self._arm()
        return self._sock.recv_into(buffer, nbytes)

    def sendall(self, data: bytes) -> None:
        self._arm()
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb") -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closed:
            self.close()

    def close(self) -> None:
        self._closed = True
        if not self._readers:
            self._sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket):
        super().__init__()
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._sock.reader_closed()
        super().close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand (the Host header keeps the name); the connect,
    the TLS handshake and every read end by ``deadline``."""

    def __init__(
        self, host: str, port: int, *, address: str, connect_timeout: float, read_timeout: float, deadline: float
    ):
        super().__init__(host, port, timeout=connect_timeout)
        self._address, self._deadline = address, deadline
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), _wait(self._deadline, self._connect_timeout))
        sock.settimeout(_wait(self._deadline, self._read_timeout))  # the TLS handshake, as a whole
        return sock

    def _guard(self, sock: socket.socket) -> None:
        self.sock = _DeadlineSocket(sock, deadline=self._deadline, read_timeout=self._read_timeout)

    def connect(self) -> None:
        self._guard(self._open())


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def connect(self) -> None:
        context = ssl.create_default_context()
        self._guard(context.wrap_socket(self._open(), server_hostname=self.host))


def _get(url: str, *, deadline: float) -> tuple[int, str, bytes]:
    """One request: (status, Location, body); refuses before connecting to a forbidden address."""
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError as error:  # "http://[::1", a port out of range
        raise FetchError(ERROR_BAD_URL, detail=f"{url[:200]!r}: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(ERROR_SCHEME)
    if not hostname:
        raise FetchError(ERROR_NO_HOST)
    port = port or (443 if scheme == "https" else 80)
    address = resolve_checked(hostname, port)
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(
        hostname,
        port,
        address=address,
        connect_timeout=settings.IMAGE_FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.IMAGE_FETCH_READ_TIMEOUT,
        deadline=deadline,
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
                ERROR_HTTP.format(status=_http_status(response.status)),
                retry=response.status >= 500 or response.status == 429,
            )
        length = response.getheader("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            raise FetchError(ERROR_TOO_LARGE.format(limit=filesizeformat(limit)))
        body = bytearray()
        while True:
            chunk = response.read(CHUNK_BYTES)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise FetchError(ERROR_TOO_LARGE.format(limit=filesizeformat(limit)))
        return response.status, "", bytes(body)
    except TimeoutError as error:  # socket.timeout
        raise FetchError(_timeout_reason(connection, deadline), retry=True, detail=str(error) or "timed out") from error
    except (OSError, http.client.HTTPException) as error:
        detail = f"{type(error).__name__}: {error}"
        raise FetchError(network_reason(error), retry=True, detail=detail) from error
    finally:
        connection.close()


def _timeout_reason(connection: _PinnedHTTPConnection, deadline: float) -> str:
    """Which wait ran out: the fetch's total deadline, the connect (no socket yet), or a read."""
    if time.monotonic() >= deadline - DEADLINE_SLACK:
        return ERROR_TOTAL_TIMEOUT.format(seconds=_seconds(settings.IMAGE_FETCH_TOTAL_TIMEOUT))
    if connection.sock is None:
        return ERROR_CONNECT_TIMEOUT.format(seconds=_seconds(settings.IMAGE_FETCH_CONNECT_TIMEOUT))
    return ERROR_READ_TIMEOUT.format(seconds=_seconds(settings.IMAGE_FETCH_READ_TIMEOUT))


def fetch_image(url: str) -> Fetched:
    """GET ``url`` under the rules above; the bytes are checked to be an image. Raises FetchError."""
    deadline = time.monotonic() + settings.IMAGE_FETCH_TOTAL_TIMEOUT
    current = url
    for _hop in range(settings.IMAGE_FETCH_MAX_REDIRECTS + 1):
        status, location, body = _get(current, deadline=deadline)
        if status in REDIRECTS:
            if not location:
                raise FetchError(ERROR_REDIRECT_NO_LOCATION)
            try:
                current = urljoin(current, location)
            except ValueError as error:
                raise FetchError(ERROR_BAD_URL, detail=f"redirect to {location[:200]!r}: {error}") from error
            continue
        name = posixpath.basename(urlsplit(current).path) or "image"
        try:
            image_inspect(file=io.BytesIO(body), name=name)
        except ValidationError as error:
            raise FetchError(image_refusal_reason(error), detail=error.messages[0]) from error
        return Fetched(url=current, data=body)
    raise FetchError(ERROR_TOO_MANY_REDIRECTS.format(limit=settings.IMAGE_FETCH_MAX_REDIRECTS))


def image_source_fetch(*, source_id: int, attempt: int) -> str:
    """Fetch one source and save it as a ProductImage; returns the source's state afterwards.

    The attempt is claimed with a conditional UPDATE, so a duplicate or stale task does nothing;
    the claim's time is ``updated_at`` (``image_fetches_requeue_stale`` finds the lost ones).
    """
    claimed = ProductImageSource.objects.filter(
        pk=source_id, state=ProductImageSource.State.PENDING, attempts=attempt - 1
    ).update(attempts=attempt, updated_at=timezone.now())
    if not claimed:
        return "skipped"
    source = ProductImageSource.objects.get(pk=source_id)
    try:
        fetched = fetch_image(source.url)
    except FetchError as error:
        return _failed(source, reason=error.reason, retry=error.retry, attempt=attempt, detail=error.detail)
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
                state=ProductImageSource.State.DONE, image=image, error="", updated_at=timezone.now()
            )
            variant_image_links(image=image, url_hash_value=source.url_hash)
    except ValidationError as error:
        return _failed(source, reason=image_refusal_reason(error), retry=False, attempt=attempt, detail=str(error))
    logger.info("Fetched image %s for product %s", source.url[:200], source.product_id)
    return ProductImageSource.State.DONE


def variant_image_links(*, image: ProductImage, url_hash_value: str) -> int:
    """Give ``image`` (just fetched for a product) to the product's variants an import pointed at
    its URL before it was fetched (``store.fileformat.columns.VariantImageColumn.write``); returns how many."""
    links = ProductImageSource.objects.filter(
        product__parent_id=image.product_id,
        url_hash=url_hash_value,
        state=ProductImageSource.State.DONE,
        image__isnull=True,
    )
    variant_ids = list(links.values_list("product_id", flat=True))
    if variant_ids:
        Product.objects.filter(pk__in=variant_ids).update(variant_image=image)
        links.update(image=image)
    return len(variant_ids)


def _failed(source: ProductImageSource, *, reason: str, retry: bool, attempt: int, detail: str = "") -> str:
    """Record a failed attempt (the plain reason; the detail is logged) and retry it, or fail the URL."""
    attempts = settings.IMAGE_FETCH_ATTEMPTS
    explained = f"{reason} ({detail})" if detail else reason
    if retry and attempt < attempts:
        ProductImageSource.objects.filter(pk=source.pk).update(error=reason[:500], updated_at=timezone.now())
        task = product_image_fetch
        if task.get_backend().supports_defer:
            delay = settings.IMAGE_FETCH_BACKOFF * 4 ** (attempt - 1)
            task = task.using(run_after=timezone.now() + timedelta(seconds=delay))
        task.enqueue(source.pk, attempt + 1)
        logger.info("Image %s: attempt %s failed: %s; retrying", source.url[:200], attempt, explained)
        return ProductImageSource.State.PENDING
    ProductImageSource.objects.filter(pk=source.pk).update(
        state=ProductImageSource.State.FAILED, error=reason[:500], updated_at=timezone.now()
    )
    logger.warning("Image %s for product %s failed: %s", source.url[:200], source.product_id, explained)
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


def image_fetches_retry(*, import_job_id: int) -> int:
    """Fetch the failed image URLs of one import again (the job page's Retry): each goes back to
    pending with a fresh set of attempts and is queued once the change commits. Returns how many.

    Each is moved with a conditional UPDATE (still failed); a URL two Retries both queued is
    fetched once, since each attempt is claimed once (``image_source_fetch``).
    """
    failed = list(
        ProductImageSource.objects.filter(
            import_job_id=import_job_id, state=ProductImageSource.State.FAILED
        ).values_list("id", flat=True)
    )
    retried: list[int] = []
    now = timezone.now()
    for chunk in chunks(failed):
        with transaction.atomic():
            moved = list(
                ProductImageSource.objects.select_for_update()
                .filter(pk__in=chunk, state=ProductImageSource.State.FAILED)
                .values_list("id", flat=True)
            )
            ProductImageSource.objects.filter(pk__in=moved).update(
                state=ProductImageSource.State.PENDING, attempts=0, error="", updated_at=now
            )
        retried.extend(moved)

    def enqueue() -> None:
        for source_id in retried:
            product_image_fetch.enqueue(source_id, 1)

    # A queue that is down loses nothing: the URLs are pending and never claimed, and
    # housekeeping queues them again (``image_fetches_requeue_stale``).
    transaction.on_commit(enqueue, robust=True)
    if retried:
        logger.info("Import #%s: %s failed image fetch(es) queued again", import_job_id, len(retried))
    return len(retried)


def image_fetches_requeue_stale(*, now: datetime | None = None) -> int:
    """Fetches claimed longer than ``IMAGE_FETCH_STALE_AFTER`` ago and still pending: their worker
    died, so no task is left and a re-import skips them (they were tried). Each is requeued
    with its next attempt, or failed with ``ERROR_LOST`` when no attempt is left. Fetches never
    claimed for ``JOB_QUEUED_TIMEOUT``: their task was lost (the queue was down when the import
    or a Retry queued it, or restarted since) and are queued again. A requeued task that meets
    a late original does nothing: the claim takes each attempt once. Housekeeping runs this
    hourly; returns how many were requeued or failed."""
    now = now or timezone.now()
    return _requeue_claimed(now=now) + _requeue_unclaimed(now=now)


def _requeue_unclaimed(*, now: datetime) -> int:
    unclaimed = list(
        ProductImageSource.objects.filter(
            state=ProductImageSource.State.PENDING,
            attempts=0,
            updated_at__lt=now - timedelta(seconds=settings.JOB_QUEUED_TIMEOUT),
        ).values_list("id", flat=True)
    )
    for chunk in chunks(unclaimed):
        ProductImageSource.objects.filter(pk__in=chunk).update(updated_at=now)
        for pk in chunk:
            product_image_fetch.enqueue(pk, 1)
    if unclaimed:
        logger.warning("Image fetches whose task was lost before any attempt: %s queued again", len(unclaimed))
    return len(unclaimed)


def _requeue_claimed(*, now: datetime) -> int:
    stale = ProductImageSource.objects.filter(
        state=ProductImageSource.State.PENDING,
        attempts__gt=0,
        updated_at__lt=now - timedelta(seconds=settings.IMAGE_FETCH_STALE_AFTER),
    )
    failed = stale.filter(attempts__gte=settings.IMAGE_FETCH_ATTEMPTS).update(
        state=ProductImageSource.State.FAILED, error=ERROR_LOST, updated_at=now
    )
    lost = list(stale.values_list("id", "attempts"))
    for chunk in chunks(lost):
        ProductImageSource.objects.filter(pk__in=[pk for pk, _attempts in chunk]).update(updated_at=now)
        for pk, attempts in chunk:
            product_image_fetch.enqueue(pk, attempts + 1)
    if failed or lost:
        logger.warning("Image fetches whose worker died: %s requeued, %s failed", len(lost), failed)
    return failed + len(lost)


@task()
def product_image_fetch(source_id: int, attempt: int) -> str:
    """Fetch the image URL of ProductImageSource ``source_id`` (its attempt ``attempt``)."""
    return image_source_fetch(source_id=source_id, attempt=attempt)
