"""Carts area (read-only): shoppers fill carts, the back-office only looks."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.timesince import timesince

from store.models import Cart, CartItem


class ReadOnlyMixin:
    """No add, change or delete; users with the view permission still see everything."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CartItemInline(ReadOnlyMixin, admin.TabularInline):
    model = CartItem
    fields = ["product_link", "quantity"]
    readonly_fields = ["product_link", "quantity"]
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @admin.display(description="product")
    def product_link(self, item):
        url = reverse("admin:store_product_change", args=[item.product_id])
        return format_html('<a href="{}">{}</a>', url, item.product)


@admin.register(Cart)
class CartAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "age", "items_count"]
    list_filter = ["created_at"]
    fields = ["id", "created_at", "age"]
    readonly_fields = ["id", "created_at", "age"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    show_full_result_count = False
    inlines = [CartItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(items_count=Count("items"))

    @admin.display(description="age", ordering="-created_at")
    def age(self, cart):
        return timesince(cart.created_at)

    @admin.display(description="items", ordering="items_count")
    def items_count(self, cart):
        return cart.items_count
