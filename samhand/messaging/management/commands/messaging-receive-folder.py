"""`samhand messaging-receive-folder DIR`: receive messages that systems drop as files.

Files `DIR/in/*.json` are received exactly as if POSTed to /fhir/$process-message
(without a token: the folder is trusted, its permissions are the access control). The
acknowledgement (or OperationOutcome) is written to `DIR/out/<name>.ack.json`, then the
file moves to `DIR/done/` (or, where the receiver itself fails on it, to `DIR/failed/`,
kept as a failed transmission for the operator). A file is only read once complete:
writers should write `name.json.tmp` and rename it (rename is atomic), which this command
also does.

    samhand messaging-receive-folder /srv/samhand/drop            watch (every 2 s)
    samhand messaging-receive-folder /srv/samhand/drop --once     one pass

Up to `--batch` files (default 100) are received in one transaction (group commit);
each message still gets its own answer, and a message that fails only fails itself.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from samhand.lib.worker import run_rounds
from samhand.messaging.models import Transmission
from samhand.messaging.receive import Reply, keep_failed, receive_many

BATCH_SIZE = 100
logger = logging.getLogger("samhand.messaging")


def process_folder(root: Path, batch_size: int = BATCH_SIZE) -> int:
    """One pass: the files in batches of `batch_size`, each batch in one transaction
    (`receive_many`); answers are written and files moved only after its COMMIT."""
    incoming, out, done, failed = (root / "in", root / "out", root / "done",
                                   root / "failed")
    for folder in (incoming, out, done, failed):
        folder.mkdir(parents=True, exist_ok=True)
    paths = sorted(incoming.glob("*.json"))
    count = 0
    for start in range(0, len(paths), max(1, batch_size)):
        batch = paths[start:start + max(1, batch_size)]
        for path, reply in zip(batch, _receive([path.read_bytes() for path in batch]),
                               strict=True):
            target = out / f"{path.stem}.ack.json"
            tmp = target.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(reply.body, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, target)
            os.replace(path, (failed if reply.outcome == "failed" else done) / path.name)
            count += 1
    return count


def _receive(raws: list[bytes]) -> list[Reply]:
    """The batch's answers. A defect in the receiver that fails a whole batch (rather
    than answering each message) must not hold back the other files for ever: the batch
    is received again a file at a time, and a file that fails on its own is kept for
    the operator (a failed transmission, and DIR/failed/), answered "failed"."""
    try:
        return list(receive_many(raws, via=Transmission.Via.FOLDER))
    except Exception:
        if len(raws) == 1:
            return [Reply(500, keep_failed(raws[0], Transmission.Via.FOLDER),
                          outcome="failed")]
        logger.exception("the receiver failed on a batch of %s files; each on its own",
                         len(raws))
    return [answer for raw in raws for answer in _receive([raw])]


class Command(BaseCommand):
    help = "Receive FHIR messages dropped as files in DIR/in; acknowledgements go to DIR/out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory")
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--interval", type=float, default=2.0)
        parser.add_argument("--batch", type=int, default=BATCH_SIZE,
                            help="messages per transaction (default %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(options["directory"])

        def step() -> bool:
            count = process_folder(root, options["batch"])
            if count and options["verbosity"] > 0:
                self.stdout.write(f"received {count}")
            return False  # files arrive at their own pace: look again after the interval

        run_rounds(step, interval=options["interval"], once=options["once"], logger=logger,
                   name="messaging-receive-folder")
