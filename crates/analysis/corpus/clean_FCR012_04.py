async def fetch(url: str) -> str:
    return url


async def crawl(urls: list[str]) -> None:
    for url in urls:
        print(await fetch(url))
