"""Alert settings: every staff user edits their own (the menu entry opens it); superusers see all.

The digest's setting has three values: as the role says (the default: on for Merchandisers,
decided when the digest is sent), on, off (the opt-out).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from store.alerts import alert_digest_on
from store.models import AlertSubscription

AS_ROLE = "As my role says (on for Merchandisers)"
DIGEST_CHOICES = [("", AS_ROLE), ("on", "On"), ("off", "Off")]
_CHOICE_VALUES = {"": None, "on": True, "off": False}


def _choice(value: bool | None) -> str:
    return next(key for key, stored in _CHOICE_VALUES.items() if stored is value)


class AlertSubscriptionForm(forms.ModelForm):
    low_stock_digest = forms.TypedChoiceField(
        label="Daily low-stock digest",
        choices=DIGEST_CHOICES,
        coerce=_CHOICE_VALUES.__getitem__,
        empty_value=None,
        required=False,
        help_text=AlertSubscription._meta.get_field("low_stock_digest").help_text,
    )

    class Meta:
        model = AlertSubscription
        fields = ("low_stock_digest",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["low_stock_digest"] = _choice(self.instance.low_stock_digest)


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(admin.ModelAdmin):
    form = AlertSubscriptionForm
    list_display = ("user", "digest_setting", "gets_digest", "covered_until")
    list_display_links = ("user",)
    list_select_related = ("user",)
    fields = ("user", "low_stock_digest", "gets_digest", "covered_until")
    readonly_fields = ("user", "gets_digest", "covered_until")

    def _own(self, request, obj) -> bool:
        return request.user.is_active and request.user.is_staff and (obj is None or obj.user_id == request.user.pk)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or self._own(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) or self._own(request, obj)

    def has_add_permission(self, request):
        return False  # each user's row is made on first visit (or by the digest, for Merchandisers)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.has_perm("store.view_alertsubscription"):
            return queryset
        return queryset.filter(user=request.user)

    def changelist_view(self, request, extra_context=None):
        """The list always holds the user's own row (following their role until they choose)."""
        AlertSubscription.objects.get_or_create(user=request.user, defaults={"low_stock_digest": None})
        return super().changelist_view(request, extra_context)

    @admin.display(description="daily low-stock digest")
    def digest_setting(self, subscription):
        return dict(DIGEST_CHOICES)[_choice(subscription.low_stock_digest)]

    @admin.display(description="gets the digest", boolean=True)
    def gets_digest(self, subscription):
        """On by choice, or by role (a user without an email address gets nothing either way)."""
        return bool(subscription.user.email) and alert_digest_on(user=subscription.user)
