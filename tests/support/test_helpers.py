"""The shared test helpers do what the tests rely on."""

import smtplib
import threading

import pytest

from tests.support.browser import DEFAULT_CHROMIUM_PATH, chromium_launch_args, chromium_path
from tests.support.network import accepts_connections, free_port
from tests.support.smtp import SmtpSink, smtp_server
from tests.support.waiting import wait_for


def test_chromium_comes_from_chromium_path_when_set(monkeypatch):
    monkeypatch.setenv("CHROMIUM_PATH", "/opt/chromium/chrome")

    assert chromium_path() == "/opt/chromium/chrome"
    assert chromium_launch_args({"headless": True})["executable_path"] == "/opt/chromium/chrome"
    assert chromium_launch_args({"headless": True})["headless"] is True


@pytest.mark.parametrize("value", [None, ""])
def test_chromium_defaults_to_debians_when_chromium_path_is_unset_or_empty(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    else:
        monkeypatch.setenv("CHROMIUM_PATH", value)

    assert chromium_path() == DEFAULT_CHROMIUM_PATH == "/usr/bin/chromium"


def test_wait_for_returns_once_another_thread_makes_the_condition_true():
    done = threading.Event()
    threading.Timer(0.1, done.set).start()

    wait_for(done.is_set, timeout=5, what="the timer")

    assert done.is_set()


def test_wait_for_names_what_it_waited_for_when_it_gives_up():
    with pytest.raises(AssertionError, match=r"Timed out after 0\.1 s waiting for the moon"):
        wait_for(lambda: False, timeout=0.1, what="the moon")


def test_a_free_port_takes_connections_only_once_a_server_listens_on_it():
    with smtp_server(SmtpSink()) as sink:
        assert accepts_connections(sink.port)
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: Hi\r\n\r\nHello\r\n")
        wait_for(lambda: sink.count == 1, timeout=5, what="the message")

    assert [message["Subject"] for message in sink.messages()] == ["Hi"]
    assert not accepts_connections(free_port())
