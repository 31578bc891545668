from django.urls import path

from dossier import views

app_name = "dossier"

urlpatterns = [
    path("", views.document_list, name="list"),
    path("ajouter/", views.document_add, name="add"),
    path("rediger/", views.document_write, name="write"),
    path("masquer-tout/", views.mask_all, name="mask_all"),
    path("<uuid:document_id>/", views.document_detail, name="detail"),
    path("<uuid:document_id>/telecharger/", views.document_download, name="download"),
    path("<uuid:document_id>/masquer/", views.document_mask, name="mask"),
    path("<uuid:document_id>/representants/", views.document_reveal, name="reveal"),
    path("<uuid:document_id>/nouvelle-version/", views.document_new_version, name="new_version"),
]
