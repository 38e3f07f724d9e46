"""Images listed by imports: fetched by tasks under the SSRF rules; real WooCommerce and Shopify files."""

from __future__ import annotations

import csv
import http.client
import io
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from store.housekeeping import housekeeping
from store.images import fetch as image_fetch
from store.importing import revert as reverting
from store.importing.service import product_import, product_import_confirm, product_import_preview
from store.models import Product, ProductImage, ProductImageSource
from store.roles import IMPORTER, VIEWER, role_sync_all
from store.seeding import catalog_clear
from store.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True)

logger = logging.getLogger(__name__)

REALWORLD = Path(__file__).resolve().parents[3] / ".." / "shared" / "realworld" / "woocommerce_sample_products.csv"


def png(size=(8, 6), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


TRICKLE_INTERVAL = 0.1  # seconds between two bytes of a trickled answer


class Handler(BaseHTTPRequestHandler):
    hits: list[str] = []
    trickled: int = 0  # bytes of a trickled answer written so far
    missing: set[str] = set()  # paths answering 404 for now

    def log_message(self, *args):  # quiet
        pass

    def trickle(self, data: bytes) -> None:
        """Write ``data`` one byte at a time, each within the read timeout; stop when the client hangs up."""
        try:
            for byte in data:
                self.wfile.write(bytes([byte]))
                Handler.trickled += 1
                time.sleep(TRICKLE_INTERVAL)
        except OSError:
            pass

    def do_GET(self):
        Handler.hits.append(self.path)
        path = self.path
        if path == "/trickle-body.png":
            body = png()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.trickle(body)
        elif path == "/trickle-head.png":
            body = png()
            self.trickle(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            self.close_connection = True
        elif path.startswith("/redirect/"):
            count = int(path.split("/")[2])
            target = f"/redirect/{count - 1}" if count > 1 else "/img/final.png"
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
        elif path == "/to-malformed":
            self.send_response(302)
            self.send_header("Location", "http://[::1")
            self.end_headers()
        elif path == "/to-private":
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/secret.png")
            self.end_headers()
        elif path == "/slow.png":
            time.sleep(2)
            self.send_response(200)
            self.end_headers()
        elif path == "/huge.png":
            body = png() + b"\0" * 5000
            self.send_response(200)
            self.send_header("Content-Type", "image/png")  # no Content-Length: streamed and cut off
            self.end_headers()
            self.wfile.write(body)
        elif path == "/page.png":
            body = b"<html>not an image</html>"
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path.startswith("/flaky") and Handler.hits.count(path) == 1 or path == "/down.png":
            self.send_response(503)
            self.end_headers()
        elif path == "/missing.png" or path in Handler.missing:
            self.send_response(404)
            self.end_headers()
        else:
            seed = sum(path.encode()) % 200
            body = png(color=(seed, 100, 50))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")  # the header is not trusted either way
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def server(settings, tmp_path):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.IMAGE_FETCH_READ_TIMEOUT = 0.5
    settings.IMAGE_FETCH_ATTEMPTS = 2
    settings.MEDIA_ROOT = str(tmp_path / "media")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.hits, Handler.trickled, Handler.missing = [], 0, set()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


# --- the fetch rules ------------------------------------------------------------
def test_a_public_image_is_fetched_and_sniffed(server):
    fetched = image_fetch.fetch_image(f"{server}/img/a.png")
    assert fetched.data.startswith(b"\x89PNG")


def test_loopback_is_refused_unless_allowed(server, settings):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = []
    with pytest.raises(image_fetch.FetchError, match="the address is not public") as error:
        image_fetch.fetch_image(f"{server}/img/a.png")
    assert not error.value.retry
    assert Handler.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/x.png",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x.png",
        "http://192.168.0.1/x.png",
    ],
)
def test_private_and_link_local_addresses_are_refused(url, settings):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = []
    with pytest.raises(image_fetch.FetchError, match="the address is not public"):
        image_fetch.fetch_image(url)


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1",  # carrier-grade NAT
        "100.100.100.200",  # a cloud's metadata service, inside carrier-grade NAT
        "192.0.0.1",  # IETF protocol assignments
        "192.0.0.9",
        "192.88.99.1",  # the old 6to4 relay anycast
        "198.18.0.1",  # benchmarking
        "0.1.2.3",
        "224.0.0.1",  # multicast
        "239.1.2.3",
        "240.0.0.1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:100.100.100.200",
        "::10.0.0.1",  # IPv4-compatible (deprecated)
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::808:808",  # local-use NAT64
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:808:808::1",  # 6to4 of a public address: refused all the same
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "fec0::1",  # site-local
        "fd00::1",  # unique local
        "fe80::1%1",  # link-local with a zone
        "ff0e::1",  # multicast
        "2001:db8::1",  # documentation
        "3fff::1",
        "100::1",  # discard
        "5f00::1",  # segment routing
    ],
)
def test_every_address_that_is_not_globally_routable_is_refused(address, settings):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = []
    with pytest.raises(image_fetch.FetchError, match="the address is not public") as error:
        image_fetch.resolve_checked(address, 80)
    assert not error.value.retry


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8"])
def test_globally_routable_addresses_pass(address, settings):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = []
    assert ipaddress.ip_address(image_fetch.resolve_checked(address, 80)) == ipaddress.ip_address(address)


def test_a_redirect_to_a_private_address_is_refused(server):
    with pytest.raises(image_fetch.FetchError, match="the address is not public") as error:
        image_fetch.fetch_image(f"{server}/to-private")
    assert error.value.detail == "10.0.0.1 resolves to 10.0.0.1, not a public address"  # for the log


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/a.png", "{server}/to-malformed"])
def test_a_malformed_url_or_redirect_is_refused_not_a_crash(server, url):
    with pytest.raises(image_fetch.FetchError, match="the address is not valid") as error:
        image_fetch.fetch_image(url.format(server=server))
    assert not error.value.retry


def test_three_redirects_are_followed_four_are_refused(server):
    assert image_fetch.fetch_image(f"{server}/redirect/3").url.endswith("/img/final.png")
    with pytest.raises(image_fetch.FetchError, match="to another address more than 3 times"):
        image_fetch.fetch_image(f"{server}/redirect/4")


def test_oversize_is_refused_while_streaming(server, settings):
    settings.PRODUCT_IMAGE_MAX_BYTES = 1000
    with pytest.raises(image_fetch.FetchError, match="^the file is larger than 1000.bytes$"):
        image_fetch.fetch_image(f"{server}/huge.png")


def test_bytes_that_are_not_an_image_are_refused(server):
    with pytest.raises(image_fetch.FetchError, match="^the file is not an image$"):
        image_fetch.fetch_image(f"{server}/page.png")


def test_a_slow_server_times_out(server):
    with pytest.raises(
        image_fetch.FetchError, match=r"^the server did not answer in time \(nothing for 0\.5 s\)$"
    ) as error:
        image_fetch.fetch_image(f"{server}/slow.png")
    assert error.value.retry


@pytest.mark.parametrize("path", ["/trickle-head.png", "/trickle-body.png"])
def test_the_total_deadline_holds_against_a_server_that_trickles(server, settings, path):
    """One byte every 0.1 s never trips the read timeout, but the whole fetch gets 1 s, not the ~8 s the
    answer takes: the time left is the timeout of every socket read (headers and body alike)."""
    settings.IMAGE_FETCH_TOTAL_TIMEOUT = 1
    with pytest.raises(image_fetch.FetchError, match="^took longer than 1 s$") as error:
        image_fetch.fetch_image(f"{server}{path}")
    assert error.value.retry
    assert Handler.trickled < len(png()) // 2  # cut off long before the answer was complete


def test_other_schemes_are_refused():
    for url in ("file:///etc/passwd", "ftp://example.com/a.png", "gopher://x/"):
        with pytest.raises(image_fetch.FetchError, match="only http and https are fetched"):
            image_fetch.fetch_image(url)


def test_unknown_server_names_and_refused_connections_have_plain_reasons(server, settings, monkeypatch):
    """Issue 20 §3: a failed fetch says why in plain words, never the exception's text (that goes
    to the log as the detail)."""
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(image_fetch.FetchError, match="^the server refused the connection$") as refused:
        image_fetch.fetch_image(f"http://127.0.0.1:{closed_port}/a.png")
    assert refused.value.retry
    assert "Connection refused" in refused.value.detail

    def unknown(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(image_fetch.socket, "getaddrinfo", unknown)
    with pytest.raises(image_fetch.FetchError, match="^the server name could not be found$") as unresolved:
        image_fetch.fetch_image("https://images.shop.invalid/a.png")
    assert unresolved.value.detail == "images.shop.invalid: [Errno -2] Name or service not known"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "the server refused the connection"),
        (
            http.client.RemoteDisconnected("Remote end closed connection"),
            "the server closed the connection before answering",
        ),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "the server's certificate is not valid (https)"),
        (ssl.SSLError(1, "wrong version number"), "the secure (https) connection failed"),
        (http.client.BadStatusLine("junk"), "the server's answer was not valid HTTP"),
        (OSError(113, "No route to host"), "the server could not be reached"),
    ],
)
def test_network_errors_are_said_plainly(error, reason):
    assert image_fetch.network_reason(error) == reason


def test_a_server_that_does_not_accept_in_time(settings, monkeypatch):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]

    def slow_connect(address, timeout):
        raise TimeoutError("timed out")

    monkeypatch.setattr(image_fetch.socket, "create_connection", slow_connect)
    with pytest.raises(image_fetch.FetchError, match="^the server could not be reached within 5 s$"):
        image_fetch.fetch_image("http://127.0.0.1:9/a.png")


def test_the_reasons_stored_for_each_refusal_are_plain(server):
    product = ProductFactory()
    for position, path in enumerate(["/missing.png", "/page.png", "/down.png"]):
        source(product, f"{server}{path}", position=position)
    for pk in ProductImageSource.objects.order_by("position").values_list("pk", flat=True):
        image_fetch.image_source_fetch(source_id=pk, attempt=1)
        image_fetch.image_source_fetch(source_id=pk, attempt=2)  # /down.png's last attempt
    assert list(ProductImageSource.objects.order_by("position").values_list("state", "error")) == [
        ("failed", "the server answered 404 Not Found"),
        ("failed", "the file is not an image"),
        ("failed", "the server answered 503 Service Unavailable"),
    ]


# --- stale claims ---------------------------------------------------------------
class WorkerKilled(BaseException):
    """What a worker killed mid-fetch looks like to the code: nothing after this line runs."""


def source(product, url: str, **fields) -> ProductImageSource:
    return ProductImageSource.objects.create(product=product, url=url, url_hash=url, **fields)


def test_a_fetch_whose_worker_died_is_requeued_then_failed_by_housekeeping(server, settings, monkeypatch):
    """A claimed fetch whose worker died has no task left: re-imports skip it (it was tried), so
    housekeeping requeues it once the claim is older than IMAGE_FETCH_STALE_AFTER, and fails it
    when its attempts are used up. A fresh claim and an unclaimed URL are left to their tasks."""
    settings.IMAGE_FETCH_STALE_AFTER = 3600
    settings.JOB_QUEUED_TIMEOUT = 24 * 3600  # `waiting` is a day short of a lost task
    product = ProductFactory()
    lost = source(product, f"{server}/img/lost.png", position=0)
    ProductImageSource.objects.update(updated_at=timezone.now() - timedelta(days=1))  # listed yesterday

    def killed(url):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(image_fetch, "fetch_image", killed)
        with pytest.raises(WorkerKilled):
            image_fetch.image_source_fetch(source_id=lost.pk, attempt=1)  # claimed now, then killed
    last = source(product, f"{server}/img/last.png", position=1, attempts=2)  # the last attempt's worker died
    waiting = source(product, f"{server}/img/waiting.png", position=2)  # its first task is still queued
    hours_ago = timezone.now() - timedelta(hours=2)
    ProductImageSource.objects.filter(pk__in=[last.pk, waiting.pk]).update(updated_at=hours_ago)

    assert housekeeping()["stale_image_fetches"] == 1  # the claim of `lost` is fresh: only `last`
    assert ProductImageSource.objects.get(pk=lost.pk).state == "pending"
    assert Handler.hits == []
    last.refresh_from_db()
    assert (last.state, last.attempts, last.error) == ("failed", 2, image_fetch.ERROR_LOST)

    assert housekeeping(now=timezone.now() + timedelta(hours=2))["stale_image_fetches"] == 1
    lost.refresh_from_db()
    assert (lost.state, lost.attempts, lost.error) == ("done", 2, "")
    assert Handler.hits == ["/img/lost.png"]
    assert ProductImageSource.objects.get(pk=waiting.pk).state == "pending"
    assert housekeeping(now=timezone.now() + timedelta(hours=4))["stale_image_fetches"] == 0


def test_a_fetch_whose_task_was_lost_before_any_attempt_is_queued_again(server, tmp_path, settings):
    """A Retry (or an import) that met a queue that was down queued nothing: it answers as usual
    and the URL waits, never claimed; housekeeping queues the ones waiting longer than
    JOB_QUEUED_TIMEOUT again (a URL an import listed, b.png, too)."""
    settings.JOB_QUEUED_TIMEOUT = 1800
    Handler.missing = {"/img/later.png"}
    job = run(one_product_file(tmp_path, server, "/img/later.png")).job
    Handler.missing = set()
    source(ProductFactory(), f"{server}/img/b.png")

    running = settings.TASKS
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0", "DEFAULT_TIMEOUT": 60}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}  # Redis down
    assert image_fetch.image_fetches_retry(import_job_id=job.pk) == 1  # no 500 after the commit
    settings.TASKS = running
    later = ProductImageSource.objects.get(import_job=job)
    assert (later.state, later.attempts) == ("pending", 0)
    assert housekeeping()["stale_image_fetches"] == 0  # both wait less than JOB_QUEUED_TIMEOUT

    assert housekeeping(now=timezone.now() + timedelta(minutes=31))["stale_image_fetches"] == 2
    assert sorted(ProductImageSource.objects.values_list("state", flat=True)) == ["done", "done"]
    assert Handler.hits.count("/img/later.png") == 2  # the import's 404, then the requeued fetch


# --- imports ----------------------------------------------------------------------
def native_file(tmp_path, rows: list[dict]) -> Path:
    path = tmp_path / "products.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["sku", "title", "unit_price", "inventory", "collection", "status", "images"]
        )
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(path: Path, **options):
    return product_import(path=path, file_name=path.name, **options)


def test_native_import_fetches_each_url_once_also_across_reimports(server, tmp_path):
    urls = [f"{server}/img/a.png", f"{server}/img/b.png"]
    path = native_file(
        tmp_path,
        [
            {
                "sku": "N-1",
                "title": "One",
                "unit_price": "10",
                "inventory": "1",
                "collection": "C",
                "status": "draft",
                "images": "|".join(urls),
            },
            {
                "sku": "N-2",
                "title": "Two",
                "unit_price": "10",
                "inventory": "1",
                "collection": "C",
                "status": "",
                "images": f"{server}/missing.png",
            },
        ],
    )
    outcome = run(path)
    assert outcome.job.status == "succeeded"  # a failing image never fails the import
    one = Product.objects.get(sku="N-1")
    assert one.status == "draft"
    assert Product.objects.get(sku="N-2").status == "active"
    assert [image.source_url for image in one.images.all()] == urls
    assert all(image.image and image.width == 8 for image in one.images.all())
    failed = ProductImageSource.objects.get(product__sku="N-2")
    assert (failed.state, failed.error, failed.import_job_id) == (
        "failed",
        "the server answered 404 Not Found",
        outcome.job.pk,
    )
    hits = len(Handler.hits)
    run(path)  # the same URLs again: nothing fetched
    assert len(Handler.hits) == hits
    assert ProductImage.objects.count() == 2


def test_invalid_status_is_a_row_error(tmp_path):
    path = native_file(
        tmp_path,
        [
            {
                "sku": "N-1",
                "title": "One",
                "unit_price": "10",
                "inventory": "1",
                "collection": "C",
                "status": "published",
                "images": "",
            }
        ],
    )
    outcome = run(path)
    [error] = outcome.plan.errors
    assert (error.row, error.column, error.value) == (2, "status", "published")
    assert "expected one of draft, active, archived" in error.reason
    assert not Product.objects.exists()


def test_a_row_without_status_keeps_the_existing_status(tmp_path):
    path = native_file(
        tmp_path,
        [
            {
                "sku": "N-1",
                "title": "One",
                "unit_price": "10",
                "inventory": "1",
                "collection": "C",
                "status": "archived",
                "images": "",
            }
        ],
    )
    run(path)
    path = native_file(
        tmp_path,
        [
            {
                "sku": "N-1",
                "title": "One!",
                "unit_price": "10",
                "inventory": "1",
                "collection": "C",
                "status": "",
                "images": "",
            }
        ],
    )
    run(path)
    assert Product.objects.get(sku="N-1").status == "archived"


SHOPIFY_HEADER = (
    "Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Variant SKU,"
    "Variant Inventory Qty,Variant Price,Image Src,Image Position,Image Alt Text,Variant Image,Status"
)


def shopify_file(tmp_path, base: str) -> Path:
    rows = [
        f"hoodie,Hoodie,<p>Warm</p>,Acme,Hoodies,warm,TRUE,Size,S,HD-S,5,40.00,{base}/hoodie-front.png,1,Front,{base}/hoodie-s.png,active",
        f"hoodie,,,,,,,,M,HD-M,3,40.00,{base}/hoodie-back.png,2,Back,,",
        f"hoodie,,,,,,,,L,HD-L,0,42.00,,,,{base}/hoodie-l.png,",
        f"hoodie,,,,,,,,,,,,{base}/hoodie-side.png,3,Side,,",
        f"cap,Cap,<p>Cap</p>,Acme,Hats,,TRUE,Title,Default Title,CAP-1,9,15.00,{base}/cap.png,1,Cap,,draft",
        f"cap,,,,,,,,,,,,{base}/cap-2.png,2,,,",
        "old-mug,Old mug,,Acme,Mugs,,FALSE,Title,Default Title,MUG-1,0,9.00,,,,,archived",
    ]
    path = tmp_path / "shopify_products.csv"
    path.write_text(SHOPIFY_HEADER + "\n" + "\n".join(rows) + "\n")
    return path


def test_shopify_export_with_variants_and_image_only_rows(server, tmp_path):
    outcome = run(shopify_file(tmp_path, server))
    assert outcome.job.status == "succeeded", outcome.plan.errors
    # the Handle with a real option (Size) is one product with variants; its status is the product's
    assert {p.sku: p.status for p in Product.objects.all()} == {
        "hoodie": "active",
        "HD-S": None,
        "HD-M": None,
        "HD-L": None,
        "CAP-1": "draft",
        "MUG-1": "archived",
    }

    def names(sku):
        return [
            (i.source_url.rsplit("/", 1)[1], i.alt_text)
            for i in ProductImage.objects.filter(product__sku=sku).order_by("position")
        ]

    # the product's images once, in Image Position order, then the variants' own images
    assert names("hoodie") == [
        ("hoodie-front.png", "Front"),
        ("hoodie-back.png", "Back"),
        ("hoodie-side.png", "Side"),
        ("hoodie-s.png", ""),
        ("hoodie-l.png", ""),
    ]
    variant_images = {
        p.sku: p.variant_image.source_url.rsplit("/", 1)[1] if p.variant_image else None
        for p in Product.objects.filter(structure="variant").select_related("variant_image")
    }
    assert variant_images == {"HD-S": "hoodie-s.png", "HD-M": None, "HD-L": "hoodie-l.png"}
    assert names("CAP-1") == [("cap.png", "Cap"), ("cap-2.png", "")]
    total = ProductImage.objects.count()
    logger.info("shopify fixture: %d images", total)
    assert total == 5 + 2  # was 4 + 3 + 4 + 2: every variant had a copy of the product's images


@pytest.mark.skipif(not REALWORLD.exists(), reason="the real WooCommerce sample is not on this machine")
def test_real_woocommerce_sample_imports_with_its_images(server, tmp_path):
    text = REALWORLD.read_text(encoding="utf-8-sig")
    text = re.sub(
        r"https?://[^,\"\s]+?\.(?:jpe?g|png|gif|webp)",
        lambda match: f"{server}/img/{match.group(0).rsplit('/', 1)[1]}",
        text,
    )
    path = tmp_path / "woocommerce_sample_products.csv"
    path.write_text(text, encoding="utf-8")
    outcome = run(path, skip_invalid=True)
    assert outcome.job.status in ("succeeded", "partial")
    # the variations' images are their products' (fetched once); each variant points to its own
    sources = ProductImageSource.objects.exclude(product__structure="variant").count()
    fetched = ProductImage.objects.count()
    logger.info("woocommerce sample: %d image URLs, %d images fetched", sources, fetched)
    assert sources
    assert fetched == sources
    assert not ProductImageSource.objects.exclude(state="done").exists()
    variants = Product.objects.filter(structure="variant")
    assert variants.count() == 9
    assert not variants.filter(variant_image__isnull=True).exists()
    assert all(variant.variant_image.product_id == variant.parent_id for variant in variants)


def test_the_import_job_page_lists_failing_image_urls(server, tmp_path, admin_client, django_assert_max_num_queries):
    path = native_file(
        tmp_path,
        [
            {
                "sku": "N-1",
                "title": "One",
                "unit_price": "10",
                "inventory": "1",
                "collection": "C",
                "status": "",
                "images": f"{server}/img/a.png|{server}/page.png|{server}/missing.png",
            },
        ],
    )
    job = run(path).job
    url = reverse("admin:store_importjob_change", args=[job.pk])
    with django_assert_max_num_queries(12):
        response = admin_client.get(url)
    page = response.content.decode()
    assert "3 image URLs: 1 fetched, 0 waiting, 2 failed." in page
    assert f"{server}/missing.png" in page
    assert "the server answered 404 Not Found" in page
    assert "the file is not an image" in page


def test_reverting_an_import_removes_the_images_it_fetched(server, tmp_path):
    path = native_file(
        tmp_path,
        [
            {
                "sku": "N-1",
                "title": "One",
                "unit_price": "10",
                "inventory": "1",
                "collection": "C",
                "status": "",
                "images": f"{server}/img/a.png",
            }
        ],
    )
    job = run(path).job
    stored = ProductImage.objects.get().image.name
    reverting.import_revert(job=job)
    assert not Product.objects.exists()
    assert not ProductImage.objects.exists()
    assert not ProductImageSource.objects.exists()
    assert not default_storage.exists(stored)


def test_catalog_clear_removes_image_sources(server, tmp_path):
    run(
        native_file(
            tmp_path,
            [
                {
                    "sku": "N-1",
                    "title": "One",
                    "unit_price": "10",
                    "inventory": "1",
                    "collection": "C",
                    "status": "",
                    "images": f"{server}/missing.png",
                }
            ],
        )
    )
    catalog_clear()
    assert not ProductImageSource.objects.exists()
    assert not Product.objects.exists()


def test_history_rows_show_the_status_the_import_set(tmp_path):
    run(
        native_file(
            tmp_path,
            [
                {
                    "sku": "N-1",
                    "title": "One",
                    "unit_price": "10",
                    "inventory": "1",
                    "collection": "C",
                    "status": "draft",
                    "images": "",
                }
            ],
        )
    )
    run(
        native_file(
            tmp_path,
            [
                {
                    "sku": "N-1",
                    "title": "One",
                    "unit_price": "10",
                    "inventory": "1",
                    "collection": "C",
                    "status": "archived",
                    "images": "",
                }
            ],
        )
    )
    product = Product.objects.get(sku="N-1")
    assert [row.status for row in product.history.order_by("history_id")] == ["draft", "archived"]


def test_transient_failures_are_retried_then_listed(server, tmp_path):
    path = native_file(
        tmp_path,
        [
            {
                "sku": "N-1",
                "title": "One",
                "unit_price": "10",
                "inventory": "1",
                "collection": "C",
                "status": "",
                "images": f"{server}/flaky.png|{server}/down.png",
            }
        ],
    )
    run(path)
    flaky, down = ProductImageSource.objects.order_by("position")
    assert (flaky.state, flaky.attempts, flaky.error) == ("done", 2, "")  # the error of attempt 1 is cleared
    assert (down.state, down.attempts, down.error) == ("failed", 2, "the server answered 503 Service Unavailable")
    assert Handler.hits.count("/down.png") == 2  # IMAGE_FETCH_ATTEMPTS
    assert ProductImage.objects.get().source_url.endswith("/flaky.png")


def test_preview_then_confirm_keeps_urls_and_alt_texts(server, tmp_path, admin_user):
    path = shopify_file(tmp_path, server)
    preview = product_import_preview(path=path, file_name=path.name, user=admin_user)
    assert "7 image URL(s) will be fetched in the background after the import" in preview.plan.notes  # once each
    assert not ProductImageSource.objects.exists()  # nothing stored before the confirmation
    outcome = product_import_confirm(job=preview.job, user=admin_user)
    assert outcome.job.status == "succeeded"
    assert ProductImage.objects.get(product__sku="CAP-1", position=0).alt_text == "Cap"


# --- Retry from the import job's page, and the product page's note ---------------------------
@pytest.fixture
def importers(db) -> dict[str, tuple[User, Client]]:
    """Two users of the Importer role, each with a client that enforces CSRF."""
    role_sync_all()
    found = {}
    for name in ("ann", "bob"):
        user = User.objects.create_user(name, password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=IMPORTER))
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        found[name] = user, client
    return found


def one_product_file(tmp_path, server, *paths: str, sku: str = "N-1") -> Path:
    row = {"sku": sku, "title": "One", "unit_price": "10", "inventory": "1", "collection": "C", "status": ""}
    return native_file(tmp_path, [{**row, "images": "|".join(f"{server}{path}" for path in paths)}])


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_retry_fetches_the_failed_images_of_that_import_again(server, tmp_path, importers):
    """Issue 20 §3: the import job's page has Retry for its failed image fetches: a POST (CSRF,
    the importer's own import) that requeues only that import's failed URLs and says how many."""
    ann, client = importers["ann"]
    bob, bob_client = importers["bob"]
    Handler.missing = {"/img/later.png"}  # down now, back before the Retry
    job = run(one_product_file(tmp_path, server, "/img/a.png", "/img/later.png", "/missing.png"), user=ann).job
    other = run(one_product_file(tmp_path, server, "/img/other.png", sku="N-2"), user=ann).job
    ProductImageSource.objects.filter(import_job=other).update(
        state="failed", error="the server refused the connection"
    )
    page_url = reverse("admin:store_importjob_change", args=[job.pk])
    retry_url = reverse("admin:store_importjob_retry_images", args=[job.pk])

    page = client.get(page_url).content.decode()
    assert "3 image URLs: 1 fetched, 0 waiting, 2 failed." in page
    assert (
        f'<button type="submit" formaction="{retry_url}" name="_retry_images" id="image-retry" '
        'class="button">Retry the 2 failed images</button>'
    ) in page
    assert client.get(retry_url).status_code == 405  # POST only
    assert client.post(retry_url).status_code == 403  # no CSRF token
    bob_page = bob_client.get(reverse("admin:store_importjob_change", args=[other.pk]))
    assert bob_page.status_code == 302  # not his import: the admin's "does not exist" redirect
    assert bob_client.post(retry_url, {"csrfmiddlewaretoken": csrf_token(page)}).status_code == 403  # his token
    Handler.missing = set()
    hits = len(Handler.hits)

    response = client.post(retry_url, {"csrfmiddlewaretoken": csrf_token(page)}, follow=True)
    assert response.redirect_chain == [(f"{page_url}#images", 302)]
    assert f"2 images of import #{job.pk} will be fetched again." in response.content.decode()
    assert sorted(Handler.hits[hits:]) == ["/img/later.png", "/missing.png"]
    states = dict(ProductImageSource.objects.values_list("url", "state"))
    assert states == {
        f"{server}/img/a.png": "done",
        f"{server}/img/later.png": "done",
        f"{server}/missing.png": "failed",
        f"{server}/img/other.png": "failed",  # another import's: left alone
    }
    assert ProductImageSource.objects.get(url__endswith="/missing.png").attempts == 1  # a fresh set of attempts
    assert "Retry the 1 failed image<" in response.content.decode()


def test_retry_refused_to_others_and_to_those_who_may_not_import(server, tmp_path, importers, django_user_model):
    ann, _client = importers["ann"]
    bob, bob_client = importers["bob"]
    job = run(one_product_file(tmp_path, server, "/missing.png"), user=ann).job
    retry_url = reverse("admin:store_importjob_retry_images", args=[job.pk])
    token = csrf_token(bob_client.get(reverse("admin:store_product_changelist")).content.decode())
    assert bob_client.post(retry_url, {"csrfmiddlewaretoken": token}).status_code == 404  # not his import
    viewer = django_user_model.objects.create_user("vic", password="x", is_staff=True, is_superuser=False)
    viewer.groups.add(Group.objects.get(name=VIEWER))
    viewer_client = Client()
    viewer_client.force_login(viewer)
    assert viewer_client.post(retry_url).status_code == 404
    assert ProductImageSource.objects.get().state == "failed"


def test_the_product_page_notes_images_pending_or_failed(server, tmp_path, importers):
    """Issue 20 §3: "2 images from import #12 are still being fetched", "1 image could not be
    fetched: the server name could not be found. Retry from import #12", read in one query."""
    ann, client = importers["ann"]
    product = ProductFactory(sku="N-1")
    change_url = reverse("admin:store_product_change", args=[product.pk])
    client.get(change_url)  # warm: the session, the permissions
    with CaptureQueriesContext(connection) as plain:
        assert "image-fetch-notes" not in client.get(change_url).content.decode()

    first = run(one_product_file(tmp_path, server, "/img/a.png"), user=ann).job
    second = run(one_product_file(tmp_path, server, "/img/b.png", "/img/c.png", "/img/d.png"), user=ann).job
    sources = ProductImageSource.objects.filter(import_job=second).order_by("position")
    ProductImageSource.objects.filter(pk__in=[source.pk for source in sources[:2]]).update(state="pending")
    ProductImageSource.objects.filter(pk=sources[2].pk).update(state="failed", error=image_fetch.ERROR_RESOLVE)
    ProductImageSource.objects.filter(import_job=first).update(state="failed", error=image_fetch.ERROR_REFUSED)
    for n in range(5):  # more URLs and imports: the same queries
        more = run(one_product_file(tmp_path, server, f"/img/m{n}.png"), user=ann).job
        ProductImageSource.objects.filter(import_job=more).update(state="pending")
    product.refresh_from_db()

    client.get(change_url)
    with CaptureQueriesContext(connection) as noted:
        page = client.get(change_url).content.decode()
    assert len(noted) == len(plain)  # one grouped query, run on every product page, with or without notes
    second_url = reverse("admin:store_importjob_change", args=[second.pk])
    first_url = reverse("admin:store_importjob_change", args=[first.pk])
    assert (
        f'<li class="image-fetch-pending">2 images from <a href="{second_url}#images">import #{second.pk}</a> '
        "are still being fetched.</li>"
    ) in page
    assert (
        '<li class="image-fetch-failed">1 image could not be fetched: the server name could not be found. '
        f'Retry from <a href="{second_url}#images">import #{second.pk}</a>.</li>'
    ) in page
    assert (
        '<li class="image-fetch-failed">1 image could not be fetched: the server refused the connection. '
        f'Retry from <a href="{first_url}#images">import #{first.pk}</a>.</li>'
    ) in page

    bob, bob_client = importers["bob"]  # not his imports: the same notes, no links
    bob_page = bob_client.get(change_url).content.decode()
    assert f"2 images from import #{second.pk} are still being fetched." in bob_page
    assert second_url not in bob_page
