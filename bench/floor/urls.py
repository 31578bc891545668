from django.http import HttpResponse
from django.urls import path

# About 4 KB of HTML, the size of a small page.
PAGE = (
    "<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Plancher</title>"
    "</head><body><main>"
    + "<p>Une page constante, servie par Django sans base de données.</p>" * 60
    + "</main></body></html>"
)


def floor(request):
    return HttpResponse(PAGE)


urlpatterns = [path("", floor)]
