from django.urls import path

from . import views

urlpatterns = [
    path("holds/", views.hold_list, name="hold_list"),
    path("holds/worklist", views.worklist, name="hold_worklist"),
    path("holds/notices/", views.notice_list, name="notice_list"),
    path("holds/notices/<int:notice_id>", views.notice_detail, name="notice_detail"),
    path("holds/breathing-space/<int:moratorium_id>", views.moratorium_detail, name="moratorium_detail"),
    path("people/<int:person_id>/holds", views.person_holds, name="person_holds"),
    path("people/<int:person_id>/holds/<int:hold_id>/end", views.end_hold, name="end_hold"),
    path("people/<int:person_id>/vulnerability", views.record_vulnerability, name="record_vulnerability"),
    path("people/<int:person_id>/breathing-space", views.enter_moratorium, name="enter_moratorium"),
    path("people/<int:person_id>/not-sent", views.not_sent, name="not_sent"),
]
