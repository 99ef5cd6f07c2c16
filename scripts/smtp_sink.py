"""An SMTP sink for tests: every message it receives becomes <dir>/<n>.eml (the DATA bytes
exactly as received, after dot-unstuffing) and <dir>/<n>.json ({"from", "to"}), the .json
last. Usage: smtp_sink.py HOST PORT DIR [DELAY_SECONDS]: with a delay, each message is
answered that long after its data arrives (a slow relay). Runs until killed."""

import asyncio
import json
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, delay):
        self.directory = directory
        self.delay = delay
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.count += 1
        base = os.path.join(self.directory, f"{self.count:06d}")
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 OK queued as sink-%d" % self.count


def main():
    host, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    os.makedirs(directory, exist_ok=True)
    # decode_data=False keeps the bytes; 8BITMIME and SMTPUTF8 as a real relay offers them.
    controller = Controller(Sink(directory, delay), hostname=host, port=port, decode_data=False,
                            enable_SMTPUTF8=True, data_size_limit=50 * 1024 * 1024)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
