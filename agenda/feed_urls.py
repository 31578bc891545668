"""The iCalendar feed, under `/agenda/` with no space in the path: its secret token says
whose it is (namespace `agenda_feed`; `agenda.appointments`)."""

app_name = "agenda_feed"
urlpatterns = []
