"""Under `make run` the debug toolbar is on every page, collapsed to its handle: it leaves the
product list's filter sidebar usable until the developer opens it."""

# The sidebar's controls (filter links, the collection autocomplete) that the browser would not
# click because something else is on top of them at their centre.
COVERED_FILTERS = """sidebar => [...sidebar.querySelectorAll("a, .select2-selection")]
    .filter(control => {
        const box = control.getBoundingClientRect();
        if (box.width === 0 || box.bottom > window.innerHeight) return false;
        return !control.contains(document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2));
    })
    .map(control => control.textContent.trim() || control.className)"""


def test_the_toolbar_starts_collapsed_and_leaves_the_filters_usable(make_run, merchandiser):
    page = merchandiser
    page.goto(f"{make_run.url}/admin/store/product/")
    handle = page.locator("#djDebugToolbarHandle")
    handle.wait_for()
    assert page.locator("#djDebugToolbar").is_hidden()
    sidebar = page.locator("#changelist-filter")
    assert sidebar.locator("a").count() > 10
    assert sidebar.evaluate(COVERED_FILTERS) == []

    # It is there all the same: its handle opens it, over the sidebar.
    handle.locator("#djShowToolBarButton").click()
    page.locator("#djDebugToolbar").wait_for()
    assert sidebar.evaluate(COVERED_FILTERS) != []
