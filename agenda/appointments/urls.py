"""The appointments pages (patient: `patient_patterns`; pro portal: `pro_patterns`; the
iCalendar feed: `feed_patterns`, mounted by `agenda.feed_urls`)."""

from django.urls import path

from agenda.appointments import feed_views, pro_views, views

patient_patterns = [
    path("", views.home, name="home"),
    path("rendez-vous/", views.appointment_list, name="appointments"),
    path("calendrier/", views.calendar_view, name="calendar"),
    path("rendez-vous/nouveau/", views.add, name="add"),
    path("rendez-vous/<uuid:appointment_id>/", views.detail, name="detail"),
    path("rendez-vous/<uuid:appointment_id>/modifier/", views.edit, name="edit"),
    path("rendez-vous/<uuid:appointment_id>/annuler/", views.cancel, name="cancel"),
    path("rendez-vous/<uuid:appointment_id>/rendez-vous.ics", views.download, name="download"),
    path("flux/creer/", views.feed_create, name="feed_create"),
    path("flux/renouveler/", views.feed_renew, name="feed_renew"),
    path("flux/revoquer/", views.feed_revoke, name="feed_revoke"),
    path("flux/details/", views.feed_details, name="feed_details"),
]
pro_patterns = [
    path("rendez-vous/nouveau/", pro_views.add, name="add_appointment"),
]
feed_patterns = [
    path("<str:token>.ics", feed_views.feed, name="feed"),
]
