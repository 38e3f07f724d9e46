from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """django.contrib.admin with our site as `admin.site` (all registrations land on it)."""

    default_site = "backoffice.admin.BackOfficeAdminSite"
