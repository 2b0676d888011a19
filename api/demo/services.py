"""The demo's shared services, offered by the members whose admins have demo accounts, so that a
new user can book one through the whole reservation lifecycle (see the README's walk-through).

The free ones (storage, equipment loan, guarding) need no payment; the priced ones are refused at
request while payments are not configured (409 `payments-not-configured`).
"""

from __future__ import annotations

from schemas.listings import CapacityPeriod, PriceKind

Service = tuple[int, str, str, str, str, int, CapacityPeriod, PriceKind, int | None]
# (index in data.ORGANISATIONS, category, unit, title, description, capacity, period, price kind, cents)
SHARED_SERVICES: list[Service] = [
    (
        1,
        "services.storage.warehouse",
        "m2",
        "Aire de stockage couverte partagée (gratuite)",
        "200 m² sous auvent près du quai 3, prêtés sans frais aux membres du parc ; accès 7h-19h.",
        200,
        "month",
        "free",
        None,
    ),
    (
        0,
        "services.equipment_loan.handling",
        "day",
        "Transpalette électrique prêté entre voisins (gratuit)",
        "Deux transpalettes électriques 1,6 t, à retirer et rapporter chargés, gratuitement.",
        2,
        "week",
        "free",
        None,
    ),
    (
        0,
        "services.security",
        "hour",
        "Rondes de gardiennage mutualisées (gratuites)",
        "Nos agents de nuit étendent leurs rondes aux sites voisins du parc, sans frais pour les membres.",
        40,
        "week",
        "free",
        None,
    ),
    (
        3,
        "services.storage.warehouse",
        "pallet",
        "Emplacements palettes en atelier solidaire (gratuits)",
        "30 emplacements palettes dans notre atelier, pour des stocks de quelques semaines.",
        30,
        "month",
        "free",
        None,
    ),
    (
        1,
        "services.storage.warehouse",
        "m2",
        "Stockage palettisé sécurisé (payant)",
        "Entrepôt fermé, alarmé et assuré ; facturé à la journée.",
        500,
        "month",
        "per_day",
        30,
    ),
    (
        0,
        "services.security",
        "hour",
        "Agent de sécurité dédié (payant)",
        "Un agent pour vos nuits de chargement ou vos inventaires, à l'heure.",
        80,
        "week",
        "fixed",
        3200,
    ),
]
