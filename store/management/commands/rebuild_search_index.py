"""Rewrite the product search's index (``ProductSearchTerm``) from the products as they are.

The write paths keep the index in step (docs/guide/search.md); this is for the day it is not:
rows changed by hand in SQL, a restore of the product table alone, a change to how terms are
made (``store.search.terms``). The list stays searchable while it runs: each range of 5,000
products swaps its terms in one transaction. It writes what the migration that made the index wrote:
about five minutes per million products on MariaDB (7.4M terms; docs/operations.md).
"""

from __future__ import annotations

import logging
import time

from django.core.management.base import BaseCommand

from store.search.services import search_index_build

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Rewrite the product search's index from the products as they are now (the list stays searchable)."

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        indexed = 0

        def progress(count: int) -> None:
            nonlocal indexed
            indexed += count
            logger.info("search index: %d products indexed", indexed)

        total = search_index_build(replace=True, progress=progress)
        self.stdout.write(f"Search index rebuilt: {total:,} product(s) in {time.monotonic() - started:.1f} s.")
