from django.urls import path

from messagerie import pro_views

app_name = "messagerie_pro"

urlpatterns = [
    path("", pro_views.inbox, name="inbox"),
    path("nouveau/", pro_views.choose_patient, name="choose"),
    path("alertes/", pro_views.email_alerts, name="alerts"),
    path("patients/<uuid:space_id>/nouveau/", pro_views.compose, name="compose"),
    path("<uuid:conversation_id>/", pro_views.conversation, name="conversation"),
    path("<uuid:conversation_id>/repondre/", pro_views.reply, name="reply"),
    path("<uuid:conversation_id>/fin/", pro_views.end, name="end"),
    path("<uuid:conversation_id>/corbeille/", pro_views.move_to_trash, name="trash"),
    path("<uuid:conversation_id>/restaurer/", pro_views.restore, name="restore"),
    path("<uuid:conversation_id>/supprimer/", pro_views.delete, name="delete"),
    path(
        "<uuid:conversation_id>/pieces-jointes/<uuid:attachment_id>/",
        pro_views.download,
        name="download",
    ),
    path(
        "<uuid:conversation_id>/pieces-jointes/<uuid:attachment_id>/classer/",
        pro_views.file_into_dmp,
        name="file",
    ),
]
