def test_admin_login_shows_the_store_models(admin_page, live_server):
    assert "Storefront back-office" in admin_page.title()
    assert admin_page.locator("a", has_text="Products").first.is_visible()
