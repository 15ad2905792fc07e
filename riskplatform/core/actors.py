import getpass


def cli_actor() -> str:
    """Who a management command acts as, for created_by / changed_by columns."""
    return f"cli:{getpass.getuser()}"[:50]
