"""Customers area."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from store import selectors
from store.admin.exports import ExportMixin
from store.exports.resources import CustomerResource
from store.models import Address, Customer


class AddressInline(admin.TabularInline):
    model = Address
    extra = 0


@admin.register(Customer)
class CustomerAdmin(ExportMixin, admin.ModelAdmin):
    export_resource_class = CustomerResource
    list_display = ["first_name", "last_name", "email", "membership", "orders_count"]
    list_display_links = ["first_name", "last_name"]
    list_editable = ["membership"]
    list_filter = ["membership"]
    list_per_page = 50
    # Prefix searches: LIKE 'abc%' can use the (last_name, first_name) index and the
    # unique email index; LIKE '%abc%' (icontains) would scan the table every time.
    search_fields = ["first_name__istartswith", "last_name__istartswith", "email__istartswith"]
    search_help_text = "Start of a first name, last name or email."
    ordering = ["first_name", "last_name", "id"]
    show_full_result_count = False
    inlines = [AddressInline]

    def get_queryset(self, request):
        # GROUP BY drops Meta.ordering; keep it for the autocomplete's pagination.
        return selectors.customer_list_with_orders_count().order_by(*self.get_ordering(request))

    @admin.display(description="orders", ordering="orders_count")
    def orders_count(self, customer):
        url = reverse("admin:store_order_changelist") + "?" + urlencode({"customer__pk__exact": customer.pk})
        return format_html('<a href="{}">{}</a>', url, customer.orders_count)
