from django.contrib import admin

from .models import Tag

admin.site.register(Tag)
