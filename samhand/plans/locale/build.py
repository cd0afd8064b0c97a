"""Write locale/nb/LC_MESSAGES/django.po of the plans app from nb_translations.py, then
run `uv run samhand compilemessages` (or django-admin compilemessages) in samhand/plans.

    uv run python samhand/plans/locale/build.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from nb_translations import NB, NB_PLURAL  # noqa: E402

HEADER = '''msgid ""
msgstr ""
"Project-Id-Version: samhand plans\\n"
"Language: nb\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

'''


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> None:
    out = [HEADER]
    for msgid, msgstr in NB.items():
        flag = "#, python-format\n" if "%(" in msgid else ""
        out.append(f"{flag}msgid {quote(msgid)}\nmsgstr {quote(msgstr)}\n\n")
    for msgid, (one, other) in NB_PLURAL.items():
        plural = msgid.replace(" contact has", " contacts have").replace(" field ", " fields ")
        plural = plural.replace("Check it", "Check them")
        out.append(f"#, python-format\nmsgid {quote(msgid)}\nmsgid_plural {quote(plural)}\n"
                   f"msgstr[0] {quote(one)}\nmsgstr[1] {quote(other)}\n\n")
    target = HERE / "nb" / "LC_MESSAGES" / "django.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
