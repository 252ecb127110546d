"""allauth's e-mails in the site's look and wording: branded HTML + text, the site's name."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_sign_up_confirmation_is_branded_html_and_text_named_after_the_site(
    client, mailoutbox, settings
):
    settings.SITE_URL = "https://courses.example.com"

    response = client.post(
        "/accounts/signup/",
        {
            "email": "newcomer@example.com",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )

    assert response.status_code == 302
    [email] = mailoutbox
    assert email.subject == "Confirm your e-mail address for microcourses"
    assert email.body.startswith("Hi,")
    assert "create an account on microcourses" in email.body
    assert "/accounts/confirm-email/" in email.body
    assert "The microcourses team\nhttps://courses.example.com" in email.body
    # Nothing names the host the request came to (allauth's default "Hello from testserver!").
    assert "testserver" not in email.subject and "Hello from" not in email.body
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert 'micro<span style="color:#3b5bdb;">courses</span>' in html  # the e-mail layout
    assert '<a href="http://testserver/accounts/confirm-email/' in html  # the link, clickable
