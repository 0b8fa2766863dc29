def run(task: str) -> None:
    try:
        print(int(task))
    except:  # expect: FCR015
        pass
