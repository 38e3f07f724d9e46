"""Everything store_custom adds to store, declared once (registered in ``StoreCustomConfig.ready``)."""

from __future__ import annotations

from store.extensions import StoreExtension
from store_custom import receivers
from store_custom.admin import CustomProductAdmin
from store_custom.api import TAGS_FIELD, TAGS_ROUTE
from store_custom.bulk import add_tags, remove_tags
from store_custom.importing import product_tags_column

TAGS = StoreExtension(
    name="tags",
    # Import/export: the product "tags" column
    columns=(product_tags_column,),
    # Catalog API: the products' `tags` field and ?tag= filter, and /api/tags/
    api_fields=(TAGS_FIELD,),
    api_routes=(TAGS_ROUTE,),
    # Bulk edits on the product list: "Add tags…" / "Remove tags…"
    bulk_actions=(add_tags, remove_tags),
    # Product admin: the tag inline, the tags column (one query a page) and the tag filter
    admin=CustomProductAdmin,
    # Tag rows follow their products (generic relations do not cascade)
    on_products_deleted=receivers.drop_product_tags,
    on_catalog_cleared=receivers.drop_all_product_tags,
)
