"""The agenda pages of the pro portal, under `/pro/patients/<space>/agenda/`
(namespace `agenda_pro`)."""

from agenda.appointments import urls as appointments
from agenda.history import urls as history

app_name = "agenda_pro"
urlpatterns = [*appointments.pro_patterns, *history.pro_patterns]
