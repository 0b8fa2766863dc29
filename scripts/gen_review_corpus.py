"""Writes the planted-bug corpus for `ferrocodex review` into crates/analysis/corpus/.

Each case is a pair: a file with one planted bug, whose line carries `# expect: CODE`, and a
clean file of the same shape with the bug fixed. Functions are annotated so that every
checker compared in BENCHMARKS.md (mypy included, which skips unannotated bodies) looks at
them. Run from the repository root:

    python3 scripts/gen_review_corpus.py
"""
import os
import shutil
import textwrap

OUT = os.path.join("crates", "analysis", "corpus")

# (rule code, buggy source, clean source). Sources are dedented; the buggy line ends with
# `# expect: CODE`, added here from the `@@` placeholder.
CASES = []


def case(code, buggy, clean):
    CASES.append((code, textwrap.dedent(buggy).lstrip("\n"), textwrap.dedent(clean).lstrip("\n")))


# FCR001 undefined name
case("FCR001", """
    def area(radius: float) -> float:
        return pi * radius ** 2  @@
    """, """
    from math import pi


    def area(radius: float) -> float:
        return pi * radius ** 2
    """)
case("FCR001", """
    def total(prices: list[float]) -> float:
        result = 0.0
        for price in prices:
            result += price
        return reslt  @@
    """, """
    def total(prices: list[float]) -> float:
        result = 0.0
        for price in prices:
            result += price
        return result
    """)
case("FCR001", """
    import json


    def load(text: str) -> dict:
        return jsn.loads(text)  @@


    def dump(data: dict) -> str:
        return json.dumps(data)
    """, """
    import json


    def load(text: str) -> dict:
        return json.loads(text)


    def dump(data: dict) -> str:
        return json.dumps(data)
    """)
case("FCR001", """
    class Counter:
        def __init__(self) -> None:
            self.count = 0

        def bump(self) -> int:
            self.count = count + 1  @@
            return self.count
    """, """
    class Counter:
        def __init__(self) -> None:
            self.count = 0

        def bump(self) -> int:
            self.count += 1
            return self.count
    """)
case("FCR001", """
    def greet(name: str) -> str:
        return f"Hello {nme}"  @@
    """, """
    def greet(name: str) -> str:
        return f"Hello {name}"
    """)
case("FCR001", """
    def squares(n: int) -> list[int]:
        values = [i * i for i in range(n)]
        print(i)  @@
        return values
    """, """
    def squares(n: int) -> list[int]:
        values = [i * i for i in range(n)]
        print(len(values))
        return values
    """)

# FCR002 possibly unbound
case("FCR002", """
    def sign(n: int) -> str:
        if n > 0:
            label = "positive"
        elif n < 0:
            label = "negative"
        return label  @@
    """, """
    def sign(n: int) -> str:
        if n > 0:
            label = "positive"
        elif n < 0:
            label = "negative"
        else:
            label = "zero"
        return label
    """)
case("FCR002", """
    def last(items: list[str]) -> str:
        for item in items:
            pass
        return item  @@
    """, """
    def last(items: list[str]) -> str:
        item = ""
        for item in items:
            pass
        return item
    """)
case("FCR002", """
    import json


    def parse(text: str) -> dict:
        try:
            data = json.loads(text)
        except ValueError:
            print("bad input")
        return data  @@
    """, """
    import json


    def parse(text: str) -> dict:
        try:
            data = json.loads(text)
        except ValueError:
            print("bad input")
            data = {}
        return data
    """)
case("FCR002", """
    def find(names: list[str], wanted: str) -> int:
        for index, name in enumerate(names):
            if name == wanted:
                position = index
                break
        return position  @@
    """, """
    def find(names: list[str], wanted: str) -> int:
        position = -1
        for index, name in enumerate(names):
            if name == wanted:
                position = index
                break
        return position
    """)
case("FCR002", """
    def describe(flag: bool) -> None:
        if flag:
            message = "on"
        print(message)  @@
    """, """
    def describe(flag: bool) -> None:
        message = "off"
        if flag:
            message = "on"
        print(message)
    """)
case("FCR002", """
    def read_config(path: str) -> str:
        with open(path) as handle:
            for line in handle:
                if line.startswith("#"):
                    continue
                setting = line.strip()
        return setting  @@
    """, """
    def read_config(path: str) -> str:
        setting = ""
        with open(path) as handle:
            for line in handle:
                if line.startswith("#"):
                    continue
                setting = line.strip()
        return setting
    """)

# FCR003 call arguments
case("FCR003", """
    def greet(name: str, greeting: str) -> str:
        return f"{greeting}, {name}"


    print(greet("Ada"))  @@
    """, """
    def greet(name: str, greeting: str) -> str:
        return f"{greeting}, {name}"


    print(greet("Ada", "Hello"))
    """)
case("FCR003", """
    def clamp(value: int, low: int, high: int) -> int:
        return max(low, min(value, high))


    print(clamp(5, 0, 10, 20))  @@
    """, """
    def clamp(value: int, low: int, high: int) -> int:
        return max(low, min(value, high))


    print(clamp(5, 0, 10))
    """)
case("FCR003", """
    def connect(host: str, port: int = 80) -> str:
        return f"{host}:{port}"


    print(connect("example.org", prt=8080))  @@
    """, """
    def connect(host: str, port: int = 80) -> str:
        return f"{host}:{port}"


    print(connect("example.org", port=8080))
    """)
case("FCR003", """
    class Point:
        def __init__(self, x: float, y: float) -> None:
            self.x = x
            self.y = y


    origin = Point(0.0)  @@
    print(origin.x)
    """, """
    class Point:
        def __init__(self, x: float, y: float) -> None:
            self.x = x
            self.y = y


    origin = Point(0.0, 0.0)
    print(origin.x)
    """)
case("FCR003", """
    class Account:
        def __init__(self, owner: str) -> None:
            self.owner = owner
            self.balance = 0

        def deposit(self, amount: int) -> int:
            self.balance += amount
            return self.balance


    account = Account("ada")
    account.deposit()  @@
    """, """
    class Account:
        def __init__(self, owner: str) -> None:
            self.owner = owner
            self.balance = 0

        def deposit(self, amount: int) -> int:
            self.balance += amount
            return self.balance


    account = Account("ada")
    account.deposit(10)
    """)
case("FCR003", """
    def scale(values: list[float], *, factor: float) -> list[float]:
        return [v * factor for v in values]


    print(scale([1.0, 2.0], 3.0))  @@
    """, """
    def scale(values: list[float], *, factor: float) -> list[float]:
        return [v * factor for v in values]


    print(scale([1.0, 2.0], factor=3.0))
    """)
case("FCR003", """
    from dataclasses import dataclass


    @dataclass
    class Item:
        name: str
        price: float


    item = Item("pen")  @@
    print(item.price)
    """, """
    from dataclasses import dataclass


    @dataclass
    class Item:
        name: str
        price: float


    item = Item("pen", 1.5)
    print(item.price)
    """)
case("FCR003", """
    def log(message: str) -> None:
        print(message)


    def run() -> None:
        log("start", "now")  @@
    """, """
    def log(message: str) -> None:
        print(message)


    def run() -> None:
        log("start now")
    """)

# FCR004 argument type
case("FCR004", """
    def repeat(text: str, times: int) -> str:
        return text * times


    print(repeat("ab", "3"))  @@
    """, """
    def repeat(text: str, times: int) -> str:
        return text * times


    print(repeat("ab", 3))
    """)
case("FCR004", """
    import math


    def hypotenuse(a: float, b: float) -> float:
        return math.sqrt(a * a + b * b)


    print(hypotenuse(3, "4"))  @@
    """, """
    import math


    def hypotenuse(a: float, b: float) -> float:
        return math.sqrt(a * a + b * b)


    print(hypotenuse(3, 4))
    """)
case("FCR004", """
    class User:
        def __init__(self, name: str, age: int) -> None:
            self.name = name
            self.age = age


    user = User("ada", "36")  @@
    print(user.age)
    """, """
    class User:
        def __init__(self, name: str, age: int) -> None:
            self.name = name
            self.age = age


    user = User("ada", 36)
    print(user.age)
    """)
case("FCR004", """
    import math


    def root(text: str) -> float:
        return math.sqrt(text)  @@
    """, """
    import math


    def root(text: str) -> float:
        return math.sqrt(float(text))
    """)
case("FCR004", """
    def count(n: int) -> int:
        return len(n)  @@
    """, """
    def count(n: int) -> int:
        return len(str(n))
    """)
case("FCR004", """
    class Shape:
        def area(self) -> float:
            return 0.0


    class Square(Shape):
        def __init__(self, side: float) -> None:
            self.side = side

        def area(self) -> float:
            return self.side * self.side


    def total_area(shapes: list[Shape]) -> float:
        return sum(s.area() for s in shapes)


    def describe(shape: Shape) -> str:
        return f"area {shape.area()}"


    print(describe("square"))  @@
    """, """
    class Shape:
        def area(self) -> float:
            return 0.0


    class Square(Shape):
        def __init__(self, side: float) -> None:
            self.side = side

        def area(self) -> float:
            return self.side * self.side


    def total_area(shapes: list[Shape]) -> float:
        return sum(s.area() for s in shapes)


    def describe(shape: Shape) -> str:
        return f"area {shape.area()}"


    print(describe(Square(2.0)))
    """)
case("FCR004", """
    def tag(name: str, weight: int = 1) -> str:
        return name * weight


    print(tag("x", weight=2.5))  @@
    """, """
    def tag(name: str, weight: int = 1) -> str:
        return name * weight


    print(tag("x", weight=2))
    """)

# FCR005 unsupported operand
case("FCR005", """
    def label(count: int) -> str:
        return "items: " + count  @@
    """, """
    def label(count: int) -> str:
        return "items: " + str(count)
    """)
case("FCR005", """
    from typing import Optional


    def bump(x: Optional[int]) -> int:
        return x + 1  @@
    """, """
    from typing import Optional


    def bump(x: Optional[int]) -> int:
        if x is None:
            return 1
        return x + 1
    """)
case("FCR005", """
    def combine(a: list[int], b: list[int]) -> list[int]:
        return a - b  @@
    """, """
    def combine(a: list[int], b: list[int]) -> list[int]:
        return a + b
    """)
case("FCR005", """
    def total(prices: dict[str, float]) -> float:
        base = prices.get("base")
        return base * 2  @@
    """, """
    def total(prices: dict[str, float]) -> float:
        base = prices.get("base", 0.0)
        return base * 2
    """)
case("FCR005", """
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents


    def add(a: Money, b: Money) -> None:
        print(a + b)  @@
    """, """
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents

        def __add__(self, other: "Money") -> "Money":
            return Money(self.cents + other.cents)


    def add(a: Money, b: Money) -> None:
        print((a + b).cents)
    """)
case("FCR005", """
    def ratio(done: int, text: str) -> float:
        return done / text  @@
    """, """
    def ratio(done: int, text: str) -> float:
        return done / int(text)
    """)
case("FCR005", """
    def banner(title: str, width: float) -> str:
        return title * width  @@
    """, """
    def banner(title: str, width: float) -> str:
        return title * int(width)
    """)

# FCR006 unknown attribute
case("FCR006", """
    class User:
        def __init__(self, name: str) -> None:
            self.name = name

        def greet(self) -> str:
            return "Hi " + self.nmae  @@
    """, """
    class User:
        def __init__(self, name: str) -> None:
            self.name = name

        def greet(self) -> str:
            return "Hi " + self.name
    """)
case("FCR006", """
    def shout(text: str) -> str:
        return text.uppper()  @@
    """, """
    def shout(text: str) -> str:
        return text.upper()
    """)
case("FCR006", """
    import re


    def first_word(text: str) -> str:
        return re.match(r"\\w+", text).group(0)  @@
    """, """
    import re


    def first_word(text: str) -> str:
        match = re.match(r"\\w+", text)
        if match is None:
            return ""
        return match.group(0)
    """)
case("FCR006", """
    from typing import Optional


    class Node:
        def __init__(self, value: int) -> None:
            self.value = value


    def value_of(node: Optional[Node]) -> int:
        return node.value  @@
    """, """
    from typing import Optional


    class Node:
        def __init__(self, value: int) -> None:
            self.value = value


    def value_of(node: Optional[Node]) -> int:
        if node is None:
            return 0
        return node.value
    """)
case("FCR006", """
    def add_all(items: list[int], extra: list[int]) -> list[int]:
        items.add(extra)  @@
        return items
    """, """
    def add_all(items: list[int], extra: list[int]) -> list[int]:
        items.extend(extra)
        return items
    """)
case("FCR006", """
    class Stack:
        def __init__(self) -> None:
            self.items: list[int] = []

        def push(self, item: int) -> None:
            self.items.append(item)

        def size(self) -> int:
            return len(self.itmes)  @@
    """, """
    class Stack:
        def __init__(self) -> None:
            self.items: list[int] = []

        def push(self, item: int) -> None:
            self.items.append(item)

        def size(self) -> int:
            return len(self.items)
    """)
case("FCR006", """
    def keys(config: dict[str, int]) -> list[str]:
        return list(config.iterkeys())  @@
    """, """
    def keys(config: dict[str, int]) -> list[str]:
        return list(config.keys())
    """)
case("FCR006", """
    import os


    def home() -> str:
        return os.getenv("HOME").lower()  @@
    """, """
    import os


    def home() -> str:
        return os.getenv("HOME", "").lower()
    """)

# FCR007 not callable
case("FCR007", """
    def total(values: list[int]) -> int:
        count = len(values)
        return count(values)  @@
    """, """
    def total(values: list[int]) -> int:
        count = len(values)
        return count
    """)
case("FCR007", """
    def shout(name: str) -> str:
        return name().upper()  @@
    """, """
    def shout(name: str) -> str:
        return name.upper()
    """)
case("FCR007", """
    class Config:
        def __init__(self) -> None:
            self.debug = False


    def check(config: Config) -> bool:
        return config()  @@
    """, """
    class Config:
        def __init__(self) -> None:
            self.debug = False


    def check(config: Config) -> bool:
        return config.debug
    """)
case("FCR007", """
    def first(items: list[str]) -> str:
        return items(0)  @@
    """, """
    def first(items: list[str]) -> str:
        return items[0]
    """)
case("FCR007", """
    def build(parts: dict[str, int]) -> int:
        return parts("a")  @@
    """, """
    def build(parts: dict[str, int]) -> int:
        return parts["a"]
    """)

# FCR008 return type
case("FCR008", """
    def parse_port(text: str) -> int:
        return text.strip()  @@
    """, """
    def parse_port(text: str) -> int:
        return int(text.strip())
    """)
case("FCR008", """
    def find(names: list[str], wanted: str) -> int:
        for i, name in enumerate(names):
            if name == wanted:
                return i
        return None  @@
    """, """
    from typing import Optional


    def find(names: list[str], wanted: str) -> Optional[int]:
        for i, name in enumerate(names):
            if name == wanted:
                return i
        return None
    """)
case("FCR008", """
    def title(text: str) -> str:
        if not text:
            return  @@
        return text.title()
    """, """
    def title(text: str) -> str:
        if not text:
            return ""
        return text.title()
    """)
case("FCR008", """
    def ratio(a: int, b: int) -> int:
        return a / b  @@
    """, """
    def ratio(a: int, b: int) -> int:
        return a // b
    """)
case("FCR008", """
    def names(rows: list[str]) -> list[str]:
        return ", ".join(rows)  @@
    """, """
    def names(rows: list[str]) -> str:
        return ", ".join(rows)
    """)
case("FCR008", """
    def is_even(n: int) -> bool:
        return "yes" if n % 2 == 0 else "no"  @@
    """, """
    def is_even(n: int) -> bool:
        return n % 2 == 0
    """)

# FCR009 unreachable code
case("FCR009", """
    def check(x: int) -> bool:
        return x > 0
        print("checked")  @@
    """, """
    def check(x: int) -> bool:
        print("checked")
        return x > 0
    """)
case("FCR009", """
    def fail(reason: str) -> None:
        raise ValueError(reason)
        print("unreachable")  @@
    """, """
    def fail(reason: str) -> None:
        print("failing")
        raise ValueError(reason)
    """)
case("FCR009", """
    def positives(values: list[int]) -> list[int]:
        out = []
        for v in values:
            if v <= 0:
                continue
                print("skipped", v)  @@
            out.append(v)
        return out
    """, """
    def positives(values: list[int]) -> list[int]:
        out = []
        for v in values:
            if v <= 0:
                print("skipped", v)
                continue
            out.append(v)
        return out
    """)
case("FCR009", """
    def pick(flag: bool) -> int:
        if flag:
            return 1
        else:
            return 2
        return 3  @@
    """, """
    def pick(flag: bool) -> int:
        if flag:
            return 1
        return 2
    """)
case("FCR009", """
    import sys


    def main() -> int:
        sys.exit(0)
        return 1  @@
    """, """
    import sys


    def main() -> int:
        if len(sys.argv) > 5:
            sys.exit(0)
        return 1
    """)

# FCR010 mutable default
case("FCR010", """
    def add(item: int, bucket: list[int] = []) -> list[int]:  @@
        bucket.append(item)
        return bucket
    """, """
    from typing import Optional


    def add(item: int, bucket: Optional[list[int]] = None) -> list[int]:
        if bucket is None:
            bucket = []
        bucket.append(item)
        return bucket
    """)
case("FCR010", """
    def configure(options: dict[str, int] = {}) -> dict[str, int]:  @@
        options["ready"] = 1
        return options
    """, """
    def configure(options: dict[str, int] | None = None) -> dict[str, int]:
        options = dict(options or {})
        options["ready"] = 1
        return options
    """)
case("FCR010", """
    def remember(key: str, seen: set[str] = set()) -> bool:  @@
        new = key not in seen
        seen.add(key)
        return new
    """, """
    def remember(key: str, seen: frozenset[str] = frozenset()) -> bool:
        return key not in seen
    """)
case("FCR010", """
    class Cache:
        def __init__(self, store: dict[str, str] = dict()) -> None:  @@
            self.store = store
    """, """
    class Cache:
        def __init__(self, store: dict[str, str] | None = None) -> None:
            self.store = store if store is not None else {}
    """)

# FCR011 is with a literal
case("FCR011", """
    def ok(status: int) -> bool:
        return status is 200  @@
    """, """
    def ok(status: int) -> bool:
        return status == 200
    """)
case("FCR011", """
    def is_admin(role: str) -> bool:
        return role is "admin"  @@
    """, """
    def is_admin(role: str) -> bool:
        return role == "admin"
    """)
case("FCR011", """
    def changed(value: int) -> bool:
        if value is not 0:  @@
            return True
        return False
    """, """
    def changed(value: int) -> bool:
        if value != 0:
            return True
        return False
    """)
case("FCR011", """
    def empty(items: tuple[int, ...]) -> bool:
        return items is (1, 2)  @@
    """, """
    def empty(items: tuple[int, ...]) -> bool:
        return items == (1, 2)
    """)

# FCR012 coroutine without await
case("FCR012", """
    import asyncio


    async def save(record: str) -> None:
        await asyncio.sleep(0)
        print(record)


    async def main() -> None:
        save("a")  @@
    """, """
    import asyncio


    async def save(record: str) -> None:
        await asyncio.sleep(0)
        print(record)


    async def main() -> None:
        await save("a")
    """)
case("FCR012", """
    import asyncio


    async def tick() -> None:
        asyncio.sleep(1)  @@
        print("tick")
    """, """
    import asyncio


    async def tick() -> None:
        await asyncio.sleep(1)
        print("tick")
    """)
case("FCR012", """
    import asyncio


    class Client:
        async def close(self) -> None:
            await asyncio.sleep(0)

        async def shutdown(self) -> None:
            self.close()  @@
    """, """
    import asyncio


    class Client:
        async def close(self) -> None:
            await asyncio.sleep(0)

        async def shutdown(self) -> None:
            await self.close()
    """)
case("FCR012", """
    async def fetch(url: str) -> str:
        return url


    async def crawl(urls: list[str]) -> None:
        for url in urls:
            fetch(url)  @@
    """, """
    async def fetch(url: str) -> str:
        return url


    async def crawl(urls: list[str]) -> None:
        for url in urls:
            print(await fetch(url))
    """)

# FCR013 unused import
case("FCR013", """
    import os  @@
    import sys


    def args() -> list[str]:
        return sys.argv
    """, """
    import sys


    def args() -> list[str]:
        return sys.argv
    """)
case("FCR013", """
    from collections import OrderedDict, defaultdict  @@


    def groups() -> dict:
        return defaultdict(list)
    """, """
    from collections import defaultdict


    def groups() -> dict:
        return defaultdict(list)
    """)
case("FCR013", """
    import json as j  @@


    def text() -> str:
        return "{}"
    """, """
    import json as j


    def text() -> str:
        return j.dumps({})
    """)
case("FCR013", """
    def load(path: str) -> str:
        import io  @@
        with open(path) as handle:
            return handle.read()
    """, """
    def load(path: str) -> str:
        import io
        with io.open(path) as handle:
            return handle.read()
    """)

# FCR014 unused variable
case("FCR014", """
    def compute(items: list[int]) -> int:
        result = sum(items)  @@
        return len(items)
    """, """
    def compute(items: list[int]) -> int:
        result = sum(items)
        return result
    """)
case("FCR014", """
    def read(path: str) -> str:
        with open(path) as handle:  @@
            return path
    """, """
    def read(path: str) -> str:
        with open(path) as handle:
            return handle.read()
    """)
case("FCR014", """
    def retry(times: int) -> bool:
        attempts = 0  @@
        for _ in range(times):
            if times > 2:
                return True
        return False
    """, """
    def retry(times: int) -> bool:
        attempts = 0
        for _ in range(times):
            attempts += 1
            if attempts > 2:
                return True
        return False
    """)

# FCR015 bare except
case("FCR015", """
    import json


    def load(text: str) -> dict:
        try:
            return json.loads(text)
        except:  @@
            return {}
    """, """
    import json


    def load(text: str) -> dict:
        try:
            return json.loads(text)
        except ValueError:
            return {}
    """)
case("FCR015", """
    def run(task: str) -> None:
        try:
            print(int(task))
        except:  @@
            pass
    """, """
    def run(task: str) -> None:
        try:
            print(int(task))
        except ValueError:
            pass
    """)
case("FCR015", """
    def close(handle: object) -> None:
        try:
            print(handle)
        except:  @@
            print("could not close")
    """, """
    def close(handle: object) -> None:
        try:
            print(handle)
        except:
            print("could not close")
            raise
    """)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    counts = {}
    for code, buggy, clean in CASES:
        counts[code] = counts.get(code, 0) + 1
        n = counts[code]
        if buggy.count("@@") != 1:
            raise SystemExit(f"{code} case {n}: exactly one @@ marker expected")
        buggy = buggy.replace("  @@", f"  # expect: {code}")
        with open(os.path.join(OUT, f"bug_{code}_{n:02d}.py"), "w") as f:
            f.write(buggy)
        with open(os.path.join(OUT, f"clean_{code}_{n:02d}.py"), "w") as f:
            f.write(clean)
    print(f"wrote {2 * len(CASES)} files ({len(CASES)} planted bugs) to {OUT}")


if __name__ == "__main__":
    main()
