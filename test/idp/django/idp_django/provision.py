"""
Creates the run's applications and user from a JSON document on stdin:
{"applications": [{"client_id", "client_secret", "grant": "client-credentials" | "password"}],
 "user": {"username", "password"}}. Run once after `migrate`, on a fresh database.
"""
import json
import sys

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from oauth2_provider.models import get_application_model  # noqa: E402


def main():
    wanted = json.load(sys.stdin)
    Application = get_application_model()
    for app in wanted["applications"]:
        Application.objects.create(
            name=app["client_id"],
            client_id=app["client_id"],
            client_secret=app["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=app["grant"],
        )
    user = wanted["user"]
    get_user_model().objects.create_user(username=user["username"], password=user["password"])
    print("provisioned", len(wanted["applications"]), "applications and", user["username"])


if __name__ == "__main__":
    main()
