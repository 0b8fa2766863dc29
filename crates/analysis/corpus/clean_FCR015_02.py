def run(task: str) -> None:
    try:
        print(int(task))
    except ValueError:
        pass
