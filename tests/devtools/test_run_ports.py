"""``make run`` opens only ports that can be moved, and says which variable moves a taken one.

The fault it stops: a second checkout (or any program) holding 1025, 9101 … made the
second ``make run`` die with a traceback, or its SMTP server silently never started.
"""

from __future__ import annotations

import socket

import pytest

from coko.devtools import runner
from coko.devtools.simulators import local


def test_every_port_make_run_opens_has_a_variable_and_a_default():
    plan = runner.ports_plan({}, simulators_wanted=local.plan({}))
    assert {(variable, port) for _, variable, port in plan} == {
        ("COKO_PORT", 8000), ("COKO_WORKER_METRICS_PORT", 9191), ("COKO_RELAY_HTTP_PORT", 9192),
        ("COKO_SMTP_PORT", 1025), ("COKO_SIM_ORANGE_SMS_PORT", 9101), ("COKO_SIM_FCM_PORT", 9103),
        ("COKO_SIM_WEBPUSH_PORT", 9104), ("COKO_SIM_WAVE_PORT", 9105), ("COKO_SIM_ORANGE_MONEY_PORT", 9106),
        ("COKO_SIM_STRIPE_PORT", 9107)}


def test_each_variable_moves_its_port_and_a_configured_smtp_server_needs_none():
    environ = {"COKO_SMTP_PORT": "2525", "COKO_SIM_FCM_PORT": "19103", "EMAIL_HOST": ""}
    plan = {variable: port for _, variable, port in runner.ports_plan(environ, simulators_wanted=["fcm"])}
    assert plan["COKO_SMTP_PORT"] == 2525 and plan["COKO_SIM_FCM_PORT"] == 19103
    configured = runner.ports_plan({"EMAIL_HOST": "smtp.example.org"}, simulators_wanted=[])
    assert "COKO_SMTP_PORT" not in {variable for _, variable, _ in configured}


def test_a_port_that_is_not_a_port_stops_with_the_variable_named():
    with pytest.raises(SystemExit, match="COKO_SMTP_PORT='smtp' is not a TCP port"):
        runner.ports_plan({"COKO_SMTP_PORT": "smtp"}, simulators_wanted=[])


def test_a_taken_port_is_one_line_naming_the_variable_to_set():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        lines = runner.ports_taken(runner.ports_plan({"COKO_SMTP_PORT": str(taken)}, simulators_wanted=[]),
                                   "127.0.0.1")
    assert [line for line in lines if "COKO_SMTP_PORT" in line] == [
        f"port {taken} (the local SMTP server) is taken by another program: set COKO_SMTP_PORT to a free "
        f"port (COKO_SMTP_PORT={taken + 10} make run)"]
