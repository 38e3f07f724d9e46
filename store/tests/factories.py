"""factory_boy factories for the store models, and image files for the image tests."""

import io
from decimal import Decimal

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from factory.django import DjangoModelFactory
from PIL import Image

from store.images import services as image_services
from store.images.thumbnails import product_image_make_thumbnail
from store.models import (
    Address,
    Cart,
    CartItem,
    Collection,
    Customer,
    Order,
    OrderItem,
    Product,
    ProductImage,
    Promotion,
)


class CollectionFactory(DjangoModelFactory[Collection]):
    class Meta:
        model = Collection

    title = factory.Sequence(lambda n: f"Collection {n}")


class PromotionFactory(DjangoModelFactory[Promotion]):
    class Meta:
        model = Promotion

    description = factory.Sequence(lambda n: f"Promotion {n}")
    discount = Decimal("10.00")


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    description = factory.Faker("sentence")
    unit_price = Decimal("19.99")
    inventory = 50
    collection = factory.SubFactory(CollectionFactory)


class CustomerFactory(DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Faker("numerify", text="+1-555-####")


class AddressFactory(DjangoModelFactory[Address]):
    class Meta:
        model = Address

    street = factory.Faker("street_address")
    city = factory.Faker("city")
    zip = factory.Faker("postcode")
    customer = factory.SubFactory(CustomerFactory)


class OrderFactory(DjangoModelFactory[Order]):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)


class OrderItemFactory(DjangoModelFactory[OrderItem]):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda item: item.product.unit_price)


# --- Carts ---
class CartFactory(DjangoModelFactory[Cart]):
    class Meta:
        model = Cart


class CartItemFactory(DjangoModelFactory[CartItem]):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


# --- Product images ---
def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), colour: str = "teal") -> bytes:
    """A real, small image file made by Pillow."""
    buffer = io.BytesIO()
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def image_upload(name: str = "photo.png", data: bytes | None = None, content_type: str = "image/png"):
    return SimpleUploadedFile(name, image_bytes() if data is None else data, content_type=content_type)


def product_image(product: Product, *, thumbnail: bool = True, **fields) -> ProductImage:
    """A stored image through the service (checked, renamed), thumbnail made at once."""
    upload = fields.pop("upload", None) or image_upload()
    image = image_services.product_image_save(image=ProductImage(product=product, image=upload, **fields))
    if thumbnail:
        product_image_make_thumbnail(image_id=image.pk)
        image.refresh_from_db()
    return image
