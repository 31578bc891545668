"""'Mes services connectés', under `/espace/<space>/services/` (namespace `connections`)."""

from django.urls import path

from catalogue.connections import views

app_name = "connections"
urlpatterns = [
    path("", views.connection_list, name="list"),
    path("<int:connection_id>/deconnecter/", views.disconnect, name="disconnect"),
    path("<int:connection_id>/approuver/", views.reapprove, name="reapprove"),
    path("<int:connection_id>/retirer/<int:grant_id>/", views.withdraw, name="withdraw"),
]
