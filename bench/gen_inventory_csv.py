#!/usr/bin/env python3
"""Write a deterministic inventory CSV of N valid rows (the seed's column set) to stdout or a file.

usage: gen_inventory_csv.py N [OUT] [--seed S]
"""

import csv
import random
import sys

CATEGORIES = [
    "Electronics",
    "Furniture",
    "Safety Equipment",
    "Office Supplies",
    "Tools",
    "Cleaning",
    "Networking",
    "Lab Equipment",
    "Packaging",
    "Spare Parts",
]
SUPPLIERS = [
    "Tech Supplier Co.",
    "Office Furniture Ltd.",
    "Safety First Inc.",
    "Staples",
    "Logitech",
    "Dell Inc.",
    "IKEA",
    "Grainger",
    "Uline",
    "Acme Corp",
]
LOCATIONS = [
    "Warehouse A",
    "Warehouse B",
    "IT Storage Room",
    "Supply Closet",
    "Safety Locker",
    "Tech Lab",
    "Dock 3",
    "Aisle 12",
    "Cold Room",
    "Mezzanine",
]
WORDS = [
    "Laptop",
    "Desk",
    "Helmet",
    "Mouse",
    "Chair",
    "Printer",
    "Paper",
    "Cable",
    "Router",
    "Glove",
    "Drill",
    "Lamp",
    "Tablet",
    "Monitor",
    "Switch",
    "Battery",
    "Label",
    "Box",
]


def rows(n, seed=7):
    rnd = random.Random(seed)
    for i in range(n):
        name = f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} #{i:07d}"
        yield {
            "item_name": name,
            "description": f"{name} for general use, batch {rnd.randint(1, 9999)}",
            "category": rnd.choice(CATEGORIES),
            "quantity": rnd.randint(0, 500),
            "unit_price": f"{rnd.randint(0, 250000) / 100:.2f}",
            "supplier": rnd.choice(SUPPLIERS),
            "location": rnd.choice(LOCATIONS),
            "minimum_stock": rnd.randint(0, 50),
        }


def main(argv):
    args = [a for a in argv if not a.startswith("--seed")]
    seed = 7
    for a in argv:
        if a.startswith("--seed="):
            seed = int(a.split("=", 1)[1])
    n = int(args[0])
    out = open(args[1], "w", newline="", encoding="utf-8") if len(args) > 1 else sys.stdout  # noqa: SIM115 - stdout or a file
    fields = ["item_name", "description", "category", "quantity", "unit_price", "supplier", "location", "minimum_stock"]
    w = csv.DictWriter(out, fieldnames=fields)
    w.writeheader()
    for r in rows(n, seed):
        w.writerow(r)
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main(sys.argv[1:])
