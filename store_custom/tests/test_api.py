"""Tags in the catalog API: contributed by store_custom through store.api's hooks."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework import generics
from rest_framework.test import APIClient, APIRequestFactory

from store import extensions, selectors, services
from store.api.serializers import ProductSerializer
from store.models import Collection, Product
from store.tests.api.test_orderings_walked import ORDERINGS, catalog, every_page, plainly_sorted, served
from store.tests.factories import CollectionFactory, ProductFactory, PromotionFactory, product_image
from store_custom.extension import TAGS
from tags.models import TaggedItem
from tags.tests.factories import TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    cache.clear()
    return APIClient()


def tag(obj, *labels: str) -> None:
    for label in labels:
        TaggedItem.objects.create(tag=TagFactory.create(label=label), content_object=obj)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_product_tags_are_sorted_labels(api):
    product = ProductFactory()
    tag(product, "sale", "eco", "new")
    tag(ProductFactory(), "other")
    assert api.get(f"/api/products/{product.pk}/").json()["tags"] == ["eco", "new", "sale"]
    assert api.get(f"/api/products/by-slug/{product.slug}/").json()["tags"] == ["eco", "new", "sale"]
    listed = {row["id"]: row["tags"] for row in api.get("/api/products/").json()["results"]}
    assert listed[product.pk] == ["eco", "new", "sale"]


def test_tag_filter_is_case_insensitive_and_only_matches_products(api):
    wanted = ProductFactory()
    tag(wanted, "Sale")
    ProductFactory()
    collection = CollectionFactory()
    # A collection tagged "sale" whose id equals a product's must not leak in.
    tag(Collection.objects.get(pk=collection.pk), "sale")
    assert ids(api.get("/api/products/", {"tag": "sale"})) == [wanted.pk]
    assert ids(api.get("/api/products/", {"tag": "SALE"})) == [wanted.pk]
    assert ids(api.get("/api/products/", {"tag": "nope"})) == []
    assert ids(api.get("/api/products/sync/", {"tag": "sale"})) == [wanted.pk]


def test_tag_filter_rejects_over_long_labels(api):
    response = api.get("/api/products/", {"tag": "x" * 101})
    assert response.status_code == 400
    assert response.json() == {"tag": ["Ensure this value has at most 100 characters (it has 101)."]}


def test_tags_endpoint_exact_json_counts_tagged_products_only(api):
    product_a, product_b, product_c = ProductFactory(), ProductFactory(), ProductFactory()
    tag(product_a, "sale")
    tag(product_b, "sale")
    tag(product_c, "eco")
    tag(Collection.objects.get(pk=product_a.collection_id), "sale")
    # Carried by no product (a collection's tag, or none at all): not a tag of the catalog.
    TagFactory(label="unused")
    tag(Collection.objects.get(pk=product_a.collection_id), "collections-only")
    sale, eco = TagFactory(label="sale"), TagFactory(label="eco")

    assert api.get("/api/tags/").json()["results"] == [
        {"id": eco.pk, "label": "eco", "products_count": 1},
        {"id": sale.pk, "label": "sale", "products_count": 2},
    ]
    assert api.get(f"/api/tags/{sale.pk}/").json() == {"id": sale.pk, "label": "sale", "products_count": 2}
    assert [row["label"] for row in api.get("/api/tags/", {"search": "ec"}).json()["results"]] == ["eco"]
    assert [row["label"] for row in api.get("/api/tags/", {"ordering": "-products_count"}).json()["results"]] == [
        "sale",
        "eco",
    ]


def test_deleting_a_product_drops_its_tags(api):
    product = ProductFactory()
    tag(product, "sale")
    assert api.get("/api/tags/").json()["count"] == 1
    product.delete()
    assert not TaggedItem.objects.exists()
    assert api.get("/api/tags/").json()["results"] == []


def test_list_etag_changes_when_a_tag_is_added(api):
    product = ProductFactory()
    etag = api.get("/api/products/")["ETag"]
    assert api.get("/api/products/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    tag(product, "sale")
    assert api.get("/api/products/", HTTP_IF_NONE_MATCH=etag).status_code == 200


class TestQueryBudget:
    """count + page (collection title by subquery) + images + tags (the micro-cache, off in
    the tests, adds the catalog's latest-update lookup to a list)."""

    @pytest.fixture
    def catalog(self):
        collections = CollectionFactory.create_batch(5)
        products = [ProductFactory(collection=collections[i % 5]) for i in range(120)]
        for i, product in enumerate(products):
            tag(product, f"tag-{i % 7}", f"tag-{i % 3 + 10}")
        return products

    @pytest.mark.parametrize("page_size", [10, 100])
    def test_product_list(self, api, catalog, django_assert_max_num_queries, page_size):
        with django_assert_max_num_queries(4):
            response = api.get("/api/products/", {"page_size": page_size})
        rows = response.json()["results"]
        assert len(rows) == page_size
        assert all(len(row["tags"]) == 2 and row["collection"]["title"] for row in rows)

    @pytest.mark.parametrize("page_size", [10, 100])
    def test_filtered_product_list(self, api, catalog, django_assert_max_num_queries, page_size):
        # 5: ordering by price first asks whether the catalog has any variant (one index lookup;
        # docs/guide/api.md, query budget): without, the price index serves the order as before.
        # 6: the stock filter's 40 products, few, ask whether they are few among the 120 it chose
        # from (one index read; they are not: the walk finds a page soon).
        with django_assert_max_num_queries(6):
            response = api.get(
                "/api/products/",
                {
                    "page_size": page_size,
                    "tag": "tag-10",
                    "in_stock": "true",
                    "unit_price__gt": "1",
                    "search": "Product",
                    "ordering": "-unit_price",
                },
            )
        assert len(response.json()["results"]) == min(page_size, 40)

    def test_sync_page(self, api, catalog, django_assert_max_num_queries):
        with django_assert_max_num_queries(3):
            assert len(api.get("/api/products/sync/").json()["results"]) == 100

    @pytest.mark.parametrize("lookup", ["id", "slug"])
    def test_product_detail(self, api, catalog, django_assert_max_num_queries, lookup):
        product = catalog[0]
        url = f"/api/products/{product.pk}/" if lookup == "id" else f"/api/products/by-slug/{product.slug}/"
        with django_assert_max_num_queries(3):
            assert len(api.get(url).json()["tags"]) == 2

    def test_tags_list(self, api, catalog, django_assert_max_num_queries):
        with django_assert_max_num_queries(2):
            assert len(api.get("/api/tags/", {"page_size": 100}).json()["results"]) == 10


class TestWithoutTheExtension:
    """store.api alone: what the API is when store_custom contributes nothing."""

    @pytest.fixture(autouse=True)
    def _without_tags(self):
        extensions.unregister(TAGS.name)
        yield
        extensions.register(TAGS)

    def test_products_have_no_tags_field_and_no_tag_filter(self, api, django_assert_max_num_queries):
        product = ProductFactory()
        tag(product, "sale")
        other = ProductFactory()
        assert "tags" not in api.get(f"/api/products/{product.pk}/").json()
        # Unknown parameters are ignored, as for any filter the API does not have.
        assert ids(api.get("/api/products/", {"tag": "sale"})) == sorted(
            [product.pk, other.pk], key=lambda pk: Product.objects.get(pk=pk).title
        )
        with django_assert_max_num_queries(4):
            api.get("/api/products/")


def test_draft_and_archived_products_are_not_counted_or_listed_by_tag(api):
    active = ProductFactory()
    draft = ProductFactory(status=Product.Status.DRAFT)
    archived = ProductFactory(status=Product.Status.ARCHIVED)
    for product in (active, draft, archived):
        tag(product, "sale")
    sale = TagFactory(label="sale")
    assert api.get(f"/api/tags/{sale.pk}/").json()["products_count"] == 1
    assert ids(api.get("/api/products/", {"tag": "sale"})) == [active.pk]


class TestAnyViewWithTheProductSerializerHasTags:
    """Loading lives in the serializer, not the views: a new view using ProductSerializer
    (these throwaway ones, defined here) serves `tags` filled, within a query budget."""

    class ListView(generics.ListAPIView):
        serializer_class = ProductSerializer

        def get_queryset(self):
            return selectors.product_list_for_api().order_by("pk")

    class DetailView(generics.RetrieveAPIView):
        serializer_class = ProductSerializer

        def get_queryset(self):
            return selectors.product_list_for_api()

    @pytest.fixture
    def catalog(self):
        products = ProductFactory.create_batch(30)
        for i, product in enumerate(products):
            tag(product, f"B-{i}", f"a-{i}")  # sorted case-insensitively: a-, B-
        return products

    def test_list(self, catalog, django_assert_max_num_queries):
        request = APIRequestFactory().get("/throwaway/", {"page_size": 25})
        # count + page + images + tags: the tags are one query for the whole page
        with django_assert_max_num_queries(4):
            response = self.ListView.as_view()(request).render()
        rows = response.data["results"]
        assert len(rows) == 25
        assert {row["id"]: row["tags"] for row in rows} == {
            product.pk: [f"a-{i}", f"B-{i}"] for i, product in enumerate(catalog[:25])
        }

    def test_detail(self, catalog, django_assert_max_num_queries):
        product = catalog[3]
        request = APIRequestFactory().get(f"/throwaway/{product.pk}/")
        with django_assert_max_num_queries(3):
            response = self.DetailView.as_view()(request, pk=product.pk).render()
        assert response.data["tags"] == ["a-3", "B-3"]

    def test_the_schema_and_the_body_agree(self, catalog):
        """Every field the serializer declares (so the OpenAPI schema promises) is in the body."""
        request = APIRequestFactory().get("/throwaway/")
        row = self.ListView.as_view()(request).render().data["results"][0]
        assert set(row) == set(ProductSerializer().fields)
        assert "tags" in row


class TestNothingUnpublished:
    """Tags say nothing of products that are not active (issue 19, item 3)."""

    def test_the_sync_feeds_tag_filter_chooses_among_active_products_only(self, api):
        listed = ProductFactory()
        tag(listed, "launch")
        draft = ProductFactory(status=Product.Status.DRAFT)  # never active
        tag(draft, "launch")
        retired = ProductFactory()
        services.product_set_status(products=Product.objects.filter(pk=retired.pk), status=Product.Status.ARCHIVED)
        tag(retired, "old")
        # The retired product's tombstone goes out whatever the tag asked for; the draft never.
        assert ids(api.get("/api/products/sync/", {"tag": "launch"})) == [listed.pk, retired.pk]
        assert ids(api.get("/api/products/sync/", {"tag": "old"})) == [retired.pk]
        assert ids(api.get("/api/products/sync/", {"tag": "nothing"})) == [retired.pk]

    def test_tags_of_draft_and_archived_products_only_are_not_listed(self, api):
        active, draft, archived = (
            ProductFactory(),
            ProductFactory(status=Product.Status.DRAFT),
            ProductFactory(status=Product.Status.ARCHIVED),
        )
        tag(active, "sale")
        tag(draft, "sale")
        tag(draft, "secret-2027-launch")
        tag(archived, "discontinued")
        TagFactory(label="unused")
        sale = TagFactory(label="sale")
        response = api.get("/api/tags/", {"page_size": 100})
        assert response.json()["results"] == [{"id": sale.pk, "label": "sale", "products_count": 1}]
        assert response.json()["count"] == 1
        for label in ("secret-2027-launch", "discontinued", "unused"):
            hidden = TagFactory(label=label)
            assert api.get(f"/api/tags/{hidden.pk}/").status_code == 404
            assert ids(api.get("/api/tags/", {"search": label})) == []
        assert api.get(f"/api/tags/{sale.pk}/").json()["products_count"] == 1


class TestCanary:
    """A draft carrying everything a product can carry (tags too, hence here, where store and
    tags meet), marked with a canary string in each place; no endpoint, in JSON or the
    browsable HTML, ever shows one of them (issue 19)."""

    @pytest.fixture
    def canary(self):
        shop = CollectionFactory(title="Shop")
        public = ProductFactory(title="Public mug", collection=shop)
        TaggedItem.objects.create(tag=TagFactory(label="sale"), content_object=public)
        # Once active, then unpublished and reworked: everything it has now is the draft's.
        reworked = ProductFactory(sku="WAS-PUBLIC", slug="was-public", collection=shop)
        services.product_set_status(products=Product.objects.filter(pk=reworked.pk), status=Product.Status.DRAFT)
        drafts = [
            ProductFactory(status=Product.Status.DRAFT, collection=shop),
            Product.objects.get(pk=reworked.pk),
        ]
        for n, draft in enumerate(drafts):
            draft.sku, draft.slug, draft.title = f"CANARY-SKU-{n}", f"canary-slug-{n}", f"Canary title {n}"
            draft.description, draft.unit_price = f"Canary description {n}", Decimal("4242.42")
            services.product_update(product=draft, expected_version=Product.objects.get(pk=draft.pk).version)
            product_image(draft, alt_text=f"Canary alt {n}")
            draft.promotions.add(PromotionFactory(description=f"Canary promotion {n}"))
            TaggedItem.objects.create(tag=TagFactory(label=f"canary-tag-{n}"), content_object=draft)
        shop.featured_product = drafts[0]
        shop.save()
        return {"public": public, "drafts": drafts, "shop": shop}

    def test_no_endpoint_shows_anything_of_a_draft(self, api, canary):
        drafts, shop = canary["drafts"], canary["shop"]
        urls = [
            "/api/products/?page_size=100",
            # Probes that would match the drafts, spelt so that their echo (links, the
            # browsable page's forms) is not a canary word.
            "/api/products/?page_size=100&search=Canar",
            "/api/products/?page_size=100&unit_price__gt=4000",
            "/api/products/sync/",
            "/api/products/sync/?unit_price__gt=4000&tag=CaNaRy-TaG-0",
            "/api/collections/",
            f"/api/collections/{shop.pk}/",
            "/api/tags/?page_size=100",
            "/api/tags/?search=anary",
        ]
        bodies = {("/api/schema/", "*/*"): api.get("/api/schema/").content.decode()}
        for url in urls:
            for accept in ("application/json", "text/html"):
                response = api.get(url, HTTP_ACCEPT=accept)
                assert response.status_code == 200, (url, accept)
                bodies[url, accept] = response.content.decode()
        for draft in drafts:
            for url in (f"/api/products/{draft.pk}/", f"/api/products/by-slug/{draft.slug}/"):
                assert api.get(url).status_code == 404
        for (url, accept), body in bodies.items():
            for canary_word in ("CANARY", "canary", "Canary", "4242.42", "4,242.42"):
                assert canary_word not in body, (url, accept, canary_word)
        # What does go out of them: the reworked one's tombstone, as it was when it was public.
        (tombstone,) = [row for row in api.get("/api/products/sync/").json()["results"] if row["removed"]]
        assert (tombstone["sku"], tombstone["slug"]) == ("WAS-PUBLIC", "was-public")
        assert api.get(f"/api/collections/{shop.pk}/").json()["featured_product"] is None


def test_the_walked_orders_with_the_tag_filter_are_the_plain_sort(api):
    """The API's price and last-update orders read their pages from index walks
    (store.variants.selectors.product_list_ordered): with ?tag= (and another filter), every page
    is the plain sort's, drafts left out."""
    made = catalog()
    sale = TagFactory.create(label="sale")
    for index, product in enumerate(Product.objects.filter(parent__isnull=True).order_by("pk")):
        if index % 3:  # drafts and products with and without variants among them
            TaggedItem.objects.create(tag=sale, content_object=product)
    for params in ({"tag": "sale"}, {"tag": "sale", "collection_id": made["collections"][0]}):
        rows = served(api, params)
        assert rows
        assert not set(rows) & set(made["hidden"])
        for ordering in ORDERINGS:
            assert every_page(api, {**params, "ordering": ordering}, 4) == plainly_sorted(rows, ordering), ordering
