"""python -m coko.devtools.simulators [--dir DIR] [--web-url URL] NAME[:PORT] ...

Serves the named simulators (``orange-sms``, ``twilio``, ``fcm``, ``webpush``, ``sendgrid``,
``wave``, ``orange-money``, ``stripe``) on 127.0.0.1, each on its fixed port unless ``:PORT``
is given (``:0`` = any free port), recording to ``DIR/<name>.jsonl`` (default
``var/simulators``). Wave and Stripe send their webhooks to
``URL/api/v1/payment/webhooks/<name>`` (URL: ``http://127.0.0.1:8000``; Orange Money sends
each notification to the payment's own ``notif_url``). Prints one JSON line
``{"name", "url"}`` per simulator once it listens; SIGTERM or Ctrl-C stops them.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from . import SIMULATORS, fcm, stripe, wave, webpush
from .local import WEB_URL, webhook_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coko.devtools.simulators", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=None, help="where the records go (default var/simulators)")
    parser.add_argument("--web-url", default=WEB_URL, help=f"where Coko listens, for webhooks (default {WEB_URL})")
    parser.add_argument("names", nargs="+", metavar="NAME[:PORT]")
    args = parser.parse_args(argv)
    if args.dir is None:
        from ..services import VAR

        args.dir = VAR / "simulators"
    args.dir.mkdir(parents=True, exist_ok=True)

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    running = []
    try:
        for spec in args.names:
            name, _, port = spec.partition(":")
            if name not in SIMULATORS:
                parser.error(f"unknown simulator {name!r} (one of {', '.join(SIMULATORS)})")
            cls = SIMULATORS[name]
            kw: dict = {"port": int(port) if port else cls.default_port, "record_to": args.dir / f"{name}.jsonl"}
            if cls is fcm.FcmSimulator:
                kw["project_id"] = fcm.PROJECT_ID
            if cls is webpush.WebPushSimulator:
                kw["keys_file"] = args.dir / "webpush-subscriptions.json"
            if cls in (wave.WaveSimulator, stripe.StripeSimulator):
                kw["webhook_url"] = webhook_url(name, args.web_url)
            sim = cls(**kw)
            try:
                sim.start()
            except OSError as exc:
                sys.stderr.write(f"coko: the {name} simulator cannot listen on 127.0.0.1:{kw['port']} "
                                 f"({exc.strerror}); free that port or start Coko with COKO_SIMULATORS=0\n")
                sys.stderr.flush()
                return 1
            running.append(sim)
            sys.stdout.write(json.dumps({"name": name, "url": sim.url}) + "\n")  # the parent reads this line
            sys.stdout.flush()
        while not stopping.wait(0.2):
            pass
        return 0
    finally:
        for sim in running:
            sim.stop()


if __name__ == "__main__":
    sys.exit(main())
