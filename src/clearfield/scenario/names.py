"""Fictional place names for the synthetic region: settlements, districts and rivers."""

from __future__ import annotations

import random
import re

__all__ = ["RIVERS", "place_name"]


_ONSET = [
    "Bor",
    "Vel",
    "Kra",
    "Ost",
    "Mir",
    "Lis",
    "Dub",
    "Sos",
    "Zel",
    "Kam",
    "Bil",
    "Cher",
    "Hor",
    "Yar",
    "Pet",
    "Ol",
    "Var",
    "Tor",
    "Nov",
    "Star",
    "Vys",
    "Niz",
    "Rud",
    "Pol",
    "Lug",
    "Klen",
    "Ber",
    "Sok",
    "Vol",
    "Krin",
    "Mal",
    "Hlyb",
    "Sav",
    "Dol",
    "Zar",
    "Tal",
    "Hrab",
    "Yas",
]
_MID = ("", "", "o", "a", "e", "iv", "ov", "en", "an", "ol", "ash", "ich", "yl")
_END = [
    "ka",
    "ivka",
    "ove",
    "ne",
    "ets",
    "yn",
    "ychi",
    "ino",
    "ske",
    "any",
    "ik",
    "opil",
    "ohrad",
    "ivtsi",
    "ur",
    "ets",
    "ianka",
]
_PREFIX = ("", "", "", "", "Nova ", "Stara ", "Velyka ", "Mala ", "Verkhnia ", "Nyzhnia ")
RIVERS = [
    "Vela",
    "Sarna",
    "Orela",
    "Tovra",
    "Lesna",
    "Bystrytsia",
    "Kamenka",
    "Solonka",
    "Dubrava",
    "Mokrets",
    "Yalka",
    "Velychka",
    "Tysna",
    "Zorya",
]


def place_name(rnd: random.Random, used: set[str]) -> str:
    """A fictional, unique place name (``used`` keeps the names already given)."""
    for attempt in range(200):
        name = rnd.choice(_ONSET) + rnd.choice(_MID) + rnd.choice(_END)
        name = re.sub(r"([aeiouy])\1", r"\1", re.sub(r"([aeiouy])([aeiouy])", r"\1", name))
        if attempt > 20:
            name = rnd.choice(_PREFIX[4:]) + name
        if name not in used:
            used.add(name)
            return name
    name = f"{rnd.choice(_ONSET)}yn-{len(used)}"
    used.add(name)
    return name
