"""The project's URLs: top-level glue, which mounts every app (docs/ARCHITECTURE.md).

The pages of a space are the core's (`espace_sante:` names) but ask the policy, so
they come from `acces.space_views`; the other apps are included by name.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from acces import space_views
from espace_sante.views import inbox, journeys, pages, signin

portal_patterns = [
    path("", space_views.home, name="home"),
    path("connexion/suite/", signin.after_login, name="after_login"),
    path("connexion/verification/", signin.verify, name="verify"),
    path("connexion/verification/renvoyer/", signin.resend_code, name="resend_code"),
    path("connexion/totp/", signin.totp_setup, name="totp_setup"),
    path(
        "connexion/franceconnect/activer/",
        signin.franceconnect_activate,
        name="franceconnect_activate",
    ),
    path("notifications/", inbox.notification_list, name="notifications"),
    path("notifications/lues/", inbox.notification_read, name="notification_read"),
    path("espace/<uuid:space_id>/", space_views.space_home, name="space"),
    path("espace/<uuid:space_id>/historique/", space_views.space_history, name="history"),
    path(
        "espace/<uuid:space_id>/activer/",
        space_views.space_activate_for_minor,
        name="activate_minor",
    ),
    path("espace/<uuid:space_id>/telecharger/", space_views.space_export, name="export"),
    path(
        "espace/<uuid:space_id>/telecharger/<uuid:job_id>/",
        space_views.export_job,
        name="export_job",
    ),
    path(
        "espace/<uuid:space_id>/telecharger/<uuid:job_id>/archive/",
        space_views.export_download,
        name="export_download",
    ),
    path("espace/<uuid:space_id>/cloture/", space_views.space_close, name="close"),
    path("espace/<uuid:space_id>/suppression/", space_views.space_deletion, name="deletion"),
    # The paths the codes' emails and letters print: keep them as they are.
    path("activer/", journeys.activate, name="activate"),
    path("opposition/", journeys.oppose, name="oppose"),
    path("opposition/enregistree/", journeys.oppose_done, name="oppose_done"),
    path("code-perdu/", journeys.lost_code, name="lost_code"),
    path("reactiver/", journeys.reactivate, name="reactivate"),
    path("accessibilite/", pages.accessibility, name="accessibility"),
    path("mentions-legales/", pages.legal_notices, name="legal_notices"),
    path("donnees-personnelles/", pages.personal_data, name="personal_data"),
]

urlpatterns = [
    path("", include((portal_patterns, "espace_sante"))),
    path("espace/<uuid:space_id>/documents/", include("dossier.urls")),
    path("espace/<uuid:space_id>/profil/", include("dossier.profile_urls")),
    path("espace/<uuid:space_id>/acces/", include("acces.patient_urls")),
    path("espace/<uuid:space_id>/messagerie/", include("messagerie.urls")),
    path("espace/<uuid:space_id>/agenda/", include("agenda.urls")),
    path("espace/<uuid:space_id>/services/", include("catalogue.connections.urls")),
    # The catalogue's OAuth2 server (django-oauth-toolkit) and its SMART discovery document.
    path("oauth/", include("catalogue.connections.oauth_urls")),
    path(".well-known/", include("catalogue.connections.wellknown_urls")),
    # Pro Santé Connect and FranceConnect start here (a `nonce`), then allauth takes over.
    path(
        "comptes/oidc/<str:provider_id>/login/",
        signin.identity_provider_login,
        name="identity_provider_login",
    ),
    # allauth's error page (a 401) is never our answer: the adapter sends every failed
    # national sign-in back to the sign-in page with a message.
    path(
        "comptes/3rdparty/login/error/",
        RedirectView.as_view(pattern_name="account_login"),
        name="identity_provider_error",
    ),
    # allauth's account pages, its third-party pages and the OpenID Connect routes, without
    # its legacy `social/` redirects.
    path("comptes/", include("allauth.account.urls")),
    path("comptes/3rdparty/", include("allauth.socialaccount.urls")),
    path("comptes/", include("allauth.socialaccount.providers.openid_connect.urls")),
    path("fhir/", include("catalogue.api.urls")),
    path("fhir", include("catalogue.api.transaction_urls")),
    path("pro/", include("acces.urls")),
    path("pro/patients/<uuid:space_id>/documents/", include("dossier.pro_urls")),
    path("pro/patients/<uuid:space_id>/profil/", include("dossier.pro_profile_urls")),
    path("pro/messagerie/", include("messagerie.pro_urls")),
    path("pro/patients/<uuid:space_id>/agenda/", include("agenda.pro_urls")),
    path("agenda/", include("agenda.feed_urls")),
    path("catalogue/", include("catalogue.directory.urls")),
    # The admin signs in through the same door, so its second factor is enforced too.
    path("admin/login/", signin.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]
