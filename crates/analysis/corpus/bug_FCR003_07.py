from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float


item = Item("pen")  # expect: FCR003
print(item.price)
