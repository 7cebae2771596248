from django.urls import path

from . import views

urlpatterns = [
    path("worklists/", views.queue, name="worklist_queue"),
    path("worklists/today", views.today, name="worklist_today"),
    path("worklists/visits", views.visits, name="worklist_visits"),
    path("worklists/team", views.team, name="worklist_team"),
    path("worklists/<str:segment>/", views.queue, name="worklist_segment"),
    path("worklists/record/<int:person_id>", views.record, name="worklist_record"),
]
