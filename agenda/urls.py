"""The patient's agenda pages, under `/espace/<space>/agenda/` (namespace `agenda`)."""

from agenda.appointments import urls as appointments
from agenda.history import urls as history
from agenda.prevention import urls as prevention

app_name = "agenda"
urlpatterns = [
    *appointments.patient_patterns,
    *prevention.patient_patterns,
    *history.patient_patterns,
]
