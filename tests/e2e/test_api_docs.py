"""Swagger UI renders the catalog API from local static files, with no outside request."""

from urllib.parse import urlsplit


def test_swagger_ui_renders_every_endpoint_offline(page, live_server, screenshot):
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if urlsplit(request.url).hostname not in {"localhost", "127.0.0.1"} else None
        ),
    )

    page.goto(f"{live_server.url}/api/docs/")

    page.wait_for_selector(".opblock-summary-path >> text=/api/products/by-slug/{slug}/")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    for path in ["/api/products/", "/api/products/{id}/", "/api/products/sync/", "/api/collections/", "/api/tags/"]:
        assert any(text.replace("\u200b", "") == path for text in paths), (path, paths)
    assert page.locator(".opblock-post, .opblock-put, .opblock-delete, .opblock-patch").count() == 0
    assert outside == []
    screenshot(page, "api-docs")
