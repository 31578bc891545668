from django.urls import path

from acces import patient_views as views

app_name = "acces_patient"

urlpatterns = [
    path("", views.access_page, name="page"),
    path("autoriser/", views.authorise, name="authorise"),
    path("medecin-traitant/", views.designate, name="designate"),
    path("retirer/<int:relation_id>/", views.revoke, name="revoke"),
    path("bloquer/<str:rpps>/", views.block, name="block"),
    path("debloquer/", views.unblock, name="unblock"),
    path("urgence/", views.emergency_settings, name="emergency"),
]
