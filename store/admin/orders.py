"""Orders area."""

from django.contrib import admin
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html

from backoffice.admin import SafeAutocompleteMixin
from store import selectors, services
from store.admin.exports import ExportMixin
from store.exports.resources import OrderResource
from store.filters import CustomerFilter
from store.models import Order, OrderItem


class OrderItemInline(SafeAutocompleteMixin, admin.TabularInline):
    model = OrderItem
    fields = ["product", "quantity", "price", "line_total"]
    # The price is a snapshot taken by services.order_item_save, never typed in.
    readonly_fields = ["price", "line_total"]
    autocomplete_fields = ["product"]
    extra = 0
    min_num = 1
    max_num = 10

    def get_queryset(self, request):
        # Each row's label names its product (OrderItem.__str__): one join, not a query a line.
        return super().get_queryset(request).select_related("product")

    def get_formset(self, request, obj=None, **kwargs):
        # min_num/max_num alone only shape the empty forms; enforce them on POST too.
        # Without the add permission Django sets max_num to 0 (no new rows); existing
        # rows must still validate, and new ones are ignored by Django itself.
        return super().get_formset(request, obj, validate_min=True, validate_max=bool(self.max_num), **kwargs)

    @admin.display(description="unit price")
    def price(self, item):
        if item.unit_price is None:
            return "the product's price, on save"
        return number_format(item.unit_price, 2)

    @admin.display(description="line total")
    def line_total(self, item):
        if item.unit_price is None:
            return "—"
        return number_format(item.quantity * item.unit_price, 2)


@admin.register(Order)
class OrderAdmin(SafeAutocompleteMixin, ExportMixin, admin.ModelAdmin):
    export_resource_class = OrderResource
    list_display = ["id", "placed_at", "customer_link", "payment_status", "items_count", "total"]
    list_filter = ["payment_status", "placed_at", CustomerFilter]
    list_select_related = ["customer"]
    list_per_page = 50
    search_fields = ["=id"]
    search_help_text = "Order number."
    autocomplete_fields = ["customer"]
    readonly_fields = ["placed_at"]
    fields = ["customer", "payment_status", "placed_at"]
    date_hierarchy = "placed_at"
    ordering = ["-placed_at", "-id"]
    show_full_result_count = False
    inlines = [OrderItemInline]

    def get_queryset(self, request):
        # In the admin's order (an aggregate query drops the model's Meta.ordering): pages of
        # any view that lists orders without a changelist, such as a picker, stay stable.
        return selectors.order_list_with_totals().order_by(*self.get_ordering(request))

    def save_formset(self, request, form, formset, change):
        if formset.model is not OrderItem:
            return super().save_formset(request, form, formset, change)
        items = formset.save(commit=False)
        services.order_items_save(items=items, deleted=formset.deleted_objects)
        formset.save_m2m()
        return None

    @admin.display(description="customer", ordering="customer__first_name")
    def customer_link(self, order):
        url = reverse("admin:store_customer_change", args=[order.customer_id])
        return format_html('<a href="{}">{}</a>', url, order.customer)

    @admin.display(description="items", ordering="items_count")
    def items_count(self, order):
        return order.items_count

    @admin.display(description="total", ordering="order_total")
    def total(self, order):
        # SQLite returns the sum unscaled (126.5); show money with two decimals everywhere.
        return None if order.order_total is None else number_format(order.order_total, 2)
