"""Importer journey on the app as `make run` serves it: an export of the product list large
enough to be a job (EXPORT_INLINE_MAX_ROWS is 100 there), which the worker beside the dev
server writes; its page reaches "Done" and the file downloads."""

from __future__ import annotations

import csv
import io
import re

from .pages import PRODUCTS


def test_a_large_export_runs_on_the_worker_and_downloads(make_run, importer):
    page = importer
    page.goto(f"{make_run.url}{PRODUCTS}")
    page.click("a.export-link:text-is('Export CSV')")

    assert re.search(
        r"More than 100 rows: the export runs in the background as export #\d+", page.inner_text(".messagelist")
    )
    # The job's page refreshes itself until the worker is done.
    page.wait_for_selector("#job-state[data-state=done]", timeout=90_000)
    done, total = re.match(r"(\d+) / (\d+)", page.inner_text("#job-rows")).groups()
    assert done == total
    assert int(total) > 100
    with page.expect_download() as download:
        page.click("#job-download")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["sku", "title", "slug"]
    assert len(rows) - 1 == int(total)
