"""The `samhand` command: Django's management commands under one name.

    samhand demo            migrate, load demo data, serve on http://127.0.0.1:8000
    samhand generate -p N   synthetic patients in bulk
    samhand audit verify    check the audit hash chain
    samhand <any Django management command>
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samhand.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["samhand", *argv])
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
