import asyncio


async def tick() -> None:
    await asyncio.sleep(1)
    print("tick")
