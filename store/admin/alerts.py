"""Alert settings: every staff user edits their own (the menu entry opens it); superusers see all."""

from __future__ import annotations

from django.contrib import admin

from store.models import AlertSubscription


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "low_stock_digest", "covered_until")
    list_display_links = ("user",)
    list_select_related = ("user",)
    fields = ("user", "low_stock_digest", "covered_until")
    readonly_fields = ("user", "covered_until")

    def _own(self, request, obj) -> bool:
        return request.user.is_active and request.user.is_staff and (obj is None or obj.user_id == request.user.pk)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or self._own(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or self._own(request, obj)

    def has_add_permission(self, request):
        return False  # each user's row is made on first visit (or by setup_roles)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.has_perm("store.view_alertsubscription"):
            return queryset
        return queryset.filter(user=request.user)

    def changelist_view(self, request, extra_context=None):
        """The list always holds the user's own row (off until they turn it on)."""
        AlertSubscription.objects.get_or_create(user=request.user, defaults={"low_stock_digest": False})
        return super().changelist_view(request, extra_context)
