from django.urls import path

from . import views

urlpatterns = [
    path("people/<int:person_id>/", views.person_detail, name="person_detail"),
    path("people/<int:person_id>/reidentify", views.reidentify, name="reidentify"),
    path("lookup", views.lookup, name="lookup"),
    path("lookup/tools", views.lookup_tools, name="lookup_tools"),
    path("audit/reidentifications", views.reidentification_audit, name="reidentification_audit"),
]
