"""Load the demo store once and make sure a demo superuser exists (development only)."""

from __future__ import annotations

import io
import os
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef
from django.utils import timezone
from PIL import Image, ImageDraw

from store import services
from store.images import services as image_services
from store.models import Order, OrderItem, Product, ProductImage
from store.variants.services import options_parse, product_options_save

PALETTE = ["#3b6e8f", "#c8553d", "#588b8b", "#f28f3b", "#6a4c93", "#2a9d8f", "#e9c46a", "#8d99ae"]


def _demo_picture(*, seed: int, size: int = 480) -> bytes:
    """A simple deterministic product picture: a tinted square with a few shapes."""
    colours = [PALETTE[(seed + i) % len(PALETTE)] for i in range(3)]
    picture = Image.new("RGB", (size, size), "#f4f1ea")
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((60, 90, size - 60, size - 60), radius=40, fill=colours[0])
    draw.ellipse((size // 2 - 70, 30, size // 2 + 70, 170), fill=colours[1])
    draw.rectangle((110, size - 150, size - 110, size - 110), fill=colours[2])
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


DEMO_FIXTURE = settings.BASE_DIR / "fixtures" / "demo.json"
#: The options the demo's products with variants get, by collection: every product of these
#: collections that no order sold (a sold product keeps its order lines, so it stays as it is).
DEMO_OPTIONS = {
    "Hoodies": "Size: S, M, L, XL",
    "T-Shirts": "Size: XS, S, M, L, XL",
    "Footwear": "Size: 39, 40, 41, 42, 43, 44",
}
LARGEST_SIZE_SURCHARGE = Decimal("2.00")


class Command(BaseCommand):
    help = "Load fixtures/demo.json unless the catalog has data, and ensure the demo login."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("setup_demo creates a known login, so it runs only with DEBUG on.")
        if Product.objects.exists():
            self.stdout.write("Demo data: the catalog already has products; nothing loaded.")
        else:
            with transaction.atomic():
                call_command("loaddata", DEMO_FIXTURE, verbosity=0)
                self._bring_orders_up_to_date()
                images = self._add_demo_images()
                with_variants = self._add_demo_variants()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data: loaded fixtures/demo.json and drew {images} product images; "
                    f"{with_variants} products of {', '.join(DEMO_OPTIONS)} have variants by size."
                )
            )
        self._ensure_demo_user()

    def _bring_orders_up_to_date(self) -> None:
        """Shift fixture order dates so the newest order is from today (the dashboard shows 30 days)."""
        newest = Order.objects.aggregate(newest=Max("placed_at"))["newest"]
        if newest:
            Order.objects.update(placed_at=F("placed_at") + (timezone.now() - newest))

    def _add_demo_images(self) -> int:
        """A drawn picture for the first product of each collection, through the upload service
        (checked, stored in MEDIA, thumbnailed after commit), so the list shows thumbnails."""
        made = 0
        for collection_id in Product.objects.values_list("collection_id", flat=True).distinct().order_by():
            product = Product.objects.filter(collection_id=collection_id).order_by("pk").first()
            if product is None:  # deleted meanwhile
                continue
            upload = SimpleUploadedFile(f"{product.slug}.png", _demo_picture(seed=product.pk), "image/png")
            image_services.product_image_save(image=ProductImage(product=product, image=upload, alt_text=product.title))
            made += 1
        return made

    def _add_demo_variants(self) -> int:
        """Products with variants, so the demo shows them: each product of ``DEMO_OPTIONS``'s
        collections that no order sold gets its collection's sizes through the options editor's
        service (versions, history, search), and its variants their own stock, the first one low
        (the list's badge then says Low), the largest size a surcharge."""
        sold = OrderItem.objects.filter(product=OuterRef("pk"))
        unsold = Product.objects.filter(structure=Product.Structure.STANDALONE).exclude(Exists(sold)).order_by("pk")
        made = 0
        for collection, sizes in DEMO_OPTIONS.items():
            options = options_parse(sizes)
            for product in unsold.filter(collection__title=collection):
                variants = product_options_save(product=product, options=options, expected_version=product.version)
                for index, variant in enumerate(variants):
                    variant.inventory = 3 + 7 * index
                    if index == len(variants) - 1:  # the largest size costs a little more: a price range
                        variant.unit_price += LARGEST_SIZE_SURCHARGE
                    services.product_update(product=variant, expected_version=variant.version)
                made += 1
        return made

    def _ensure_demo_user(self) -> None:
        username = os.environ.get("DEMO_USERNAME", "admin")
        password = os.environ.get("DEMO_PASSWORD", "admin")
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: username '{username}', password '{password}' at http://127.0.0.1:8000/admin/"
            )
        )
