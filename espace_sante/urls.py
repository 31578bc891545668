from django.contrib import admin
from django.urls import include, path

from espace_sante import views

portal_patterns = [
    path("", views.home, name="home"),
    path("connexion/suite/", views.after_login, name="after_login"),
    path("connexion/verification/", views.verify, name="verify"),
    path("connexion/verification/renvoyer/", views.resend_code, name="resend_code"),
    path("connexion/totp/", views.totp_setup, name="totp_setup"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/lues/", views.notification_read, name="notification_read"),
    path("espace/<uuid:space_id>/", views.space_home, name="space"),
    path("espace/<uuid:space_id>/historique/", views.space_history, name="history"),
    path("espace/<uuid:space_id>/activer/", views.space_activate_for_minor, name="activate_minor"),
    path("espace/<uuid:space_id>/telecharger/", views.space_export, name="export"),
    path("espace/<uuid:space_id>/telecharger/<uuid:job_id>/", views.export_job, name="export_job"),
    path(
        "espace/<uuid:space_id>/telecharger/<uuid:job_id>/archive/",
        views.export_download,
        name="export_download",
    ),
    path("espace/<uuid:space_id>/cloture/", views.space_close, name="close"),
    path("espace/<uuid:space_id>/suppression/", views.space_deletion, name="deletion"),
    # The paths the codes' emails and letters print: keep them as they are.
    path("activer/", views.activate, name="activate"),
    path("opposition/", views.oppose, name="oppose"),
    path("opposition/enregistree/", views.oppose_done, name="oppose_done"),
    path("code-perdu/", views.lost_code, name="lost_code"),
    path("reactiver/", views.reactivate, name="reactivate"),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("mentions-legales/", views.legal_notices, name="legal_notices"),
    path("donnees-personnelles/", views.personal_data, name="personal_data"),
]

urlpatterns = [
    path("", include((portal_patterns, "espace_sante"))),
    path("espace/<uuid:space_id>/documents/", include("dossier.urls")),
    path("espace/<uuid:space_id>/profil/", include("dossier.profile_urls")),
    path("espace/<uuid:space_id>/acces/", include("acces.patient_urls")),
    path("comptes/", include("allauth.urls")),
    path("pro/", include("acces.urls")),
    path("pro/patients/<uuid:space_id>/documents/", include("dossier.pro_urls")),
    path("pro/patients/<uuid:space_id>/profil/", include("dossier.pro_profile_urls")),
    # The admin signs in through the same door, so its second factor is enforced too.
    path("admin/login/", views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]
