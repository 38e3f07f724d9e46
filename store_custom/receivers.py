"""Keep tags consistent with store events, without store knowing tags exist."""
from django.contrib.contenttypes.models import ContentType

from store.models import Product
from tags.models import TaggedItem


def drop_product_tags(sender, **kwargs) -> None:
    """seed_catalog wiped the products with raw SQL; their generic tag rows go too."""
    TaggedItem.objects.filter(content_type=ContentType.objects.get_for_model(Product)).delete()
