"""HTTP behaviour shared by every catalog endpoint: read-only, ETags, access, throttling, junk."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from store.models import Product
from store.tests.factories import CollectionFactory, ProductFactory

pytestmark = pytest.mark.django_db

LISTS = ["/api/products/", "/api/products/sync/", "/api/collections/", "/api/tags/"]


@pytest.fixture
def catalog():
    collection = CollectionFactory()
    return ProductFactory.create_batch(3, collection=collection)


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")


def clients(superuser) -> dict[str, APIClient]:
    anonymous = APIClient(enforce_csrf_checks=True)
    session = APIClient(enforce_csrf_checks=True)  # like a browser: CSRF is enforced
    session.force_login(superuser)
    token = APIClient(enforce_csrf_checks=True)
    token.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=superuser).key}")
    return {"anonymous": anonymous, "superuser session": session, "superuser token": token}


class TestReadOnly:
    @pytest.mark.parametrize("require_auth", [False, True])
    @pytest.mark.parametrize("verb", ["post", "put", "patch", "delete"])
    def test_every_write_verb_is_405_for_every_role(self, settings, catalog, superuser, verb, require_auth):
        settings.CATALOG_API_REQUIRE_AUTH = require_auth
        product = catalog[0]
        urls = [
            *LISTS,
            f"/api/products/{product.pk}/",
            f"/api/products/by-slug/{product.slug}/",
            f"/api/collections/{product.collection_id}/",
        ]
        for role, client in clients(superuser).items():
            for url in urls:
                response = getattr(client, verb)(url, {"title": "hacked"}, format="json")
                assert response.status_code == 405, (role, url, response.content)
                assert response.json() == {"detail": f'Method "{verb.upper()}" not allowed.'}
        assert not Product.objects.filter(title="hacked").exists()
        assert Product.objects.count() == 3

    def test_options_and_head_are_allowed(self, api, catalog):
        assert api.options("/api/products/").status_code == 200
        assert api.head("/api/products/").status_code == 200
        assert "GET" in api.options("/api/products/")["Allow"]
        assert "POST" not in api.options("/api/products/")["Allow"]


class TestConditionalGet:
    @pytest.mark.parametrize("url", ["/api/products/", "/api/products/sync/", "/api/collections/", "/api/tags/"])
    def test_matching_if_none_match_is_304_without_body(self, api, catalog, url):
        first = api.get(url)
        assert first.status_code == 200
        etag = first["ETag"]
        assert etag.startswith('"')
        assert etag.endswith('"')
        again = api.get(url, HTTP_IF_NONE_MATCH=etag)
        assert again.status_code == 304
        assert again.content == b""
        assert again["ETag"] == etag
        assert api.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200

    def test_detail_etag(self, api, catalog):
        url = f"/api/products/{catalog[0].pk}/"
        etag = api.get(url)["ETag"]
        assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        catalog[0].inventory += 1
        catalog[0].save()
        changed = api.get(url, HTTP_IF_NONE_MATCH=etag)
        assert changed.status_code == 200
        assert changed["ETag"] != etag

    def test_list_etag_follows_the_page_and_nothing_else(self, api, catalog):
        """The tag is the body's: a change off the page leaves it (the page is the same),
        one on the page changes it (test_unpublished: drafts move no tag)."""
        url = "/api/products/?page_size=1"
        etag = api.get(url)["ETag"]
        on_page, off_page = Product.objects.order_by("title", "id")[0], Product.objects.order_by("title", "id")[2]
        off_page.inventory += 1
        off_page.save()
        assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
        on_page.inventory += 1
        on_page.save()
        assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200

    def test_list_etag_changes_when_a_product_is_deleted(self, api, catalog):
        url = "/api/products/?page_size=1"
        etag = api.get(url)["ETag"]
        Product.objects.order_by("title", "id").last().delete()
        assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200

    def test_list_etag_changes_when_a_collection_is_renamed(self, api, catalog):
        etag = api.get("/api/products/")["ETag"]
        collection = catalog[0].collection
        collection.title = "Renamed"
        collection.save()
        response = api.get("/api/products/", HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 200
        assert response.json()["results"][0]["collection"]["title"] == "Renamed"

    def test_errors_carry_no_etag(self, api):
        assert "ETag" not in api.get("/api/products/?unit_price__gt=abc")
        assert "ETag" not in api.get("/api/products/999/")


class TestAccess:
    def test_anonymous_reads_by_default(self, api, catalog):
        assert api.get("/api/products/").status_code == 200

    def test_require_auth_setting_turns_anonymous_away(self, api, settings, catalog):
        settings.CATALOG_API_REQUIRE_AUTH = True
        for url in [*LISTS, f"/api/products/{catalog[0].pk}/"]:
            response = api.get(url)
            assert response.status_code == 401, url
            assert response["WWW-Authenticate"] == "Token"
            assert response.json() == {"detail": "Authentication credentials were not provided."}

    def test_require_auth_accepts_session_and_token(self, settings, catalog, superuser):
        settings.CATALOG_API_REQUIRE_AUTH = True
        for role, client in clients(superuser).items():
            if role != "anonymous":
                assert client.get("/api/products/").status_code == 200, role

    def test_a_bad_token_is_401(self, api, catalog):
        api.credentials(HTTP_AUTHORIZATION="Token nope")
        assert api.get("/api/products/").status_code == 401


class TestThrottling:
    def test_anonymous_clients_get_429_with_retry_after(self, api, settings, catalog):
        settings.CATALOG_API_ANON_RATE = "3/minute"
        assert [api.get("/api/products/").status_code for _ in range(3)] == [200, 200, 200]
        throttled = api.get("/api/collections/")
        assert throttled.status_code == 429
        assert 0 < int(throttled["Retry-After"]) <= 60
        assert throttled.json()["detail"].startswith("Request was throttled.")

    def test_a_forged_x_forwarded_for_does_not_bypass_the_limit(self, settings, catalog):
        settings.CATALOG_API_ANON_RATE = "3/minute"
        client = APIClient(REMOTE_ADDR="198.51.100.1")
        statuses = [client.get("/api/products/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(4)]
        assert statuses == [200, 200, 200, 429]

    def test_a_forged_x_forwarded_for_does_not_spend_another_clients_quota(self, settings, catalog):
        settings.CATALOG_API_ANON_RATE = "3/minute"
        attacker = APIClient(REMOTE_ADDR="198.51.100.1")
        for _ in range(4):
            attacker.get("/api/products/", HTTP_X_FORWARDED_FOR="198.51.100.2")
        assert APIClient(REMOTE_ADDR="198.51.100.2").get("/api/products/").status_code == 200

    def test_behind_one_trusted_proxy_the_hop_the_proxy_saw_is_throttled(self, settings, catalog):
        settings.CATALOG_API_ANON_RATE = "3/minute"
        settings.TRUSTED_PROXY_COUNT = 1
        proxy = APIClient(REMOTE_ADDR="10.0.0.1")
        # The left entries are the client's own (forgeable) claims; the proxy appended the last.
        statuses = [
            proxy.get("/api/products/", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.7").status_code for n in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        other = proxy.get("/api/products/", HTTP_X_FORWARDED_FOR="203.0.113.7, 203.0.113.8")
        assert other.status_code == 200

    def test_authenticated_clients_are_not_anonymous_throttled(self, settings, catalog, superuser):
        settings.CATALOG_API_ANON_RATE = "1/minute"
        client = clients(superuser)["superuser token"]
        assert {client.get("/api/products/").status_code for _ in range(3)} == {200}


class TestDocs:
    def test_openapi_schema(self, api):
        response = api.get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"].startswith("3.")
        paths = schema["paths"]
        for path in [
            "/api/products/",
            "/api/products/{id}/",
            "/api/products/by-slug/{slug}/",
            "/api/products/sync/",
            "/api/collections/",
            "/api/collections/{id}/",
            "/api/tags/",
            "/api/tags/{id}/",
        ]:
            assert set(paths[path]) == {"get"}, path
        parameters = {p["name"] for p in paths["/api/products/"]["get"]["parameters"]}
        assert {
            "collection_id",
            "unit_price__gt",
            "unit_price__lt",
            "in_stock",
            "tag",
            "updated_since",
            "search",
            "ordering",
            "page",
            "page_size",
        } <= parameters
        product = schema["components"]["schemas"]["Product"]["properties"]
        assert product["tags"] == {
            "type": "array",
            "items": {"type": "string"},
            "readOnly": True,
            "description": "Labels of the product's tags, sorted.",
        }
        components = schema["components"]["schemas"]
        assert product["images"]["type"] == "array"
        assert product["images"]["items"] == {"$ref": "#/components/schemas/ProductImage"}
        image = components["ProductImage"]
        assert set(image["properties"]) == {"url", "alt", "width", "height", "thumbnail_url"}
        assert image["properties"]["thumbnail_url"]["nullable"] is True
        assert "images" in components["Product"]["required"]
        # The sync feed: status and removed on every item; tombstones carry only these.
        sync = components["ProductSync"]
        assert sync["properties"]["status"]["allOf"] == [{"$ref": "#/components/schemas/ProductStatusEnum"}]
        assert components["ProductStatusEnum"]["enum"] == ["draft", "active", "archived"]
        assert sync["properties"]["removed"]["type"] == "boolean"
        assert set(sync["required"]) == {"id", "sku", "slug", "status", "removed", "last_update"}

    def test_swagger_ui_uses_local_static_files(self, api):
        response = api.get("/api/docs/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
        assert "cdn" not in html.lower()

    def test_browsable_api_is_on(self, api, catalog):
        response = api.get("/api/products/", HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")


JUNK = [
    "",
    "x",
    "-1",
    "0",
    "1.5",
    "9" * 40,
    "1e999",
    "NaN",
    "-Infinity",
    "\x00",
    "%",
    "'",
    '"',
    "\\",
    "☃",
    "𝔘",
    "2026-13-45T99:99:99",
    "true,false",
    "[]",
    "{}",
    "a" * 5000,
    "title,,-,--unit_price",
]
PARAMS = [
    "page",
    "page_size",
    "search",
    "ordering",
    "cursor",
    "collection_id",
    "unit_price__gt",
    "unit_price__lt",
    "in_stock",
    "tag",
    "updated_since",
    "format",
    "unknown",
]


@pytest.mark.parametrize("url", LISTS)
def test_junk_query_strings_never_give_a_500(api, catalog, url):
    for name in PARAMS:
        for value in JUNK:
            response = api.get(url, {name: value})
            assert response.status_code < 500, (name, value, response.status_code)
            assert response.status_code in (200, 400, 404), (name, value, response.status_code)


@pytest.mark.parametrize("pk", ["0", "abc", "9" * 30, "-1", "1.0", "%00"])
def test_junk_ids_are_404(api, catalog, pk):
    for url in [f"/api/products/{pk}/", f"/api/collections/{pk}/", f"/api/tags/{pk}/", f"/api/products/by-slug/{pk}/"]:
        assert api.get(url).status_code == 404, url


class TestListCache:
    """CATALOG_API_CACHE_SECONDS: the micro-cache of rendered JSON product lists."""

    @pytest.fixture(autouse=True)
    def _cache_on(self, settings):
        settings.CATALOG_API_CACHE_SECONDS = 60

    def test_a_repeated_list_costs_one_query_and_is_identical(self, api, catalog, django_assert_num_queries):
        first = api.get("/api/products/", {"ordering": "-unit_price", "page_size": 2})
        with django_assert_num_queries(1):  # the catalog version only
            again = api.get("/api/products/", {"page_size": 2, "ordering": "-unit_price"})
        assert again.status_code == 200
        assert again.content == first.content
        assert again["ETag"] == first["ETag"]
        assert again["Content-Type"] == "application/json"
        assert (
            api.get(
                "/api/products/", {"page_size": 2, "ordering": "-unit_price"}, HTTP_IF_NONE_MATCH=first["ETag"]
            ).status_code
            == 304
        )

    def test_saving_any_product_invalidates_at_once(self, api, catalog):
        api.get("/api/products/")
        product = catalog[0]
        product.title = "Fresh title"
        product.save()
        titles = [row["title"] for row in api.get("/api/products/").json()["results"]]
        assert "Fresh title" in titles

    def test_a_delete_shows_within_the_ttl_only(self, api, catalog, settings):
        assert api.get("/api/products/").json()["count"] == 3
        Product.objects.order_by("pk").first().delete()
        assert api.get("/api/products/").json()["count"] == 3  # documented staleness
        settings.CATALOG_API_CACHE_SECONDS = 0
        assert api.get("/api/products/").json()["count"] == 2

    def test_collections_are_cached_and_a_product_save_invalidates_them(self, api, catalog):
        first = api.get("/api/collections/")
        with CaptureQueriesContext(connection) as queries:
            again = api.get("/api/collections/")
        assert len(queries) == 1  # the catalog version only, not the counts
        assert again.content == first.content
        assert again["ETag"] == first["ETag"]
        assert api.get("/api/collections/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
        assert first.json()["results"][0]["products_count"] == 3
        catalog[0].status = Product.Status.DRAFT
        catalog[0].save()
        assert api.get("/api/collections/").json()["results"][0]["products_count"] == 2

    def test_browsable_api_and_errors_are_not_cached(self, api, catalog):
        api.get("/api/products/", HTTP_ACCEPT="text/html")
        with CaptureQueriesContext(connection) as queries:
            api.get("/api/products/", HTTP_ACCEPT="text/html")
        assert len(queries) >= 3
        assert api.get("/api/products/?in_stock=x").status_code == 400
        assert api.get("/api/products/?in_stock=x").status_code == 400


def counts_in(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]


class TestKeptCount:
    """The exact count of a list is kept between requests (CountKeptPaginator): pages and orders
    of the same rows share it; a filter has its own; a save moves it at once."""

    @pytest.fixture(autouse=True)
    def _cache_on(self, settings):
        settings.CATALOG_API_CACHE_SECONDS = 60

    def test_every_page_and_order_of_a_list_counts_once(self, api, catalog):
        ProductFactory.create_batch(4, collection=catalog[0].collection)
        with CaptureQueriesContext(connection) as first:
            assert api.get("/api/products/", {"page_size": 2}).json()["count"] == 7
        assert len(counts_in(first)) == 1
        for params in [{"page_size": 2, "page": 2}, {"page_size": 3, "ordering": "-unit_price"}, {"page": 1}]:
            with CaptureQueriesContext(connection) as queries:
                assert api.get("/api/products/", params).json()["count"] == 7, params
            assert counts_in(queries) == [], params

    def test_a_filter_or_a_search_counts_its_own_rows(self, api, catalog):
        catalog[0].inventory, catalog[0].track_inventory = 0, True
        catalog[0].save()
        assert api.get("/api/products/").json()["count"] == 3
        assert api.get("/api/products/", {"in_stock": "true"}).json()["count"] == 2
        assert api.get("/api/products/", {"in_stock": "false"}).json()["count"] == 1
        assert api.get("/api/products/", {"search": catalog[1].title}).json()["count"] >= 1
        assert api.get("/api/products/", {"search": "zzqxnothing"}).json()["count"] == 0
        assert api.get("/api/products/", {"page": 2, "page_size": 1}).json()["count"] == 3

    def test_a_product_saved_or_added_moves_the_count_at_once(self, api, catalog):
        assert api.get("/api/products/", {"page_size": 1}).json()["count"] == 3
        ProductFactory(collection=catalog[0].collection)
        assert api.get("/api/products/", {"page_size": 1, "page": 2}).json()["count"] == 4
        catalog[0].status = Product.Status.DRAFT
        catalog[0].save()
        assert api.get("/api/products/", {"page_size": 1, "page": 3}).json()["count"] == 3

    def test_without_the_micro_cache_every_request_counts(self, api, catalog, settings):
        settings.CATALOG_API_CACHE_SECONDS = 0
        for page in (1, 2):
            with CaptureQueriesContext(connection) as queries:
                assert api.get("/api/products/", {"page_size": 2, "page": page}).json()["count"] == 3
            assert len(counts_in(queries)) == 1


class TestListCacheKeysOnTheMediaType:
    """Issue 19, item 11: one cached body per negotiated media type, not one for all."""

    @pytest.fixture(autouse=True)
    def _cache_on(self, settings):
        settings.CATALOG_API_CACHE_SECONDS = 60

    @pytest.mark.parametrize("url", ["/api/products/", "/api/collections/"])
    def test_an_indented_answer_is_not_served_to_a_plain_client_nor_the_reverse(self, api, catalog, url):
        indented = api.get(url, HTTP_ACCEPT="application/json; indent=4")
        assert indented.content.startswith(b'{\n    "count"')
        plain = api.get(url, HTTP_ACCEPT="application/json")
        assert plain.content.startswith(b'{"count"')
        assert plain["ETag"] != indented["ETag"]
        # Each is cached: asked again, each gets its own body back.
        assert api.get(url, HTTP_ACCEPT="application/json; indent=4").content == indented.content
        assert api.get(url, HTTP_ACCEPT="application/json").content == plain.content
        assert api.get(url).content == plain.content

    def test_a_cached_answer_says_what_was_negotiated(self, api, catalog):
        first = api.get("/api/products/", HTTP_ACCEPT="application/json; indent=2")
        again = api.get("/api/products/", HTTP_ACCEPT="application/json; indent=2")
        assert again.content == first.content
        assert again["Content-Type"] == first["Content-Type"]
        assert again["Vary"] == first["Vary"]
