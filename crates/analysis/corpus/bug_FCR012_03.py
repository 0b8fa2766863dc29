import asyncio


class Client:
    async def close(self) -> None:
        await asyncio.sleep(0)

    async def shutdown(self) -> None:
        self.close()  # expect: FCR012
