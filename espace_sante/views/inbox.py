"""The user's notifications in the portal."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from espace_sante import notifications
from espace_sante.models import Notification

PAGE_SIZE = 25


@login_required
def notification_list(request):
    page = Paginator(
        Notification.objects.filter(recipient=request.user).only(
            "subject", "body", "link", "created_at", "read_at"
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(request, "espace_sante/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request):
    raw = request.POST.get("notification")
    notification_id = int(raw) if raw and raw.isdigit() else None
    count = notifications.mark_read(user=request.user, notification_id=notification_id)
    if notification_id is None:
        messages.success(request, _("Toutes vos notifications sont marquées comme lues."))
    elif not count:
        messages.info(request, _("Cette notification était déjà lue."))
    return redirect("espace_sante:notifications")
