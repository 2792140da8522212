"""The demo menu, loaded idempotently: `python -m ordersaga.demo_data` (existing stock is kept)."""

from __future__ import annotations

import logging

from ordersaga.adapters.mongo import MenuRepository, get_database
from ordersaga.domain.models import MenuItem

log = logging.getLogger(__name__)

# sku, name, category, price in cents, initial stock, description
_MENU: list[tuple[str, str, str, int, int, str]] = [
    ("PIZ-MARG", "Pizza Margherita", "Pizza", 950, 40, "San Marzano tomato, fior di latte, basil"),
    ("PIZ-DIAV", "Pizza Diavola", "Pizza", 1150, 30, "Spicy salami, chilli oil, mozzarella"),
    (
        "PIZ-QFOR",
        "Pizza Quattro Formaggi",
        "Pizza",
        1250,
        25,
        "Gorgonzola, fontina, parmesan, mozzarella",
    ),
    ("PIZ-FUNG", "Pizza Funghi", "Pizza", 1100, 30, "Roasted mushrooms, thyme, garlic"),
    (
        "BUR-CLAS",
        "Classic Burger",
        "Burgers",
        1290,
        35,
        "Beef patty, cheddar, pickles, house sauce",
    ),
    (
        "BUR-VEGG",
        "Halloumi Burger",
        "Burgers",
        1190,
        20,
        "Grilled halloumi, roasted pepper, rocket",
    ),
    (
        "BUR-CHKN",
        "Crispy Chicken Burger",
        "Burgers",
        1250,
        25,
        "Buttermilk chicken, slaw, sriracha mayo",
    ),
    ("BWL-RAMN", "Tonkotsu Ramen", "Bowls", 1390, 20, "Pork broth, chashu, soft egg, nori"),
    ("BWL-POKE", "Salmon Poke Bowl", "Bowls", 1450, 15, "Salmon, sushi rice, edamame, mango"),
    ("BWL-BIBI", "Bibimbap", "Bowls", 1290, 18, "Rice, vegetables, gochujang, fried egg"),
    ("BWL-CURY", "Chickpea Curry", "Bowls", 1090, 25, "Chickpeas, spinach, coconut, basmati"),
    (
        "SAL-CAES",
        "Caesar Salad",
        "Salads",
        890,
        20,
        "Romaine, parmesan, croutons, anchovy dressing",
    ),
    ("SAL-GREK", "Greek Salad", "Salads", 850, 20, "Tomato, cucumber, feta, kalamata olives"),
    ("SID-FRIE", "Fries", "Sides", 390, 60, "Hand-cut, sea salt"),
    ("SID-WING", "Chicken Wings", "Sides", 790, 30, "Six wings, buffalo sauce, blue cheese dip"),
    ("SID-GYOZ", "Vegetable Gyoza", "Sides", 650, 25, "Five dumplings, soy and chilli dip"),
    ("DES-TIRA", "Tiramisu", "Desserts", 590, 15, "Mascarpone, espresso, cocoa"),
    ("DES-BROW", "Chocolate Brownie", "Desserts", 450, 20, "Warm, with sea salt caramel"),
    ("DRK-LEMN", "Homemade Lemonade", "Drinks", 350, 50, "Lemon, mint, cane sugar"),
    ("DRK-COLD", "Cold Brew Coffee", "Drinks", 400, 40, "Slow-steeped, served over ice"),
    ("DRK-WATR", "Sparkling Water", "Drinks", 250, 80, "500 ml"),
]


def demo_menu() -> list[MenuItem]:
    """The demo menu items with their initial stock."""
    return [
        MenuItem(
            sku=sku,
            name=name,
            category=category,
            price_cents=price,
            available=stock,
            initial=stock,
            description=description,
        )
        for sku, name, category, price, stock, description in _MENU
    ]


def main() -> None:
    """Load the demo menu into the configured database."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    inserted = MenuRepository(get_database()).seed(demo_menu())
    log.info("demo menu: %d items added, %d already present", inserted, len(_MENU) - inserted)


if __name__ == "__main__":
    main()
