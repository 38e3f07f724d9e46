"""Where a 100k new-products import goes: our process's CPU, and the database's time by statement kind.

    DATABASE_URL=mysql://root@127.0.0.1:3306/bo_writes_bench .venv/bin/python bench/import_new_profile.py \\
        [--size 100000] [--cprofile]

Imports bench/writes.py's new-products file (``WNEW-…`` SKUs; the catalog is seeded as that
script seeds it) with ``product_import``, then deletes the new products and their rows again.
Prints the import's wall time, ``time.process_time()`` of this process (Python, and the
driver's quoting; load inflates it little) and, through ``connection.execute_wrapper``, each
statement's time summed by kind (the first word and table). ``--cprofile`` adds the profile of
the import.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django.db import connection

from bench import writes  # sets up Django on the _bench database of DATABASE_URL
from store.importing.service import product_import

TABLE = re.compile(r"(?:INTO|FROM|UPDATE)\s+[`\"]?(\w+)", re.IGNORECASE)


def kind(sql: str) -> str:
    table = TABLE.search(sql[:300])
    return f"{sql.split(None, 1)[0].upper()} {table.group(1) if table else ''}".strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--cprofile", action="store_true")
    args = parser.parse_args()
    writes.prepare(args.size)
    path = writes.WORKDIR / "new.csv"
    writes.new_file(path, args.size)
    writes.new_products_delete()
    mark = writes.history_mark()
    spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = spent[kind(sql)]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    profile = cProfile.Profile() if args.cprofile else None
    cpu, wall = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(timed):
        if profile is not None:
            profile.enable()
        outcome = product_import(path=path, file_name=path.name)
        if profile is not None:
            profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{outcome.job.created_count:,} new products: wall {wall:.2f} s, our process's CPU {cpu:.2f} s, load {load}")
    for name, (count, seconds) in sorted(spent.items(), key=lambda item: -item[1][1]):
        print(f"{seconds:8.2f} s {count:6d} x  {name}")
    writes.new_products_delete()
    writes.history_trim(mark)
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
