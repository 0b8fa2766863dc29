import asyncio


async def tick() -> None:
    asyncio.sleep(1)  # expect: FCR012
    print("tick")
