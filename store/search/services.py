"""Keeping the search index (``ProductSearchTerm``) in step with the products.

Every write path that changes a product's title or SKU, adds products or deletes them calls
one of these in its own transaction: ``Product.save()`` (through ``store.receivers``), imports,
revert, seeding, the catalog wipe. Set-based: a refresh reads the products' titles and SKUs a
chunk at a time, deletes their old terms and inserts the new ones with one batched statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.db import connection, transaction

from store.models import Product, ProductSearchTerm
from store.search.terms import product_terms, title_term
from store.sql import CHUNK, chunks, execute_many, quote, select_in

#: Products read per query when (re)building the index over an id range.
BUILD_CHUNK = 5_000
#: The product columns a product's index rows are made of (``search_index_add``'s rows).
INDEXED = ("id", "title", "sku", "structure", "parent_id")


def _table() -> str:
    return quote(ProductSearchTerm._meta.db_table)


def _insert_sql() -> str:
    columns = ", ".join(quote(column) for column in ("term", "product_id", "title", "is_variant"))
    return f"INSERT INTO {_table()} ({columns}) VALUES (%s, %s, %s, %s)"


def search_rows(
    products: Iterable[tuple[int, str, str, str]], variants: Mapping[int, Sequence[tuple[str, str]]] | None = None
) -> list[tuple[str, int, str, bool]]:
    """The index rows (term, product id, title, is variant) of (id, title, sku, structure)
    rows. A product with variants (``variants``: product id → its variants' (title, sku)) is
    also found by each variant's SKU and option values ("Green / S"), under its own title."""
    return list(_search_rows(products, variants or {}))


def _search_rows(
    products: Iterable[tuple[int, str, str, str]], variants: Mapping[int, Sequence[tuple[str, str]]]
) -> Iterator[tuple[str, int, str, bool]]:
    """``search_rows``, a product at a time: ``execute_many`` builds its statements as the rows
    come, with no list of every term row (~7 a product) held first."""
    for pk, title, sku, structure in products:
        terms = product_terms(title=title, sku=sku)
        for variant_title, variant_sku in variants.get(pk, ()):
            terms |= product_terms(title=variant_title, sku=variant_sku) - {title_term(variant_title)}
        is_variant = structure == Product.Structure.VARIANT
        for term in terms:
            yield term, pk, title, is_variant


def _variants_of(product_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for row in select_in(Product, ("parent_id", "title", "sku"), "parent_id", product_ids):
        found[row.parent_id].append((row.title, row.sku))
    return found


def _delete(product_ids: Sequence[int]) -> None:
    with connection.cursor() as cursor:
        for chunk in chunks(list(product_ids)):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"DELETE FROM {_table()} WHERE {quote('product_id')} IN ({placeholders})", list(chunk))


def search_index_refresh(*, product_ids: Iterable[int], refreshed: Iterable[int] = ()) -> None:
    """Rewrite the terms (and the title they carry) of these products from their current title
    and SKU (products that no longer exist lose theirs). Call it inside the transaction that
    wrote them. A variant's SKU and option values are terms of its product too, so the products
    of the variants among them are rewritten as well, but those in ``refreshed`` (rewritten
    already, after their variants were written: an import's new products with variants)."""
    ids = set(product_ids)
    parents: set[int] = set()
    for chunk in chunks(sorted(ids), CHUNK):
        parents |= _refresh(chunk)
    for chunk in chunks(sorted(parents - ids - set(refreshed)), CHUNK):
        _refresh(chunk)


def search_index_add(*, products: Sequence[Any], refreshed: Iterable[int] = ()) -> None:
    """``search_index_refresh`` of products just inserted, from their rows as the writer read them
    back (``id, title, sku, structure, parent_id``: an import's new products), without reading
    them a second time. The same index rows. Their ids are new (the database's counter never
    gives an id twice: InnoDB's, SQLite's AUTOINCREMENT), so they have no terms to delete."""
    parents: set[int] = set()
    for chunk in chunks(products, CHUNK):
        parents |= _rewrite([row.id for row in chunk], chunk, new=True)
    for ids in chunks(sorted(parents - {row.id for row in products} - set(refreshed)), CHUNK):
        _refresh(ids)


def _refresh(product_ids: Sequence[int]) -> set[int]:
    """Rewrite these products' terms; returns the parents of the variants among them."""
    return _rewrite(product_ids, list(select_in(Product, INDEXED, "id", product_ids)))


def _rewrite(product_ids: Sequence[int], products: Sequence[Any], *, new: bool = False) -> set[int]:
    """Replace the terms of ``product_ids`` by those of ``products`` (their rows, ``INDEXED``; a
    product gone has none); ``new`` products have none yet. Products without variants (most)
    cost no query for variants."""
    if not new:
        _delete(product_ids)
    variants = _variants_of([row.id for row in products if row.structure == Product.Structure.PARENT])
    rows = ((row.id, row.title, row.sku, row.structure) for row in products)
    execute_many(_insert_sql(), _search_rows(rows, variants))
    return {row.parent_id for row in products if row.parent_id is not None}


def search_index_delete(*, product_ids: Sequence[int]) -> None:
    """Drop the terms of deleted products (paths that delete with raw SQL)."""
    _delete(product_ids)


def search_index_clear() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table()}")


def search_index_build(
    *,
    first_id: int = 0,
    last_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    replace: bool = False,
) -> int:
    """Index every product with first_id <= id (<= last_id), whose terms are not there yet:
    new products written in bulk (seeding) and the migration that made the index. Returns the
    number of products indexed; ``progress`` is told each chunk's count.

    ``replace``: rewrite the terms already there too (``manage.py rebuild_search_index``). Each
    chunk's id range swaps its terms in one transaction, so the list stays searchable meanwhile;
    terms of products that no longer exist (an id gap, or beyond the last product) go as well.
    """
    done = 0
    start = first_id
    columns = ", ".join(quote(column) for column in ("id", "title", "sku", "structure"))
    select = f"SELECT {columns} FROM {quote(Product._meta.db_table)}"
    with connection.cursor() as cursor:
        while True:
            sql = f"{select} WHERE {quote('id')} >= %s"
            params: list[int] = [start]
            if last_id is not None:
                sql += f" AND {quote('id')} <= %s"
                params.append(last_id)
            cursor.execute(f"{sql} ORDER BY {quote('id')} LIMIT {BUILD_CHUNK}", params)
            products = cursor.fetchall()
            if not products:
                if replace:
                    _delete_range(start, last_id)
                return done
            variants = _variants_of([row[0] for row in products if row[3] == Product.Structure.PARENT])
            with transaction.atomic():
                if replace:
                    _delete_range(start, products[-1][0])
                execute_many(_insert_sql(), search_rows(products, variants))
            done += len(products)
            start = products[-1][0] + 1
            if progress is not None:
                progress(len(products))


def _delete_range(first_id: int, last_id: int | None) -> None:
    """Drop the terms of every product id from ``first_id`` up to ``last_id`` (or beyond)."""
    sql = f"DELETE FROM {_table()} WHERE {quote('product_id')} >= %s"
    params = [first_id]
    if last_id is not None:
        sql += f" AND {quote('product_id')} <= %s"
        params.append(last_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
