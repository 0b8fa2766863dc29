import asyncio


async def save(record: str) -> None:
    await asyncio.sleep(0)
    print(record)


async def main() -> None:
    await save("a")
