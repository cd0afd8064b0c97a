"""`samhand generate --patients N`: synthetic patients in bulk, with a progress bar.

    samhand generate --patients 300000 --municipalities 356 --seed 1

Re-running adds more patients (new synthetic numbers, none reused).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from samhand.demo.synthetic import generate_patients


class Command(BaseCommand):
    help = "Add N synthetic patients with care teams, consents and relatives"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", "-p", type=int, required=True,
                            help="How many patients to add.")
        parser.add_argument("--municipalities", "-m", type=int, default=356,
                            help="How many municipalities to spread them over (default 356, "
                                 "as many as Norway has).")
        parser.add_argument("--seed", type=int, default=1,
                            help="Random seed (default 1).")
        parser.add_argument("--batch-size", type=int, default=5000,
                            help="Rows per INSERT batch (default 5000).")

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["patients"]
        if count < 1:
            raise CommandError("--patients must be at least 1")
        if not 1 <= options["municipalities"] <= 999:
            raise CommandError("--municipalities must be between 1 and 999")
        with tqdm(total=count, unit="patients", unit_scale=True, file=self.stderr._out,
                  disable=options["verbosity"] == 0) as bar:
            result = generate_patients(count, municipalities=options["municipalities"],
                                       seed=options["seed"], batch_size=options["batch_size"],
                                       progress=bar.update)
        if options["verbosity"]:
            rate = result.created / result.seconds if result.seconds else 0
            self.stdout.write(self.style.SUCCESS(
                f"Added {result.created} patients in {result.seconds:.1f} s "
                f"({rate:.0f}/s); {result.total_patients} patients in the database."))
            self.stdout.write(f"Biggest home nursing unit: {result.biggest_unit.name} "
                              f"(log in as {result.biggest_unit_user.username}).")
