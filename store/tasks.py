"""Old import paths of the background tasks, kept for one release (remove in 0.3).

Each task now lives beside the work it runs (``store.exports.jobs``, ``store.importing.jobs``,
``store.bulk.jobs``, ``store.images.fetch``, ``store.images.thumbnails``, ``store.housekeeping``).
A task queued before the upgrade is stored under its old path (``store.tasks.export_run``);
the names below let a worker of this release still find and run it. New code imports the
tasks from their own modules; nothing in the project imports this one.
"""

from store.bulk.jobs import bulk_edit_run
from store.exports.jobs import export_run
from store.housekeeping import housekeeping_task as housekeeping
from store.images.fetch import product_image_fetch
from store.images.thumbnails import product_image_thumbnail
from store.importing.jobs import import_preview, import_write

__all__ = [
    "bulk_edit_run",
    "export_run",
    "housekeeping",
    "import_preview",
    "import_write",
    "product_image_fetch",
    "product_image_thumbnail",
]
