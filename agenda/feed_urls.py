"""The iCalendar feed, under `/agenda/` with no space in the path: its secret token says
whose it is (namespace `agenda_feed`; `agenda.appointments`)."""

from agenda.appointments import urls as appointments

app_name = "agenda_feed"
urlpatterns = [*appointments.feed_patterns]
