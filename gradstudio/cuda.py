"""``torch.cuda`` as seen on a machine without a GPU: GradStudio runs on the CPU."""


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def manual_seed(seed: int) -> None:
    pass


def manual_seed_all(seed: int) -> None:
    pass
