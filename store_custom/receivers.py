"""Keep tags consistent with store events, without store knowing tags exist."""

from django.contrib.contenttypes.models import ContentType

from store.models import Product
from tags.models import TaggedItem


def drop_product_tags(sender, **kwargs) -> None:
    """seed_catalog wiped the products with raw SQL; their generic tag rows go too."""
    TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Product)).delete()


def drop_deleted_product_tags(sender, instance, **kwargs) -> None:
    """A generic FK does not cascade: without this a deleted product's tags linger
    (and would be counted by /api/tags/, or match a recycled id)."""
    TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Product), object_id=instance.pk).delete()


def drop_bulk_deleted_product_tags(sender, product_ids, **kwargs) -> None:
    """A revert deleted products with raw SQL (no post_delete per row): drop their tags in one query."""
    TaggedItem.objects.filter(
        content_type=ContentType.objects.get_for_model(Product), object_id__in=product_ids
    ).delete()
