"""Common Norwegian names and places (SSB name statistics) for demo and synthetic data.

Nobody here is a real person: names are combined at random with synthetic national
identity numbers (month + 80, Tenor style) and fictional addresses.
"""

from __future__ import annotations

FEMALE_GIVEN = (
    "Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg",
    "Hilde", "Anna", "Solveig", "Marianne", "Randi", "Ida", "Nina", "Maria", "Elisabeth",
    "Kristin", "Bente", "Heidi", "Silje", "Hanne", "Gerd", "Linda", "Tone", "Wenche",
    "Ragnhild", "Turid", "Grethe", "Sissel", "Else", "Aud", "Synnøve", "Emma", "Nora",
    "Sofie", "Ingeborg", "Sigrid", "Torunn", "Unni", "Reidun", "Jorunn", "Gunvor", "Oddny",
    "Margit", "Signe", "Ellen", "Karin",
)
MALE_GIVEN = (
    "Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Hans", "Odd",
    "Geir", "Terje", "Thomas", "Tor", "Rune", "Trond", "Morten", "Erik", "Jon", "Nils",
    "Einar", "Harald", "Ivar", "Leif", "Olav", "Rolf", "Sverre", "Magnus", "Jonas", "Henrik",
    "Oddvar", "Asbjørn", "Torbjørn", "Gunnar", "Steinar", "Roar", "Halvor", "Jostein",
    "Kåre", "Arvid", "Reidar", "Alf", "Egil", "Sigurd", "Ragnar", "Tore", "Frode", "Øyvind",
    "Helge",
)
FAMILY = (
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
    "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
    "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen",
    "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg",
    "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen",
    "Mathisen", "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde", "Solheim", "Berge",
    "Moe", "Nygård", "Bakke", "Kristensen", "Fredriksen", "Holm", "Lien", "Hauge",
    "Christensen", "Andresen", "Nielsen", "Knudsen", "Evensen", "Sæther", "Aas", "Myhre",
    "Hanssen", "Ahmed", "Haugland", "Thomassen", "Sivertsen", "Simonsen", "Danielsen",
    "Berntsen", "Sandvik", "Rønning", "Arnesen", "Antonsen", "Næss", "Vik", "Haug",
    "Ellingsen", "Thorsen", "Edvardsen", "Birkeland", "Isaksen", "Gulbrandsen", "Ruud",
    "Aasen", "Strøm", "Myklebust", "Tangen", "Ødegård", "Eliassen", "Helland", "Bøe",
    "Jenssen", "Aune", "Mikkelsen", "Tveit", "Brekke", "Abrahamsen", "Madsen",
)
STREETS = (
    "Storgata", "Kirkeveien", "Skoleveien", "Fjordgata", "Strandveien", "Bakkeveien",
    "Granveien", "Bjørkeveien", "Furuveien", "Elvegata", "Sjøgata", "Nordre gate",
    "Søndre gate", "Lien", "Haugveien", "Prestegårdsveien", "Industriveien", "Stasjonsveien",
    "Solbakken", "Rosenlund", "Heggeveien", "Rognveien", "Lyngveien", "Fjellveien",
    "Kaiveien", "Torget", "Åsveien", "Tunveien", "Markveien", "Myrveien",
)
SHELTERED_HOUSING = ("omsorgsbolig", "bofellesskap")


def ascii_slug(text: str) -> str:
    """'Kåre Ødegård' -> 'kare.odegard' (usernames)."""
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "é": "e", "ä": "a", "ö": "o",
                           "ü": "u", " ": ".", "-": "."})
    return text.lower().translate(table)
