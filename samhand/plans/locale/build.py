"""Write locale/{nb,da}/LC_MESSAGES/django.po of the plans app from nb_translations.py
and da_translations.py, then compile them in samhand/plans:
`DJANGO_SETTINGS_MODULE=samhand.settings uv run django-admin compilemessages`.

    uv run python samhand/plans/locale/build.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from da_translations import DA, DA_PLURAL  # noqa: E402
from nb_translations import NB, NB_PLURAL  # noqa: E402

HEADER = '''msgid ""
msgstr ""
"Project-Id-Version: samhand plans\\n"
"Language: LANG\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

'''


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write(lang: str, singular: dict[str, str],
          plural_forms: dict[str, tuple[str, str]]) -> None:
    out = [HEADER.replace("LANG", lang)]
    for msgid, msgstr in singular.items():
        flag = "#, python-format\n" if "%(" in msgid else ""
        out.append(f"{flag}msgid {quote(msgid)}\nmsgstr {quote(msgstr)}\n\n")
    for msgid, (one, other) in plural_forms.items():
        plural = msgid.replace(" contact has", " contacts have").replace(" field ", " fields ")
        plural = plural.replace("Check it", "Check them")
        out.append(f"#, python-format\nmsgid {quote(msgid)}\nmsgid_plural {quote(plural)}\n"
                   f"msgstr[0] {quote(one)}\nmsgstr[1] {quote(other)}\n\n")
    target = HERE / lang / "LC_MESSAGES" / "django.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(out), encoding="utf-8")


def main() -> None:
    write("nb", NB, NB_PLURAL)
    write("da", DA, DA_PLURAL)


if __name__ == "__main__":
    main()
