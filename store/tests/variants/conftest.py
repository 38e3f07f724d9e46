from decimal import Decimal

import pytest

from store.models import Product
from store.tests.factories import CollectionFactory, ProductFactory


def make_parent(**fields) -> Product:
    return ProductFactory.create(
        structure=Product.Structure.PARENT,
        option1_name="Colour",
        option2_name="Size",
        inventory=0,
        track_inventory=False,
        **fields,
    )


def make_variant(parent: Product, colour: str, size: str, **fields) -> Product:
    return Product.objects.create(
        structure=Product.Structure.VARIANT,
        parent=parent,
        title=f"{colour} / {size}",
        sku=fields.pop("sku", f"{parent.sku}-{colour[:1]}{size}".upper()),
        unit_price=fields.pop("unit_price", Decimal("20.00")),
        inventory=fields.pop("inventory", 50),
        option1=colour,
        option2=size,
        slug=None,
        collection=None,
        status=None,
        **fields,
    )


def listed(client, params: dict[str, str] | dict[str, str | list[str]]) -> list[int]:
    """Every page of the product list with ``params``, in order: the ids of its rows."""
    pks: list[int] = []
    for page in range(1, 100):
        response = client.get("/admin/store/product/", {**params, "p": str(page)})
        assert response.status_code == 200
        cl = response.context["cl"]
        pks += [product.pk for product in cl.result_list]
        if not cl.multi_page or page >= cl.paginator.num_pages:
            return pks
    raise AssertionError("too many pages")


@pytest.fixture
def tshirt(db) -> Product:
    """A product with six variants: Green/Blue × S/M/L, 18.00 to 24.00, 50 each."""
    parent = make_parent(title="Example T-Shirt", sku="TS", slug="example-t-shirt", collection=CollectionFactory())
    for colour, price in (("Green", Decimal("18.00")), ("Blue", Decimal("24.00"))):
        for size in ("S", "M", "L"):
            make_variant(parent, colour, size, unit_price=price)
    return parent
