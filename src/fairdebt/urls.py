from django.contrib import admin
from django.urls import include, path

from fairdebt.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("fairdebt.people.urls")),
    path("", include("fairdebt.holds.urls")),
    path("", include("fairdebt.worklists.urls")),
    path("", include("fairdebt.web.urls")),
]
