"""A search of more words than SEARCH_MAX_TERMS is refused with a message (admin) or a 400
naming the parameter (API), everywhere a search reaches the database. A thousand words
made SQLite fail with "Expression tree is too large" (a 500)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from rest_framework.test import APIClient

from backoffice.search import TOO_MANY_SEARCH_TERMS
from store.admin.exports import ExportMixin
from store.models import Customer, Order, Product

from .conftest import every_admin_object  # noqa: F401  (fixture)

WORDS = 1000
MANY = " ".join(f"w{n}" for n in range(WORDS))


def refusal(count: int = WORDS) -> str:
    return TOO_MANY_SEARCH_TERMS.format(limit=settings.SEARCH_MAX_TERMS, count=count)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def searchable_models() -> list[type]:
    return [model for model, model_admin in admin.site._registry.items() if model_admin.search_fields]


def test_the_cap_is_a_setting_of_a_few_words():
    assert 10 <= settings.SEARCH_MAX_TERMS <= 50


def test_every_searchable_changelist_refuses_too_many_words(admin_client, every_admin_object):  # noqa: F811
    models = searchable_models()
    assert {Product, Order, Customer} <= set(models)
    assert len(models) >= 7
    for model in models:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

        response = admin_client.get(url, {"q": MANY, "o": "1"}, follow=True)

        assert response.status_code == 200, model
        assert messages_of(response) == [refusal()], model
        # The search was not run: the list is the unsearched one, other parameters kept.
        assert response.redirect_chain == [(f"{url}?o=1", 302)], model
        assert response.context["cl"].query == "", model


def test_a_search_at_the_cap_is_still_run(admin_client, every_admin_object):  # noqa: F811
    words = " ".join(["nothing-matches"] * settings.SEARCH_MAX_TERMS)
    for model in searchable_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = admin_client.get(url, {"q": words})
        assert response.status_code == 200, model
        assert response.context["cl"].query == words, model
        assert messages_of(response) == [], model


def test_a_quoted_phrase_counts_as_one_word(admin_client, every_admin_object):  # noqa: F811
    phrase = '"' + " ".join(["w"] * 100) + '"'
    response = admin_client.get(reverse("admin:store_order_changelist"), {"q": phrase})
    assert response.status_code == 200
    assert messages_of(response) == []


@pytest.mark.parametrize(
    ("app_label", "model_name", "field_name"),
    [
        ("store", "product", "collection"),
        ("store", "collection", "featured_product"),
        ("store", "order", "customer"),
        ("store", "orderitem", "product"),
        ("tags", "taggeditem", "tag"),
    ],
)
def test_the_autocomplete_refuses_too_many_words(app_label, model_name, field_name, admin_client, every_admin_object):  # noqa: F811
    params = {"app_label": app_label, "model_name": model_name, "field_name": field_name}

    refused = admin_client.get(reverse("admin:autocomplete"), {**params, "term": MANY})
    accepted = admin_client.get(reverse("admin:autocomplete"), {**params, "term": "a b"})

    assert refused.status_code == 400
    assert refused.json() == {"error": refusal()}
    assert accepted.status_code == 200


def exporting_models() -> list[type]:
    return [model for model, model_admin in admin.site._registry.items() if isinstance(model_admin, ExportMixin)]


def test_every_export_link_refuses_too_many_words(admin_client, every_admin_object):  # noqa: F811
    assert {Product, Order, Customer} <= set(exporting_models())
    for model in exporting_models():
        info = model._meta.app_label, model._meta.model_name
        url = reverse("admin:{}_{}_export".format(*info))
        filters = urlencode({"q": MANY, "o": "1"})

        response = admin_client.get(url, {"format": "csv", "filters": filters}, follow=True)

        changelist = reverse("admin:{}_{}_changelist".format(*info))
        assert response.redirect_chain == [(f"{changelist}?o=1", 302)], model
        assert messages_of(response) == [refusal()], model


@pytest.mark.parametrize("action", ["export_selected_csv", "export_selected_xlsx", "export_selected_json"])
def test_every_export_action_refuses_too_many_words(action, admin_client, every_admin_object):  # noqa: F811
    for model in exporting_models():
        obj = every_admin_object[model]
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

        response = admin_client.post(
            f"{url}?{urlencode({'q': MANY})}",
            {
                "action": action,
                ACTION_CHECKBOX_NAME: [obj.pk],
                "index": "0",
            },
            follow=True,
        )

        assert response.redirect_chain == [(url + "?", 302)], model
        assert "Content-Disposition" not in response
        assert messages_of(response) == [refusal()], model


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/products/", "/api/collections/", "/api/tags/"])
def test_every_api_list_answers_400_naming_search(url):
    client = APIClient()

    refused = client.get(url, {"search": MANY})
    at_the_cap = client.get(url, {"search": ",".join(["x"] * settings.SEARCH_MAX_TERMS)})
    # DRF splits on commas too: each one makes another word.
    over_by_commas = client.get(url, {"search": ",".join(["x"] * (settings.SEARCH_MAX_TERMS + 1))})

    assert refused.status_code == 400
    assert refused.json() == {"search": [refusal()]}
    assert at_the_cap.status_code == 200
    assert over_by_commas.json() == {"search": [refusal(settings.SEARCH_MAX_TERMS + 1)]}
