"""Two web processes (gunicorn, two ports) behind an imagined load balancer: an import is
previewed on A and confirmed on B. The upload and the saved plan live in the private storage
(a folder both processes share here; an S3 bucket or a shared volume in production), never on
one process's disk; the session is in the database."""

from __future__ import annotations

import re

import pytest
import requests

from .processes import base_env, shell, start_web

CSV = "sku,title,unit_price,inventory,collection\r\n" + "".join(
    f"TWO-{n},Two servers {n},{n}.50,{n},Twin\r\n" for n in range(1, 31)
)


def _token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def two_servers(process_database, tmp_path, request):
    private = tmp_path / "private"
    private.mkdir()
    env = base_env(**process_database, PRIVATE_FILES_ROOT=str(private), WEB_CONCURRENCY="1", LOG_LEVEL="WARNING")
    shell(
        "from django.contrib.auth import get_user_model; from store.models import Product, Collection; "
        "Product.objects.filter(sku__startswith='TWO-').delete(); Collection.objects.get_or_create(title='Twin'); "
        "U = get_user_model(); U.objects.filter(username='twin').delete(); "
        "U.objects.create_superuser('twin', 'twin@example.com', 'twin-pass-123'); print('ok')",
        env=env,
    )
    return start_web(env, request), start_web(env, request), env, private


def test_preview_on_one_process_and_confirm_on_the_other(two_servers):
    a, b, env, private = two_servers
    browser = requests.Session()
    login = browser.get(f"{a}/admin/login/")
    browser.post(
        f"{a}/admin/login/",
        data={
            "username": "twin",
            "password": "twin-pass-123",
            "csrfmiddlewaretoken": _token(login.text),
            "next": "/admin/",
        },
    )

    form = browser.get(f"{a}/admin/store/product/import/")
    assert form.status_code == 200
    preview = browser.post(
        f"{a}/admin/store/product/import/",
        data={"csrfmiddlewaretoken": _token(form.text), "preset": "auto", "encoding": ""},
        files={"file": ("two.csv", CSV.encode(), "text/csv")},
    )
    assert preview.status_code == 200, preview.text[-2000:]
    assert "/import/" in preview.url, preview.text[-2000:]
    job_path = preview.url.split(a, 1)[1]
    assert "30 new" in preview.text or "30" in preview.text
    # The plan is in the shared private storage, not in A's memory or a folder of A's own.
    assert list((private / "imports" / "plans").glob("*.plan"))

    confirm = browser.post(
        f"{b}{job_path}", data={"csrfmiddlewaretoken": _token(preview.text), "_confirm": "Confirm import"}
    )
    assert confirm.status_code == 200
    assert (
        shell(
            "from store.models import Product; print(Product.objects.filter(sku__startswith='TWO-').count())", env=env
        )
        == "30"
    )
    assert (
        shell(
            "from store.models import ImportJob; j = ImportJob.objects.latest('pk'); "
            "print(j.status, j.created_count, j.confirmed_by.username)",
            env=env,
        )
        == "succeeded 30 twin"
    )
    assert not list((private / "imports" / "plans").glob("*.plan"))  # used once, then deleted
