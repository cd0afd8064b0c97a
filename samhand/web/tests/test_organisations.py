"""The organisation directory: the hierarchy with identifiers and 24-hour numbers."""

from __future__ import annotations

from typing import Any

from .helpers import as_user, text


def test_the_directory_shows_the_hierarchy_with_numbers(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get("/organisations/")
    html = text(response)

    assert response.status_code == 200
    sections = {s["key"]: list(s["page"]) for s in response.context["sections"]}
    assert sections["hospitals"] == [world.hospital]
    assert set(sections["municipalities"]) == {world.fjordby, world.nesvik}
    assert world.gp_office in sections["gp_offices"]
    assert "Lungemedisinsk avdeling" in html and "77 00 10 00" in html
    assert "983974899" in html  # organisation number
    assert "Patient" not in html.split("<main")[1].split("</main>")[0]


def test_the_directory_is_searchable_by_name_and_by_identifier(world: Any) -> None:
    client = as_user(world, world.home_nurse_a)

    by_name = client.get("/organisations/?q=nesvik")
    by_her = client.get("/organisations/?q=2003")

    assert {o.name for o in by_name.context["results"]} == {"Nesvik kommune",
                                                            "Hjemmesykepleien Nesvik"}
    assert [o for o in by_her.context["results"]] == [world.gp_office]
    assert "Part of Fjordby kommune" in text(by_her)


def test_the_directory_is_open_to_every_logged_in_user(world: Any) -> None:
    for user in (world.nobody, world.relative_a, world.clerk_a):
        assert as_user(world, user).get("/organisations/").status_code == 200


def test_an_unmatched_search_says_so(world: Any) -> None:
    response = as_user(world, world.home_nurse_a).get("/organisations/?q=Atlantis")
    assert response.context["result_count"] == 0
    assert "No organisations match the search." in text(response)
