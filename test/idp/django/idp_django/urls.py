"""DOT's token, revocation and introspection endpoints under /o/ (oauth2_provider.urls)."""
from django.urls import include, path

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
