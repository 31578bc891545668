from django.urls import path

from dossier import pro_views, views

app_name = "pro_documents"

urlpatterns = [
    path("", pro_views.document_list, name="list"),
    path("ajouter/", pro_views.document_add, name="add"),
    path("<uuid:document_id>/", pro_views.document_detail, name="detail"),
    path("<uuid:document_id>/telecharger/", views.document_download, name="download"),
    path("<uuid:document_id>/annoncer/", pro_views.document_announce, name="announce"),
]
