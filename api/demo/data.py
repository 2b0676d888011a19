"""The demo network: a chemical-valley EIT programme south of Lyon, its parks and members."""

from __future__ import annotations

from dataclasses import dataclass

NETWORK = {
    "slug": "vallee-chimie-lyon-sud",
    "name": "EIT Vallée de la chimie - Lyon Sud",
    "description": (
        "Programme d'écologie industrielle et territoriale animé par la CCI sur les parcs "
        "d'activités de Saint-Fons, Feyzin et Corbas : palettes, cartons, gravats, chaleur fatale, "
        "mutualisation du gardiennage et des espaces de stockage."
    ),
    "latitude": 45.7016,
    "longitude": 4.8524,
}

ZONES = [
    ("Parc industriel de Saint-Fons - Feyzin", "business_park", 45.6955, 4.8590, 3.0),
    ("ZI Corbas - Mions", "business_park", 45.6683, 4.9010, 2.5),
]


@dataclass(frozen=True)
class DemoOrganisation:
    name: str
    siren: str
    naf_code: str
    legal_form: str
    is_ess: bool
    city: str
    postcode: str
    latitude: float
    longitude: float
    zone: int
    description: str


ORGANISATIONS = [
    DemoOrganisation(
        "Chimiris Saint-Fons",
        "512384706",
        "20.14Z",
        "SAS",
        False,
        "Saint-Fons",
        "69190",
        45.7061,
        4.8582,
        0,
        "Chimie organique de base ; chaleur fatale et fûts vides.",
    ),
    DemoOrganisation(
        "Rhône Palettes Services",
        "433912857",
        "16.24Z",
        "SARL",
        False,
        "Feyzin",
        "69320",
        45.6722,
        4.8581,
        0,
        "Reconditionnement et réparation de palettes bois.",
    ),
    DemoOrganisation(
        "Cartonnages du Rhône",
        "389245016",
        "17.21A",
        "SAS",
        False,
        "Corbas",
        "69960",
        45.6681,
        4.9002,
        1,
        "Fabrication d'emballages en carton ondulé ; chutes de carton.",
    ),
    DemoOrganisation(
        "Envie Rhône",
        "421587039",
        "38.32Z",
        "Association",
        True,
        "Vénissieux",
        "69200",
        45.6977,
        4.8868,
        0,
        "Entreprise d'insertion : réemploi d'équipements électriques.",
    ),
    DemoOrganisation(
        "Logistique Sud Lyon",
        "802145673",
        "52.10B",
        "SAS",
        False,
        "Mions",
        "69780",
        45.6643,
        4.9531,
        1,
        "Entrepôt logistique ; 1 200 m² de stockage mutualisable.",
    ),
    DemoOrganisation(
        "Les Bocaux Lavés",
        "851236478",
        "96.01A",
        "SCIC",
        True,
        "Saint-Fons",
        "69190",
        45.7089,
        4.8530,
        0,
        "Laverie de bocaux en verre pour 11 producteurs locaux.",
    ),
    DemoOrganisation(
        "BTP Feyzin Construction",
        "379521864",
        "41.20B",
        "SA",
        False,
        "Feyzin",
        "69320",
        45.6701,
        4.8619,
        0,
        "Gros œuvre ; gravats et terres de chantier réemployables.",
    ),
    DemoOrganisation(
        "Sécurité Parcs Lyonnais",
        "490317256",
        "80.10Z",
        "SARL",
        False,
        "Corbas",
        "69960",
        45.6652,
        4.9084,
        1,
        "Gardiennage mutualisé des parcs d'activités.",
    ),
]

# Demo people; mint a token with `symbiose token --email <email>`.
PLATFORM_ADMIN = ("admin@demo.symbiose.eco", "Administratrice plateforme")
OPERATOR = ("claire.operatrice@demo.symbiose.eco", "Claire Martin (CCI)")
ORGANISATION_ADMINS = [
    (0, "paul@chimiris.demo.symbiose.eco", "Paul Girard"),
    (1, "sofia@rhone-palettes.demo.symbiose.eco", "Sofia Benali"),
    (3, "lea@envie-rhone.demo.symbiose.eco", "Léa Roux"),
]
PENDING = {7}  # Sécurité Parcs Lyonnais has asked to join; the operator has yet to decide.


def siret(siren: str, establishment: int = 1) -> str:
    """A SIRET for `siren` whose Luhn checksum holds: the last digit is chosen to make it so."""
    from api.organisations.siret import luhn_valid

    stem = f"{siren}{establishment:04d}"
    for last in "0123456789":
        if luhn_valid(stem + last):
            return stem + last
    raise AssertionError("a Luhn digit always exists")
