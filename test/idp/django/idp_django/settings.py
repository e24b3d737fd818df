"""
The smallest Django project that serves django-oauth-toolkit 1.7 (Debian's python3-django-oauth-toolkit)
for test/idp/run.mjs: token, revocation and RFC 7662 introspection endpoints under /o/, an sqlite
database in the run's state folder (IDP_STATE_DIR), nothing else (no admin, no sessions, no templates).

OIDC stays off: DOT 1.7 would serve its metadata only at /o/.well-known/openid-configuration/ (with the
trailing slash), which no RFC 8414 or OIDC discovery client asks for, and its access tokens are opaque
either way, so the guard is given the endpoints explicitly.
"""
import os

STATE_DIR = os.environ["IDP_STATE_DIR"]

SECRET_KEY = os.environ.get("IDP_DJANGO_SECRET_KEY", "test-idp-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "oauth2_provider",
]
MIDDLEWARE = []
ROOT_URLCONF = "idp_django.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(STATE_DIR, "dot.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
# The password grant's user; the default hasher would cost ~0.3 s per check on a 2-core CI machine.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False}

DEFAULT_LIFETIME = 3600
MAX_ASKED_LIFETIME = 60


def access_token_lifetime(request):
    """
    Seconds an access token lives. oauthlib's BearerToken calls this per token request (DOT passes
    ACCESS_TOKEN_EXPIRE_SECONDS to it as token_expires_in), so the expiry check can ask for a token of
    a few seconds with a `lifetime` form field instead of every token of the run being short-lived.
    """
    asked = dict(request.decoded_body or []).get("lifetime")
    if asked and asked.isdigit() and 0 < int(asked) <= MAX_ASKED_LIFETIME:
        return int(asked)
    return DEFAULT_LIFETIME


OAUTH2_PROVIDER = {
    # DOT grants any configured scope to any client that asks (no per-application restriction): the
    # reporter's token can carry orders.write, which the API's permissions must then take away.
    "SCOPES": {
        "orders.read": "Read orders",
        "orders.write": "Create orders",
        "inventory.read": "Read the inventory (another API)",
        "introspection": "Introspect tokens",
    },
    "DEFAULT_SCOPES": ["orders.read"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": access_token_lifetime,
}
