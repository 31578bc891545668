"""The patient's messaging pages, under espace/<space_id>/messagerie/."""

from django.urls import path

from messagerie import views

app_name = "messagerie"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("envoyes/", views.sent, name="sent"),
    path("brouillons/", views.drafts, name="drafts"),
    path("corbeille/", views.trash_folder, name="trash"),
    path("nouveau/", views.compose, name="compose"),
    path("ordonnance/", views.prescription, name="prescription"),
    path("<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("<uuid:conversation_id>/repondre/", views.reply, name="reply"),
    path("<uuid:conversation_id>/corbeille/", views.move_to_trash, name="move_to_trash"),
    path("<uuid:conversation_id>/restaurer/", views.restore, name="restore"),
    path("<uuid:conversation_id>/supprimer/", views.delete, name="delete"),
    path("pieces-jointes/<uuid:attachment_id>/", views.download, name="download"),
    path(
        "pieces-jointes/<uuid:attachment_id>/ajouter-aux-documents/",
        views.add_to_documents,
        name="add_to_documents",
    ),
    path("refuser/<str:rpps>/", views.refuse_sender, name="refuse_sender"),
    path("accepter/<str:rpps>/", views.lift_refusal, name="lift_refusal"),
]
