from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float


item = Item("pen", 1.5)
print(item.price)
